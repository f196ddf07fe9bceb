import { Command } from 'commander';
import { loadDeploymentWithLogSettings, reloadLogSettingsOnHangup } from '../config/role-file.js';
import { Distributor } from '../distribution/distributor.js';
import { announceListening } from '../log.js';
import { NatsPublisher } from '../distribution/nats/publisher.js';
import type { DistributionStatus } from '../distribution/distributor.js';
import { parseDistributionStatus, parseOpSummaries } from '../distribution/answers.js';
import { parseDownstream, tokenFrom } from '../distribution/targets.js';
import { parseHostPort, type HostPort } from '../net/address.js';
import { applyLinkTls } from '../http/link-tls.js';
import { defaultAdminAddressOrThrow } from '../net/admin-address.js';
import { adminCall, withAdminOptions, type AdminFlags } from '../cli/admin-client.js';
import { addDeprecatedAlias, listFlag } from '../cli/flags.js';
import { legacyStateDir } from '../cli/state-dir.js';
import { reportReady } from '../up/child.js';
import { materialiseLargeFiles } from './demo-content.js';
import { localPublisher, remotePublisher } from './publisher.js';
import type { Publisher } from './publisher.js';
import { parseRuleArgument } from './rules.js';
import type { PathRule } from './rules.js';
import { OriginServer } from './server.js';
import { originReplica, originReplicaFromDeployment, originRoleFromDeployment, type OriginRoleOptions } from './setup.js';
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
  stateDir?: string;
  cacheControl: string[];
  surrogateKey: string[];
  watch?: boolean;
  config?: string;
  replica?: string;
}

/** `stateDir` is the deployment file's default journal folder (config/reach.ts), so both keep state in one place. */
const FLAG_DEFAULTS = { content: 'content/', listen: '127.0.0.1:8000', stateDir: 'var/journal', oldStateDir: '.dnscdn/origin' } as const;

/**
 * The role options from flags, on top of the deployment's origin when `--config` is given: each flag given
 * overrides its key (`--edge` replaces the file's edge list; `--cache-control`/`--surrogate-key` replace its
 * rules). The token comes from `--token`, else the file, else $DNSCDN_ADMIN_TOKEN / $DNSCDN_TOKEN.
 */
export function originRoleFromFlags(flags: OriginFlags): OriginRoleOptions {
  if (flags.replica !== undefined) return replicaFromFlags(flags, parseHostPort(flags.replica));
  const role: OriginRoleOptions =
    flags.config !== undefined
      ? originRoleFromDeployment(loadDeploymentWithLogSettings(flags.config))
      : { content: FLAG_DEFAULTS.content, listen: parseHostPort(FLAG_DEFAULTS.listen), rules: [], edges: [], dataDir: FLAG_DEFAULTS.stateDir, watch: false };
  if (flags.content !== undefined) role.content = flags.content;
  if (flags.listen !== undefined) role.listen = parseHostPort(flags.listen);
  if (flags.adminListen !== undefined) role.adminListen = parseHostPort(flags.adminListen);
  else if (role.adminListen === undefined) role.adminListen = defaultAdminAddressOrThrow(role.listen);
  if (flags.edge.length > 0) role.edges = flags.edge.map(parseDownstream);
  if (flags.distributor !== undefined) role.distributor = flags.distributor;
  if (flags.stateDir !== undefined) role.dataDir = flags.stateDir;
  else if (flags.config === undefined) role.dataDir = legacyStateDir(FLAG_DEFAULTS.oldStateDir, FLAG_DEFAULTS.stateDir);
  const flagRules = rulesFromFlags(flags);
  if (flagRules.length > 0) role.rules = flagRules;
  if (flags.watch === true) role.watch = true;
  const token = flags.token ?? role.token ?? tokenFrom(undefined);
  if (token !== undefined) role.token = token;
  return role;
}

/** `--replica HOST:PORT`: a content-only copy (setup.ts); from the file's `origin.replicas`, or from the flags alone. */
function replicaFromFlags(flags: OriginFlags, listen: HostPort): OriginRoleOptions {
  const role = flags.config !== undefined ? originReplicaFromDeployment(loadDeploymentWithLogSettings(flags.config), listen) : originReplica(FLAG_DEFAULTS.content, listen, []);
  if (flags.content !== undefined) role.content = flags.content;
  if (flags.adminListen !== undefined) role.adminListen = parseHostPort(flags.adminListen);
  else if (role.adminListen === undefined) role.adminListen = defaultAdminAddressOrThrow(listen);
  const flagRules = rulesFromFlags(flags);
  if (flagRules.length > 0) role.rules = flagRules;
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
  if (o.replica !== true) await materialiseLargeFiles(o.content);
  const adminTls = applyLinkTls(o.linkTls);
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
    adminTls,
  });
  nats?.registerMetrics(origin.registry);
  nats?.setAdminUrl(origin.adminUrl);
  const watcher = o.watch && publisher ? watchContent(origin, publisher) : undefined;
  announceListening('origin', `origin${o.replica === true ? ' replica' : ''} listening on ${origin.url}, admin ${origin.adminUrl}, content ${o.content}`, {
    address: origin.url,
    admin: origin.adminUrl,
    content: o.content,
    replica: o.replica === true ? true : undefined,
  });
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
  const cmd = new Command('origin')
    .description('serve a content directory (strong ETags, ranges, per-path Cache-Control) and publish pushes/purges')
    .option('--content <dir>', `content directory (default: ${FLAG_DEFAULTS.content})`)
    .option('--listen <addr>', `listen address, content and /healthz (default: ${FLAG_DEFAULTS.listen})`)
    .option('--admin-listen <addr>', 'admin listener: /metrics, /.dnscdn/ push, purge, status, journal (default: loopback, port + 1000)')
    .option('--token <token>', "admin token for push/purge/status (default: the file's, else $DNSCDN_ADMIN_TOKEN)")
    .option('--edge <name=url>', "edges to feed from the in-process distribution node (each edge's admin URL); comma list, repeatable", listFlag((e) => e), [])
    .option('--distributor <url>', 'publish to this distribution node instead of running one in-process')
    .option('--state-dir <dir>', `journal and blobs of the in-process distribution node (default: ${FLAG_DEFAULTS.stateDir}, as in the deployment file)`)
    .option('--cache-control <pattern=value>', 'Cache-Control for matching paths (first match wins); repeatable', collect, [])
    .option('--surrogate-key <pattern=keys>', 'Surrogate-Key values for matching paths (space separated); repeatable', collect, [])
    .option('--watch', 'push changed files and purge deleted ones automatically')
    .option('--config <file>', 'deployment file: origin, rules, edges, journal and token from it; other flags override them')
    .option('--replica <host:port>', "run a content-only replica at this address (one of the file's origin.replicas): same content and rules, no push")
    .action(async (flags: OriginFlags) => {
      const role = originRoleFromFlags(flags);
      reloadLogSettingsOnHangup('origin', flags.config);
      await run(role);
    });
  return addDeprecatedAlias(cmd, '--data-dir <dir>', '--state-dir');
}

function printOps(answer: unknown): void {
  for (const op of parseOpSummaries(answer)) process.stdout.write(`seq ${op.seq}\t${op.kind}\t${op.what}\n`);
}

export function pushCommand(): Command {
  return withAdminOptions(new Command('push').description('publish content files to every edge').argument('<paths...>', 'URL paths under the content root, e.g. /index.html')).action(
    async (paths: string[], o: AdminFlags) => printOps(await adminCall(o, 'POST', '/.dnscdn/push', { paths })),
  );
}

export function purgeCommand(): Command {
  return withAdminOptions(
    new Command('purge')
      .description('remove objects from every edge: a URL path, a prefix ending in *, or tag:NAME')
      .argument('<pattern>', '/path | /prefix* | tag:NAME')
      .option('--all', 'allow a pattern that matches everything (/* or *)'),
  ).action(async (target: string, o: AdminFlags & { all?: boolean }) => printOps(await adminCall(o, 'POST', '/.dnscdn/purge', { target, all: o.all === true })));
}

export function statusCommand(): Command {
  return withAdminOptions(new Command('status').description('per edge: reachable, last applied sequence, lag (exit 1 if an edge is ahead of the journal)')).action(async (o: AdminFlags) => {
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
