import { Command } from 'commander';
import { loadDeployment } from '../config/load.js';
import { originSettingsFromConfig } from '../config/roles.js';
import { Distributor } from '../distribution/distributor.js';
import type { DistributionStatus } from '../distribution/distributor.js';
import { bearer } from '../http/bearer.js';
import { parseDownstream, tokenFrom } from '../distribution/targets.js';
import { request } from '../http/client.js';
import { parseHostPort } from '../net/address.js';
import { defaultAdminAddress } from '../net/admin-address.js';
import { reportReady } from '../up/child.js';
import { materialiseLargeFiles } from './demo-content.js';
import { localPublisher, remotePublisher } from './publisher.js';
import type { Publisher } from './publisher.js';
import { parseRuleArgument } from './rules.js';
import type { PathRule } from './rules.js';
import { OriginServer } from './server.js';
import { watchContent } from './watch.js';

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** The demo content's policy: pages short-lived, assets long-lived, tags by kind of content. */
export const DEMO_RULES: PathRule[] = [
  { pattern: '*.html', cacheControl: 'public, max-age=60', surrogateKeys: ['html'] },
  { pattern: '*.css', cacheControl: 'public, max-age=86400', surrogateKeys: ['css'] },
  { pattern: '/img/**', cacheControl: 'public, max-age=86400', surrogateKeys: ['images'] },
  { pattern: '/video/**', cacheControl: 'public, max-age=3600', surrogateKeys: ['video'] },
];

interface OriginCliOptions {
  content: string;
  listen: string;
  adminListen?: string;
  token?: string;
  edge: string[];
  distributor?: string;
  dataDir: string;
  cacheControl: string[];
  surrogateKey: string[];
  watch?: boolean;
  config?: string;
}

/** `--config FILE` replaces the flags it covers with the deployment's origin, rules, edges, journal and token. */
function withConfig(o: OriginCliOptions): { options: OriginCliOptions; rules: PathRule[] | undefined } {
  if (o.config === undefined) return { options: o, rules: undefined };
  const s = originSettingsFromConfig(loadDeployment(o.config));
  const options: OriginCliOptions = { ...o, content: s.content, listen: s.listen, adminListen: o.adminListen ?? s.adminListen, edge: s.edges, dataDir: s.dataDir, cacheControl: [], surrogateKey: [] };
  if (s.token !== undefined) options.token = s.token;
  if (s.distributor !== undefined) options.distributor = s.distributor;
  return { options, rules: s.rules };
}

export function originCommand(): Command {
  return new Command('origin')
    .description('serve a content directory (strong ETags, ranges, per-path Cache-Control) and publish pushes/purges')
    .option('--content <dir>', 'content directory', 'content/')
    .option('--listen <addr>', 'listen address (content and /healthz)', '127.0.0.1:8000')
    .option('--admin-listen <addr>', 'admin listener: /metrics, /.dnscdn/ push, purge, status, journal (default: loopback, port + 1000)')
    .option('--token <token>', 'admin token for push/purge/status (default: $DNSCDN_ADMIN_TOKEN)')
    .option('--edge <name=url>', "an edge to feed from the in-process distribution node (the edge's admin URL); repeatable", collect, [])
    .option('--distributor <url>', 'publish to this distribution node instead of running one in-process')
    .option('--data-dir <dir>', 'journal and blobs of the in-process distribution node', '.dnscdn/origin')
    .option('--cache-control <pattern=value>', 'Cache-Control for matching paths (first match wins); repeatable', collect, [])
    .option('--surrogate-key <pattern=keys>', 'Surrogate-Key values for matching paths (space separated); repeatable', collect, [])
    .option('--watch', 'push changed files and purge deleted ones automatically')
    .option('--config <file>', 'deployment file: origin, rules, edges, journal and token from it')
    .action(async (flags: OriginCliOptions) => {
      const { options: o, rules: configRules } = withConfig(flags);
      const token = tokenFrom(o.token);
      const rules: PathRule[] = configRules ?? [
        ...o.cacheControl.map((t) => {
          const r = parseRuleArgument(t);
          return { pattern: r.pattern, cacheControl: r.value };
        }),
        ...o.surrogateKey.map((t) => {
          const r = parseRuleArgument(t);
          return { pattern: r.pattern, surrogateKeys: r.value.split(/\s+/).filter(Boolean) };
        }),
      ];
      await materialiseLargeFiles(o.content);
      let distributor: Distributor | undefined;
      let publisher: Publisher | undefined;
      if (token && o.distributor) publisher = remotePublisher(o.distributor, token);
      else if (token) {
        distributor = await Distributor.open({ dataDir: o.dataDir, token, downstream: o.edge.map(parseDownstream) });
        publisher = localPublisher(distributor);
      }
      const listen = parseHostPort(o.listen);
      const adminListen = o.adminListen !== undefined ? parseHostPort(o.adminListen) : defaultAdminAddress(listen);
      if (adminListen === undefined) throw new Error(`--admin-listen is required: the default (port ${listen.port} + 1000) is past 65535`);
      const origin = await OriginServer.start({
        contentDir: o.content,
        listen,
        adminListen,
        rules: rules.length > 0 ? rules : DEMO_RULES,
        token,
        publisher,
        distributor,
      });
      const watcher = o.watch && publisher ? watchContent(origin, publisher) : undefined;
      process.stdout.write(`origin listening on ${origin.url}, admin ${origin.adminUrl}\n`);
      reportReady([origin.url, `${origin.adminUrl}/metrics`]);
      const stop = async (): Promise<void> => {
        watcher?.close();
        await origin.close();
        await distributor?.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}

interface ClientOptions {
  origin: string;
  token?: string;
}

function withClientOptions(c: Command): Command {
  return c.option('--origin <url>', "the origin's admin listener (or a distribution node's)", 'http://127.0.0.1:9000').option('--token <token>', 'admin token (default: $DNSCDN_ADMIN_TOKEN)');
}

async function adminCall(o: ClientOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const token = tokenFrom(o.token);
  if (!token) throw new Error('a token is required (--token or DNSCDN_ADMIN_TOKEN)');
  const res = await request(new URL(path, o.origin), {
    method,
    headers: { ...bearer(token), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    timeoutMs: 60_000,
  });
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}: ${res.text().trim()}`);
  return res.json();
}

function printOps(answer: unknown): void {
  for (const op of (answer as { ops: Array<{ seq: number; kind: string; what: string }> }).ops) process.stdout.write(`seq ${op.seq}\t${op.kind}\t${op.what}\n`);
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
    const s = (await adminCall(o, 'GET', '/.dnscdn/status')) as DistributionStatus;
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
