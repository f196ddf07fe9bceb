import { Command } from 'commander';
import { loadDeployment } from '../config/load.js';
import { Distributor } from '../distribution/distributor.js';
import { NatsPublisher } from '../distribution/nats/publisher.js';
import type { DistributionStatus } from '../distribution/distributor.js';
import { parseDistributionStatus, parseOpSummaries } from '../distribution/answers.js';
import { bearer } from '../http/bearer.js';
import { parseDownstream, tokenFrom } from '../distribution/targets.js';
import { randomUUID } from 'node:crypto';
import { LinkError, request, type LinkResponse } from '../http/client.js';
import { parseHostPort } from '../net/address.js';
import { defaultAdminAddressOrThrow } from '../net/admin-address.js';
import { reportReady } from '../up/child.js';
import { materialiseLargeFiles } from './demo-content.js';
import { localPublisher, remotePublisher } from './publisher.js';
import type { Publisher } from './publisher.js';
import { parseRuleArgument } from './rules.js';
import type { PathRule } from './rules.js';
import { OriginServer } from './server.js';
import { originRoleFromDeployment, type OriginRoleOptions } from './setup.js';
import { watchContent } from './watch.js';

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** The demo content's policy: pages short-lived, assets long-lived, tags by kind of content. */
export const DEMO_RULES: PathRule[] = [
  { pattern: '*.html', cacheControl: 'public, max-age=60', surrogateKeys: ['html'] },
  { pattern: '*.css', cacheControl: 'public, max-age=86400', surrogateKeys: ['css'] },
  { pattern: '/img/**', cacheControl: 'public, max-age=86400', surrogateKeys: ['images'] },
  { pattern: '/video/**', cacheControl: 'public, max-age=3600', surrogateKeys: ['video'] },
];

/** Flags as typed; the single-value ones have no commander default, so "absent" means "not given". */
export interface OriginFlags {
  content?: string;
  listen?: string;
  adminListen?: string;
  token?: string;
  edge: string[];
  distributor?: string;
  dataDir?: string;
  cacheControl: string[];
  surrogateKey: string[];
  watch?: boolean;
  config?: string;
}

const FLAG_DEFAULTS = { content: 'content/', listen: '127.0.0.1:8000', dataDir: '.dnscdn/origin' } as const;

/**
 * The role options from flags, on top of the deployment's origin when `--config` is given: each flag given
 * overrides its key (`--edge` replaces the file's edge list; `--cache-control`/`--surrogate-key` replace its
 * rules). The token comes from `--token`, else the file, else $DNSCDN_ADMIN_TOKEN / $DNSCDN_TOKEN.
 */
export function originRoleFromFlags(flags: OriginFlags): OriginRoleOptions {
  const role: OriginRoleOptions =
    flags.config !== undefined
      ? originRoleFromDeployment(loadDeployment(flags.config))
      : { content: FLAG_DEFAULTS.content, listen: parseHostPort(FLAG_DEFAULTS.listen), rules: [], edges: [], dataDir: FLAG_DEFAULTS.dataDir, watch: false };
  if (flags.content !== undefined) role.content = flags.content;
  if (flags.listen !== undefined) role.listen = parseHostPort(flags.listen);
  if (flags.adminListen !== undefined) role.adminListen = parseHostPort(flags.adminListen);
  else if (role.adminListen === undefined) role.adminListen = defaultAdminAddressOrThrow(role.listen);
  if (flags.edge.length > 0) role.edges = flags.edge.map(parseDownstream);
  if (flags.distributor !== undefined) role.distributor = flags.distributor;
  if (flags.dataDir !== undefined) role.dataDir = flags.dataDir;
  const flagRules = rulesFromFlags(flags);
  if (flagRules.length > 0) role.rules = flagRules;
  if (flags.watch === true) role.watch = true;
  const token = flags.token ?? role.token ?? tokenFrom(undefined);
  if (token !== undefined) role.token = token;
  return role;
}

function rulesFromFlags(flags: OriginFlags): PathRule[] {
  return [
    ...flags.cacheControl.map((t) => {
      const r = parseRuleArgument(t);
      return { pattern: r.pattern, cacheControl: r.value };
    }),
    ...flags.surrogateKey.map((t) => {
      const r = parseRuleArgument(t);
      return { pattern: r.pattern, surrogateKeys: r.value.split(/\s+/).filter(Boolean) };
    }),
  ];
}

/** Serves the content; with a token, publishes through a separate distributor or a node in this process. */
export async function runOrigin(o: OriginRoleOptions): Promise<void> {
  await materialiseLargeFiles(o.content);
  let distributor: Distributor | undefined;
  let publisher: Publisher | undefined;
  let nats: NatsPublisher | undefined;
  if (o.token && o.nats) publisher = nats = await NatsPublisher.open(o.nats, o.edges.map((e) => e.name));
  else if (o.token && o.distributor) publisher = remotePublisher(o.distributor, o.token);
  else if (o.token) {
    distributor = await Distributor.open({ dataDir: o.dataDir, token: o.token, downstream: o.edges });
    publisher = localPublisher(distributor);
  }
  const origin = await OriginServer.start({
    contentDir: o.content,
    listen: o.listen,
    adminListen: o.adminListen,
    rules: o.rules.length > 0 ? o.rules : DEMO_RULES,
    token: o.token,
    publisher,
    distributor,
  });
  const watcher = o.watch && publisher ? watchContent(origin, publisher) : undefined;
  process.stdout.write(`origin listening on ${origin.url}, admin ${origin.adminUrl}, content ${o.content}\n`);
  reportReady([origin.url, `${origin.adminUrl}/metrics`]);
  const stop = async (): Promise<void> => {
    watcher?.close();
    await origin.close();
    await distributor?.close();
    await nats?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

/** `run` is what the parsed options are handed to (tests pass one that records them). */
export function originCommand(run: (role: OriginRoleOptions) => Promise<void> = runOrigin): Command {
  return new Command('origin')
    .description('serve a content directory (strong ETags, ranges, per-path Cache-Control) and publish pushes/purges')
    .option('--content <dir>', `content directory (default: ${FLAG_DEFAULTS.content})`)
    .option('--listen <addr>', `listen address, content and /healthz (default: ${FLAG_DEFAULTS.listen})`)
    .option('--admin-listen <addr>', 'admin listener: /metrics, /.dnscdn/ push, purge, status, journal (default: loopback, port + 1000)')
    .option('--token <token>', "admin token for push/purge/status (default: the file's, else $DNSCDN_ADMIN_TOKEN)")
    .option('--edge <name=url>', "an edge to feed from the in-process distribution node (the edge's admin URL); repeatable", collect, [])
    .option('--distributor <url>', 'publish to this distribution node instead of running one in-process')
    .option('--data-dir <dir>', `journal and blobs of the in-process distribution node (default: ${FLAG_DEFAULTS.dataDir})`)
    .option('--cache-control <pattern=value>', 'Cache-Control for matching paths (first match wins); repeatable', collect, [])
    .option('--surrogate-key <pattern=keys>', 'Surrogate-Key values for matching paths (space separated); repeatable', collect, [])
    .option('--watch', 'push changed files and purge deleted ones automatically')
    .option('--config <file>', 'deployment file: origin, rules, edges, journal and token from it; other flags override them')
    .action(async (flags: OriginFlags) => run(originRoleFromFlags(flags)));
}

interface ClientOptions {
  origin: string;
  token?: string;
}

function withClientOptions(c: Command): Command {
  return c.option('--origin <url>', "the origin's admin listener (or a distribution node's)", 'http://127.0.0.1:9000').option('--token <token>', 'admin token (default: $DNSCDN_ADMIN_TOKEN)');
}

/** How long push and purge retry an origin that is down or restarting (with the same Idempotency-Key). */
const PUBLISH_RETRY_MS = 30_000;

async function adminCall(o: ClientOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const token = tokenFrom(o.token);
  if (!token) throw new Error('a token is required (--token or DNSCDN_ADMIN_TOKEN)');
  // One key for every attempt of this command: a retry after a lost answer is published once (NATS dedupe).
  const key = method === 'POST' ? randomUUID() : undefined;
  const send = (): Promise<LinkResponse> =>
    request(new URL(path, o.origin), {
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
      // Retried only once the request may have reached the origin (the answer was lost); an origin that
      // refuses the first connection is reported at once.
      const neverReached = attempt === 0 && err instanceof LinkError && err.code === 'ECONNREFUSED';
      if (!key || !(err instanceof LinkError) || neverReached || Date.now() > deadline) throw err;
      process.stderr.write(`${err.message}: retrying\n`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}: ${res.text().trim()}`);
  return res.json();
}

function printOps(answer: unknown): void {
  for (const op of parseOpSummaries(answer)) process.stdout.write(`seq ${op.seq}\t${op.kind}\t${op.what}\n`);
}

export function pushCommand(): Command {
  return withClientOptions(new Command('push').description('publish content files to every edge').argument('<paths...>', 'URL paths under the content root, e.g. /index.html')).action(
    async (paths: string[], o: ClientOptions) => printOps(await adminCall(o, 'POST', '/.dnscdn/push', { paths })),
  );
}

export function purgeCommand(): Command {
  return withClientOptions(
    new Command('purge')
      .description('remove objects from every edge: a URL path, a prefix ending in *, or tag:NAME')
      .argument('<pattern>', '/path | /prefix* | tag:NAME')
      .option('--all', 'allow a pattern that matches everything (/* or *)'),
  ).action(async (target: string, o: ClientOptions & { all?: boolean }) => printOps(await adminCall(o, 'POST', '/.dnscdn/purge', { target, all: o.all === true })));
}

export function statusCommand(): Command {
  return withClientOptions(new Command('status').description('per edge: reachable, last applied sequence, lag (exit 1 if an edge is ahead of the journal)')).action(async (o: ClientOptions) => {
    const s = parseDistributionStatus(await adminCall(o, 'GET', '/.dnscdn/status'));
    process.stdout.write(formatStatus(s));
    if (s.edges.some((e) => e.aheadBy !== undefined)) process.exitCode = 1;
  });
}

export function formatStatus(s: DistributionStatus): string {
  const lines = [`journal: last seq ${s.journal.lastSeq}, snapshot at ${s.journal.snapshotSeq}, ${s.journal.objects} live objects`];
  lines.push(['edge', 'url', 'reachable', 'last-seq', 'lag-ops', 'lag-s'].join('\t'));
  for (const e of s.edges) {
    const lag = e.aheadBy !== undefined ? `AHEAD+${e.aheadBy}` : (e.lagOps ?? '-');
    lines.push([e.name, e.url, e.reachable ? 'yes' : 'no', e.lastSeq ?? '-', lag, e.lagSeconds === null ? '-' : e.lagSeconds.toFixed(1)].join('\t'));
  }
  for (const e of s.edges) if (e.aheadBy !== undefined) lines.push(`ERROR ${e.name}: ${e.error ?? 'ahead of the journal'}`);
  return `${lines.join('\n')}\n`;
}
