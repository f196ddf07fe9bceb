/**
 * What every command that talks to an admin API shares (`push`, `purge`, `status`, and any later one): where
 * the API is and which token to present, from `--admin-url`/`--token`, else $DNSCDN_ADMIN_URL /
 * $DNSCDN_ADMIN_TOKEN, else the deployment file (`--config`, or `./dnscdn.yaml` when it exists: the origin's
 * admin listener and the file's first admin token), else the local default. Failures name the URL tried.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { loadDeployment } from '../config/load.js';
import { adminToken, originAdminUrl } from '../config/reach.js';
import type { Deployment } from '../config/types.js';
import { bearer } from '../http/bearer.js';
import { LinkError, request, type LinkResponse } from '../http/client.js';
import { trustLinkCa } from '../http/link-tls.js';
import { deploymentFile } from './config-path.js';
import { addDeprecatedAlias } from './flags.js';

export const ADMIN_URL_ENV = 'DNSCDN_ADMIN_URL';
export const ADMIN_TOKEN_ENV = 'DNSCDN_ADMIN_TOKEN';
/** The origin's admin listener in the shipped demo file, for when there is no file at all. */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9000';

export interface AdminFlags {
  adminUrl?: string;
  token?: string;
  config?: string;
  /** PEM CA bundle for an https:// admin listener (`tls.ca` of the file, $DNSCDN_TLS_CA). */
  tlsCa?: string;
}

export interface AdminTarget {
  url: string;
  token: string | undefined;
  /** The CA to trust for an https:// URL; undefined = Node's public CAs. */
  ca: string | undefined;
}

type Env = Record<string, string | undefined>;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** Flag > environment > deployment file > default, separately for the URL and the token. */
export function adminTarget(flags: AdminFlags, env: Env = process.env, cwd: string = process.cwd()): AdminTarget {
  const file = deploymentFile(flags.config, cwd);
  let deployment: Deployment | undefined;
  const fromFile = (): Deployment => (deployment ??= loadDeployment(file!, { env }));
  const envUrl = nonEmpty(env[ADMIN_URL_ENV]);
  const envToken = nonEmpty(env[ADMIN_TOKEN_ENV]) ?? nonEmpty(env.DNSCDN_TOKEN);
  const url = flags.adminUrl ?? envUrl ?? (file !== undefined ? originAdminUrl(fromFile()) : DEFAULT_ADMIN_URL);
  const token = flags.token ?? envToken ?? (file !== undefined ? adminToken(fromFile()) : undefined);
  const ca = flags.tlsCa ?? nonEmpty(env.DNSCDN_TLS_CA) ?? (file !== undefined ? fromFile().tls?.ca : undefined);
  return { url, token, ca };
}

export function withAdminOptions(c: Command): Command {
  c.option('--config <file>', "deployment file: the origin's admin listener and the admin token (default: ./dnscdn.yaml if present)")
    .option('--admin-url <url>', `the origin's admin listener (or a distribution node's) (default: $${ADMIN_URL_ENV}, else the file's origin.admin, else ${DEFAULT_ADMIN_URL})`)
    .option('--token <token>', `admin token (default: $${ADMIN_TOKEN_ENV}, else the file's)`)
    .option('--tls-ca <file>', "PEM CA bundle to trust for an https:// admin listener (default: $DNSCDN_TLS_CA, else the file's tls.ca, else public CAs)");
  return addDeprecatedAlias(c, '--origin <url>', '--admin-url');
}

/** How long push and purge retry an origin that is down or restarting (with the same Idempotency-Key). */
export const PUBLISH_RETRY_MS = 30_000;

/**
 * One admin API call; any failure (unreachable, non-200, not JSON) names the method and the URL. A POST (push,
 * purge) carries one Idempotency-Key for all its attempts and is retried for up to PUBLISH_RETRY_MS once the
 * request may have reached the origin (the answer was lost): the NATS backend publishes a retry only once. An
 * origin that refuses the first connection is reported at once.
 */
export async function adminCall(flags: AdminFlags, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const target = adminTarget(flags);
  const url = new URL(path, target.url);
  if (target.token === undefined) throw new Error(`${method} ${url.href}: an admin token is required (--token, $${ADMIN_TOKEN_ENV}, or admin.tokens in the deployment file)`);
  trustLinkCa(target.ca);
  const token = target.token;
  const key = method === 'POST' ? randomUUID() : undefined;
  const send = (): Promise<LinkResponse> =>
    request(url, {
      method,
      headers: { ...bearer(token), ...(body ? { 'content-type': 'application/json' } : {}), ...(key ? { 'idempotency-key': key } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      timeoutMs: 60_000,
    });
  const deadline = Date.now() + PUBLISH_RETRY_MS;
  let res: LinkResponse;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await send();
      break;
    } catch (err) {
      const neverReached = attempt === 0 && err instanceof LinkError && err.code === 'ECONNREFUSED';
      if (!key || !(err instanceof LinkError) || neverReached || Date.now() > deadline) throw err;
      process.stderr.write(`${err.message}: retrying\n`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  if (res.status !== 200) throw new Error(`${method} ${url.href}: HTTP ${res.status}: ${res.text().trim()}`);
  return res.json();
}
