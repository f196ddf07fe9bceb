/**
 * `dnscdn edge`: one edge cache in front of one origin. The flags build the same EdgeRoleOptions as the
 * deployment file (setup.ts); with `--config`, every flag given on the command line overrides its key.
 */
import { Command } from 'commander';
import { loadDeploymentWithLogSettings, reloadLogSettingsOnHangup } from '../config/role-file.js';
import { adminToken } from '../config/reach.js';
import { CACHE_POLICIES, DEFAULT_CACHE_POLICY, parseCachePolicy } from '../config/cache-policies.js';
import { parseByteSize } from '../config/units.js';
import { announceListening, logger } from '../log.js';
import { parseHostPort } from '../net/address.js';
import { defaultAdminAddressOrThrow } from '../net/admin-address.js';
import { reportReady } from '../up/child.js';
import { attachReplica } from './replica.js';
import { startEdge } from './server.js';
import { edgeRoleFromDeployment, type EdgeRoleOptions } from './setup.js';

const log = logger('edge');

/** Flags as typed; none has a commander default, so "absent" means "not given" and the file's key stands. */
export interface EdgeFlags {
  listen?: string;
  origin?: string;
  config?: string;
  maxBytes?: string;
  maxObjectBytes?: string;
  cachePolicy?: string;
  adminToken?: string;
  originTimeout?: string;
  name?: string;
  distributor?: string;
  stateDir?: string;
  ignoreCookies?: string;
  adminListen?: string;
  purgeAllow?: string;
}

const DEFAULT_MAX_BYTES = '256MB';
const DEFAULT_ORIGIN_TIMEOUT_MS = 10_000;
const TOKEN_ENV = 'DNSCDN_ADMIN_TOKEN';

/**
 * The role options from flags, on top of the deployment's edge when `--config` is given. The admin token comes
 * from `--admin-token`, else the file, else $DNSCDN_ADMIN_TOKEN (the environment never overrides the file:
 * `up` passes its environment to every child).
 */
export function edgeRoleFromFlags(flags: EdgeFlags, env: Record<string, string | undefined> = process.env): EdgeRoleOptions {
  const envToken = env[TOKEN_ENV] === '' ? undefined : env[TOKEN_ENV];
  let role: EdgeRoleOptions;
  if (flags.config !== undefined) {
    const d = loadDeploymentWithLogSettings(flags.config);
    role = edgeRoleFromDeployment(d, flags.name, flags.adminToken ?? adminToken(d) ?? envToken);
  } else role = fromFlagsAlone(flags);
  const s = role.server;
  if (flags.listen !== undefined) s.listen = flags.listen;
  if (flags.origin !== undefined) s.origin = flags.origin;
  if (flags.maxBytes !== undefined) s.maxBytes = parseByteSize(flags.maxBytes);
  if (flags.maxObjectBytes !== undefined) s.maxObjectBytes = parseByteSize(flags.maxObjectBytes);
  if (flags.originTimeout !== undefined) s.originTimeoutMs = parseOriginTimeout(flags.originTimeout);
  if (flags.ignoreCookies !== undefined) s.ignoreCookies = flags.ignoreCookies.split(',').map((c) => c.trim());
  if (flags.cachePolicy !== undefined) s.cachePolicy = parseCachePolicy(flags.cachePolicy);
  if (flags.adminListen !== undefined) s.adminListen = parseHostPort(flags.adminListen);
  else if (s.adminListen === undefined) s.adminListen = defaultAdminAddressOrThrow(typeof s.listen === 'string' ? parseHostPort(s.listen) : s.listen);
  if (flags.purgeAllow !== undefined) s.purgeAllow = flags.purgeAllow.split(',').map((c) => c.trim()).filter(Boolean);
  const token = flags.adminToken ?? s.adminToken ?? envToken;
  if (token !== undefined) s.adminToken = token;
  if (flags.distributor !== undefined || flags.stateDir !== undefined) {
    if (token === undefined) throw new Error(`--distributor/--state-dir need the admin token (--admin-token or ${TOKEN_ENV})`);
    const push = role.push ?? { stateDir: `.dnscdn/edge-${s.name ?? 'dnscdn'}`, token };
    if (flags.distributor !== undefined) push.distributor = flags.distributor;
    if (flags.stateDir !== undefined) push.stateDir = flags.stateDir;
    role.push = push;
  }
  return role;
}

function fromFlagsAlone(flags: EdgeFlags): EdgeRoleOptions {
  if (flags.listen === undefined || flags.origin === undefined) throw new Error('--listen and --origin are required (or --config FILE --name EDGE)');
  const role: EdgeRoleOptions = {
    server: { listen: flags.listen, origin: flags.origin, maxBytes: parseByteSize(DEFAULT_MAX_BYTES), originTimeoutMs: DEFAULT_ORIGIN_TIMEOUT_MS },
  };
  if (flags.name !== undefined) role.server.name = flags.name;
  return role;
}

function parseOriginTimeout(text: string): number {
  const ms = Number(text);
  if (!(ms > 0)) throw new Error(`bad --origin-timeout "${text}": milliseconds above 0`);
  return ms;
}

/** Starts the cache, then its replica (which reloads what was pushed before a restart), and stops both on a signal. */
export async function runEdge(role: EdgeRoleOptions): Promise<void> {
  const edge = await startEdge(role.server);
  const replica = role.push ? await attachReplica(edge, role.push) : undefined;
  announceListening('edge', `edge ${edge.name} listening on ${edge.url}, admin ${edge.adminUrl}, origin ${role.server.origin}`, { name: edge.name, address: edge.url, admin: edge.adminUrl, origin: role.server.origin });
  reportReady([edge.url, `${edge.adminUrl}/metrics`]);
  const stop = (): void => {
    log.info('shutting down');
    void edge
      .close()
      .then(() => replica?.close())
      .then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** `run` is what the parsed options are handed to (tests pass one that records them). */
export function edgeCommand(run: (role: EdgeRoleOptions) => Promise<void> = runEdge): Command {
  return new Command('edge')
    .description('run an RFC 9111 caching reverse proxy (edge) in front of an origin')
    .option('--listen <host:port>', 'address to listen on, e.g. 127.0.0.11:8080 (required without --config)')
    .option('--origin <url>', 'origin base URL, e.g. http://127.0.0.1:8000 (required without --config)')
    .option('--config <file>', "deployment file: take this edge's settings from it (with --name); other flags override them")
    .option('--max-bytes <size>', `memory for cached objects (bodies + headers) (default: ${DEFAULT_MAX_BYTES})`)
    .option('--max-object-bytes <size>', 'largest object stored; larger ones pass through (default: min(8MB, max-bytes/8))')
    .option('--cache-policy <name>', `which objects the store keeps: ${CACHE_POLICIES.join(', ')} (default: ${DEFAULT_CACHE_POLICY})`)
    .option('--admin-token <token>', `bearer token for the admin listener's /.dnscdn/ routes and PURGE (default: the file's, else $${TOKEN_ENV})`)
    .option('--admin-listen <host:port>', 'admin listener: /metrics, /.dnscdn/ purge, objects, replica (default: loopback, port + 1000)')
    .option('--purge-allow <cidrs>', 'comma-separated networks whose PURGE the public port accepts (with the token); default none')
    .option('--origin-timeout <ms>', `origin response timeout in milliseconds (504 after it) (default: ${DEFAULT_ORIGIN_TIMEOUT_MS})`)
    .option('--name <name>', 'edge name (Via header, metrics label); with --config, which edge of the file')
    .option('--ignore-cookies <names>', "comma-separated cookie names (* wildcards) that do not make a response private, e.g. '_ga*,_gid'")
    .option('--distributor <url>', 'origin push: distribution node to receive pushes from and catch up with (needs the admin token)')
    .option('--state-dir <dir>', 'origin push: replica journal and pushed bodies (default .dnscdn/edge-NAME)')
    .action(async (flags: EdgeFlags) => {
      const role = edgeRoleFromFlags(flags);
      reloadLogSettingsOnHangup('edge', flags.config);
      await run(role);
    });
}
