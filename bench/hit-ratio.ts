/**
 * bench:hit-ratio — replays request traces through the edge's store in-process, once per cache policy, and
 * compares them with offline references on the same trace:
 *   lru, w-tinylfu, s3-fifo   the real EdgeStore (src/edge/store.ts) with each policy (src/edge/eviction/)
 *   static     the best fixed content, knowing each object's total popularity in advance (opt.ts staticBest)
 *   opt        Belady's MIN: exact optimum on count-only traces, the classic reference with sizes
 *   opt-bound  an upper bound no policy can beat with this byte budget (interval relaxation, see opt.ts)
 * at cache sizes of 1, 5, 10 and 25 % of the trace's unique bytes (of unique objects for count-only traces).
 * For each policy it prints the share of the LRU->OPT gap closed, (policy - lru) / (opt - lru), for object
 * and byte hit ratio, and checks the issue-16 targets for the default policy.
 * Writes bench/results/hit-ratio.json (rows {trace, cacheFraction, policy, ohr, bhr}) and .svg.
 * The `cluster` rows (cluster-replay.ts): 5 sharded edges of size C (one ring) against 5 independent edges of
 * size C and one cache of 5 x C, per trace; written to bench/results/hit-ratio-cluster.json.
 *
 * Traces: synthetic Zipf (zipf.ts), the synthetic CDN mix (cdn-mix.ts), every `*.csv` / `*.csv.gz` in
 * the nearest shared/traces beside the repository or one of its parents (cache2k traces, CC BY 4.0, headissue GmbH), and any trace files
 * given as arguments.
 *
 *   npm run bench:hit-ratio [-- more-traces.csv.gz ...]
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CACHE_POLICIES, DEFAULT_CACHE_POLICY, type CachePolicyName } from '../src/config/cache-policies.js';
import { cdnMixTrace } from './cdn-mix.js';
import { CLUSTER_EDGES, CLUSTER_FRACTIONS, CLUSTER_LAYOUTS, clusterRows, type ClusterRow } from './cluster-replay.js';
import { lineChartSvg, type LinePanel, type LineStyle } from './chart.js';
import { belady, hitRatios, intervalBound, staticBest } from './opt.js';
import { formatTable, repoRoot, writeResults } from './report.js';
import { storeReplay } from './store-replay.js';
import { nextUseIndex, traceTotals, type Trace } from './trace.js';
import { readTraceFile } from './trace-file.js';
import { zipfTrace } from './zipf.js';

export const CACHE_FRACTIONS = [0.01, 0.05, 0.1, 0.25] as const;
export const POLICIES = [...CACHE_POLICIES, 'static', 'opt', 'opt-bound'] as const;
export type BenchPolicy = (typeof POLICIES)[number];

export interface HitRatioRow {
  trace: string;
  cacheFraction: number;
  policy: BenchPolicy;
  ohr: number;
  bhr: number;
}

/** Synthetic workload: 100,000 objects, 1,000,000 requests, one fixed seed per exponent. */
export const ZIPF = { objects: 100_000, requests: 1_000_000, alphas: [0.6, 0.8, 1.0], seed: 20240601 };

/** Issue 16's targets for the default policy. */
export const TARGETS = {
  /** Share of the LRU->OPT object-hit-ratio gap to close at these sizes on these traces. */
  gapShare: 0.6,
  fractions: [0.05, 0.1],
  traces: /^(zipf-|cache2k-web07$|cache2k-web12$)/,
  /** Never below LRU by more than this on any trace and size (object hit ratio). */
  worstLoss: 0.005,
} as const;

const round = (x: number): number => Math.round(x * 10000) / 10000;

/** (policy - lru) / (opt - lru); undefined when there is no gap worth dividing by (under 0.001). */
export function gapShare(policy: number, lru: number, opt: number): number | undefined {
  return opt - lru < 0.001 ? undefined : (policy - lru) / (opt - lru);
}

/** Every policy at every cache fraction for one trace. */
export function replayTrace(trace: Trace, fractions: readonly number[] = CACHE_FRACTIONS): HitRatioRow[] {
  const totals = traceTotals(trace);
  const capacities = fractions.map((f) => Math.max(1, Math.floor(f * totals.uniqueBytes)));
  const next = nextUseIndex(trace);
  const bounds = intervalBound(trace, capacities, next);
  const rows: HitRatioRow[] = [];
  const push = (cacheFraction: number, policy: BenchPolicy, r: { ohr: number; bhr: number }): void => {
    rows.push({ trace: trace.name, cacheFraction, policy, ohr: round(r.ohr), bhr: round(r.bhr) });
  };
  fractions.forEach((cacheFraction, i) => {
    const capacity = capacities[i]!;
    for (const policy of CACHE_POLICIES) push(cacheFraction, policy, hitRatios(storeReplay(trace, capacity, policy)));
    push(cacheFraction, 'static', hitRatios(staticBest(trace, capacity)));
    push(cacheFraction, 'opt', hitRatios(belady(trace, capacity, next)));
    push(cacheFraction, 'opt-bound', bounds[i]!);
  });
  return rows;
}

/** The nearest `shared/traces` folder beside the repository or beside one of its parents (git worktrees sit deeper). */
export function sharedTraces(): string | undefined {
  for (let dir = dirname(repoRoot()); ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'traces');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The trace files to replay: the shared cache2k traces when present, then the command-line arguments. */
function traceFiles(args: readonly string[]): string[] {
  const shared = sharedTraces();
  const files: string[] = [];
  if (shared !== undefined) {
    for (const f of readdirSync(shared).sort()) if (/\.csv(\.gz)?$/.test(f)) files.push(join(shared, f));
  } else {
    console.log(`skipping the shared real traces: no shared/traces beside ${repoRoot()} or its parents (synthetic and argument traces only)`);
  }
  return [...files, ...args];
}

const SERIES: Record<BenchPolicy, { label: string; style: LineStyle }> = {
  lru: { label: 'lru', style: 'solid' },
  'w-tinylfu': { label: 'w-tinylfu', style: 'solid' },
  's3-fifo': { label: 's3-fifo', style: 'solid' },
  static: { label: 'best static set (popularity oracle)', style: 'dotted' },
  opt: { label: "Belady's OPT", style: 'dashed' },
  'opt-bound': { label: 'upper bound (PFOO-U)', style: 'dotted' },
};

function panels(rows: readonly HitRatioRow[], countOnly: ReadonlySet<string>): LinePanel[] {
  const traces = [...new Set(rows.map((r) => r.trace))];
  const out: LinePanel[] = [];
  const series = (trace: string, metric: 'ohr' | 'bhr'): LinePanel['series'] =>
    POLICIES.map((policy) => ({
      name: SERIES[policy].label + (policy === DEFAULT_CACHE_POLICY ? ' (default)' : ''),
      style: SERIES[policy].style,
      points: rows.filter((r) => r.trace === trace && r.policy === policy).map((r) => [r.cacheFraction * 100, r[metric]] as const),
    }));
  for (const trace of traces) {
    const unit = countOnly.has(trace) ? 'unique objects' : 'unique bytes';
    const common = { xLabel: `cache size, % of ${unit}`, xTicks: CACHE_FRACTIONS.map((f) => f * 100), xTickLabel: (x: number) => `${x}%`, xScale: 'log' as const, yDomain: [0, 1] as const };
    if (countOnly.has(trace)) {
      out.push({ ...common, title: `${trace} (count only)`, yLabel: 'object hit ratio', series: series(trace, 'ohr') });
    } else {
      out.push({ ...common, title: `${trace}: objects`, yLabel: 'object hit ratio', series: series(trace, 'ohr') });
      out.push({ ...common, title: `${trace}: bytes`, yLabel: 'byte hit ratio', series: series(trace, 'bhr') });
    }
  }
  return out;
}

type Lookup = (trace: string, cacheFraction: number, policy: BenchPolicy) => HitRatioRow;

function lookup(rows: readonly HitRatioRow[]): Lookup {
  const byKey = new Map(rows.map((r) => [`${r.trace}\n${r.cacheFraction}\n${r.policy}`, r]));
  return (trace, cacheFraction, policy) => byKey.get(`${trace}\n${cacheFraction}\n${policy}`)!;
}

const percent = (share: number | undefined): string => (share === undefined ? '-' : `${Math.round(share * 100)}%`);

/** One table per metric: every policy's ratio, then each policy's share of the LRU->OPT gap. */
function metricTable(rows: readonly HitRatioRow[], get: Lookup, metric: 'ohr' | 'bhr'): string {
  const newPolicies = CACHE_POLICIES.filter((p) => p !== 'lru');
  const body = rows
    .filter((r) => r.policy === 'lru')
    .map((lru) => {
      const at = (p: BenchPolicy): number => get(lru.trace, lru.cacheFraction, p)[metric];
      return [
        lru.trace,
        `${lru.cacheFraction * 100}%`,
        ...POLICIES.map((p) => at(p).toFixed(3)),
        ...newPolicies.map((p) => percent(gapShare(at(p), at('lru'), at('opt')))),
      ];
    });
  return formatTable(['trace', 'cache', ...POLICIES, ...newPolicies.map((p) => `${p} gap closed`)], body);
}

/** The issue-16 targets for the default policy, as lines to print (empty: all met). */
function targetMisses(rows: readonly HitRatioRow[], get: Lookup): string[] {
  const misses: string[] = [];
  for (const lru of rows.filter((r) => r.policy === 'lru')) {
    const mine = get(lru.trace, lru.cacheFraction, DEFAULT_CACHE_POLICY);
    const opt = get(lru.trace, lru.cacheFraction, 'opt');
    const where = `${lru.trace} at ${lru.cacheFraction * 100}%`;
    if (mine.ohr < lru.ohr - TARGETS.worstLoss) misses.push(`${where}: ${DEFAULT_CACHE_POLICY} ohr ${mine.ohr} is below lru ${lru.ohr} by more than ${TARGETS.worstLoss}`);
    const share = gapShare(mine.ohr, lru.ohr, opt.ohr);
    if (TARGETS.traces.test(lru.trace) && (TARGETS.fractions as readonly number[]).includes(lru.cacheFraction) && share !== undefined && share < TARGETS.gapShare) {
      misses.push(`${where}: ${DEFAULT_CACHE_POLICY} closes ${percent(share)} of the ohr gap (target ${percent(TARGETS.gapShare)})`);
    }
  }
  return misses;
}

/** Mean share of the object-hit-ratio gap closed by each new policy over every trace and size. */
function meanShares(rows: readonly HitRatioRow[], get: Lookup): Array<[CachePolicyName, number, number]> {
  return CACHE_POLICIES.filter((p) => p !== 'lru').map((policy) => {
    const o: number[] = [];
    const b: number[] = [];
    for (const lru of rows.filter((r) => r.policy === 'lru')) {
      const mine = get(lru.trace, lru.cacheFraction, policy);
      const opt = get(lru.trace, lru.cacheFraction, 'opt');
      const so = gapShare(mine.ohr, lru.ohr, opt.ohr);
      const sb = gapShare(mine.bhr, lru.bhr, opt.bhr);
      if (so !== undefined) o.push(so);
      if (sb !== undefined) b.push(sb);
    }
    const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
    return [policy, mean(o), mean(b)];
  });
}

function clusterPanels(rows: readonly ClusterRow[]): LinePanel[] {
  const style: Record<ClusterRow['layout'], LineStyle> = { sharded: 'solid', independent: 'solid', single: 'dashed' };
  return [...new Set(rows.map((r) => r.trace))].map((trace) => ({
    title: trace,
    xLabel: 'cache per edge, % of unique bytes',
    yLabel: 'object hit ratio',
    xTicks: CLUSTER_FRACTIONS.map((f) => f * 100),
    xTickLabel: (x: number) => `${x}%`,
    yDomain: [0, 1] as const,
    series: CLUSTER_LAYOUTS.map((layout) => ({
      name: layout === 'single' ? `one cache of ${CLUSTER_EDGES} x C` : `${CLUSTER_EDGES} ${layout} edges`,
      style: style[layout],
      points: rows.filter((r) => r.trace === trace && r.layout === layout).map((r) => [r.cacheFraction * 100, r.ohr] as const),
    })),
  }));
}

/** One line per trace and size: the three layouts side by side. */
function clusterTable(rows: readonly ClusterRow[]): string {
  const at = (r: ClusterRow, layout: ClusterRow['layout']): ClusterRow => rows.find((x) => x.trace === r.trace && x.cacheFraction === r.cacheFraction && x.layout === layout)!;
  const body = rows
    .filter((r) => r.layout === 'sharded')
    .map((r) => {
      const ind = at(r, 'independent');
      const one = at(r, 'single');
      return [r.trace, `${r.cacheFraction * 100}%`, `${r.ohr.toFixed(3)} / ${r.bhr.toFixed(3)}`, `${ind.ohr.toFixed(3)} / ${ind.bhr.toFixed(3)}`, `${one.ohr.toFixed(3)} / ${one.bhr.toFixed(3)}`];
    });
  return formatTable(['trace', 'C per edge', 'sharded', 'independent', `single ${CLUSTER_EDGES}xC`], body);
}

async function main(): Promise<void> {
  const started = Date.now();
  const rows: HitRatioRow[] = [];
  const cluster: ClusterRow[] = [];
  const countOnly = new Set<string>();
  const run = (trace: Trace): void => {
    const t = Date.now();
    const totals = traceTotals(trace);
    if (trace.countOnly) countOnly.add(trace.name);
    rows.push(...replayTrace(trace));
    cluster.push(...clusterRows(trace));
    console.log(`${trace.name}: ${totals.requests} requests, ${totals.objects} objects, ${trace.countOnly ? 'count only' : `${(totals.uniqueBytes / 2 ** 20).toFixed(1)} MiB unique`} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  };
  for (const alpha of ZIPF.alphas) {
    run(zipfTrace(`zipf-${alpha.toFixed(1)}`, { objects: ZIPF.objects, requests: ZIPF.requests, alpha, seed: ZIPF.seed }));
  }
  run(cdnMixTrace());
  for (const file of traceFiles(process.argv.slice(2))) {
    run(await readTraceFile(file, basename(file).replace(/\.csv(\.gz)?$/, '')));
  }
  const get = lookup(rows);

  const violations = rows.filter((r) => r.policy === 'lru').flatMap((lru) => {
    const opt = get(lru.trace, lru.cacheFraction, 'opt');
    const bound = get(lru.trace, lru.cacheFraction, 'opt-bound');
    const bad: string[] = [];
    if (opt.ohr < lru.ohr) bad.push(`${lru.trace} at ${lru.cacheFraction}: opt ohr ${opt.ohr} < lru ${lru.ohr}`);
    for (const policy of CACHE_POLICIES) {
      const p = get(lru.trace, lru.cacheFraction, policy);
      if (bound.ohr < p.ohr || bound.bhr < p.bhr) bad.push(`${lru.trace} at ${lru.cacheFraction}: bound below ${policy}`);
    }
    if (bound.ohr < opt.ohr || bound.bhr < opt.bhr) bad.push(`${lru.trace} at ${lru.cacheFraction}: bound below opt`);
    return bad;
  });

  console.log(`\nObject hit ratio, and the share of the LRU->OPT gap each policy closes (default: ${DEFAULT_CACHE_POLICY}):\n`);
  console.log(metricTable(rows, get, 'ohr'));
  console.log('\nByte hit ratio, and the share of the LRU->OPT byte gap closed:\n');
  console.log(metricTable(rows, get, 'bhr'));
  console.log('\nMean share of the gap closed over every trace and size:\n');
  console.log(formatTable(['policy', 'ohr gap closed', 'bhr gap closed'], meanShares(rows, get).map(([p, o, b]) => [p, percent(o), percent(b)])));
  const misses = targetMisses(rows, get);
  console.log(misses.length === 0 ? `\nissue-16 targets met by ${DEFAULT_CACHE_POLICY}` : `\nissue-16 targets missed by ${DEFAULT_CACHE_POLICY}:\n${misses.join('\n')}`);

  console.log(`\ncluster: ${CLUSTER_EDGES} edges of C each, sharded by one ring vs independent, and one cache of ${CLUSTER_EDGES} x C (object / byte hit ratio):\n`);
  console.log(clusterTable(cluster));
  await writeResults('hit-ratio-cluster', cluster, lineChartSvg(`Object hit ratio of ${CLUSTER_EDGES} edges: sharded by a ring vs independent`, clusterPanels(cluster), 4));

  const svg = lineChartSvg('Hit ratio against cache size: edge store policies vs offline optimum', panels(rows, countOnly), 4);
  const written = await writeResults('hit-ratio', rows, svg);
  console.log(`\nwrote ${written.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (violations.length > 0) {
    console.error(`reference ordering violated:\n${violations.join('\n')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(basename(process.argv[1]))) await main();
