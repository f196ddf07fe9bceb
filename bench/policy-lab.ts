/**
 * bench:policy-lab — replays the hit-ratio traces through offline prototypes of eviction policies from the
 * literature (bench/lab/), outside the edge store, and prints the share of the LRU->OPT object-hit-ratio gap
 * each closes, next to the store's own policies. A research harness for issue 16: a prototype that wins here
 * is then built properly under src/edge/eviction/.
 *
 *   npm run bench:build && node dist-bench/bench/policy-lab.js [cache2k|zipf|cdn|all] [policy-name-regex]
 */
import { basename, join } from 'node:path';
import { existsSync } from 'node:fs';
import { cdnMixTrace } from './cdn-mix.js';
import { belady, hitRatios, type HitCounts } from './opt.js';
import { formatTable, repoRoot } from './report.js';
import { storeReplay } from './store-replay.js';
import { nextUseIndex, traceTotals, type Trace } from './trace.js';
import { readTraceFile } from './trace-file.js';
import { zipfTrace } from './zipf.js';
import { arc, lru, sieve } from './lab/recency.js';
import { hyperbolic, lhd, lrfu } from './lab/sampled.js';
import type { SimContext, SimFactory } from './lab/sim-policy.js';
import { learnedHindsight, learnedRanking } from './lab/learned.js';
import { tinyLfu } from './lab/tinylfu.js';
import { windowOracle } from './lab/window-oracle.js';

const FRACTIONS = [0.01, 0.05, 0.1, 0.25];

/** Windows of the lookahead oracle, in multiples of the cache's object count. */
const WINDOWS = [1, 2, 4, 8, 16];

export function prototypes(): Array<[string, SimFactory]> {
  return [
    ['sieve', sieve],
    ...[0.01, 0.1, 0.25, 0.5, 0.75].map((w): [string, SimFactory] => [`tinylfu-w${w * 100}`, tinyLfu(w)]),
    ['arc', arc],
    ['hyperbolic', hyperbolic],
    ['lrfu-0.5', lrfu(0.5)],
    ['lrfu-2', lrfu(2)],
    ['lrfu-8', lrfu(8)],
    ['lhd', lhd(false)],
    ['lhd-history', lhd(true)],
    ['learned-0.5', learnedRanking(0.5)],
    ['learned-1', learnedRanking(1)],
    ['learned-2', learnedRanking(2)],
    ['learned-4', learnedRanking(4)],
    ['learned-0.5-hindsight', learnedHindsight(0.5)],
    ['learned-1-hindsight', learnedHindsight(1)],
  ];
}

export function simulate(trace: Trace, factory: SimFactory, ctx: SimContext): HitCounts {
  const policy = factory(ctx);
  const counts: HitCounts = { requests: trace.requests.length, hits: 0, bytes: 0, hitBytes: 0 };
  const n = trace.requests.length;
  for (let t = 0; t < n; t++) {
    const id = trace.requests[t]!;
    const size = trace.sizes[id]!;
    counts.bytes += size;
    if (policy.access(id, size, t)) {
      counts.hits++;
      counts.hitBytes += size;
    }
    if (policy.used > ctx.capacity) throw new Error(`${trace.name}: over capacity at request ${t}`);
  }
  return counts;
}

export interface LabRow {
  trace: string;
  fraction: number;
  policy: string;
  ohr: number;
  bhr: number;
}

export function labTrace(trace: Trace, filter: RegExp): LabRow[] {
  const totals = traceTotals(trace);
  const next = nextUseIndex(trace);
  const rows: LabRow[] = [];
  for (const fraction of FRACTIONS) {
    const capacity = Math.max(1, Math.floor(fraction * totals.uniqueBytes));
    const ctx: SimContext = { capacity, maxObject: Math.max(1, Math.floor(capacity / 8)), ids: trace.sizes.length, meanSize: totals.uniqueBytes / totals.objects, next, requests: trace.requests, sizes: trace.sizes };
    const add = (policy: string, c: HitCounts): void => {
      const r = hitRatios(c);
      rows.push({ trace: trace.name, fraction, policy, ohr: r.ohr, bhr: r.bhr });
    };
    add('lru', storeReplay(trace, capacity, 'lru'));
    add('lab-lru', simulate(trace, lru, ctx));
    add('opt', belady(trace, capacity, next));
    for (const p of ['w-tinylfu', 's3-fifo'] as const) if (filter.test(p)) add(p, storeReplay(trace, capacity, p));
    for (const [name, factory] of prototypes()) if (filter.test(name)) add(name, simulate(trace, factory, ctx));
    const objects = Math.max(1, Math.round(capacity / ctx.meanSize));
    for (const w of WINDOWS) if (filter.test(`window-${w}`)) add(`window-${w}C`, simulate(trace, windowOracle(w * objects), ctx));
  }
  return rows;
}

function gapTable(rows: readonly LabRow[]): string {
  const policies = [...new Set(rows.map((r) => r.policy))].filter((p) => p !== 'lru' && p !== 'opt');
  const groups = [...new Set(rows.map((r) => `${r.trace}\n${r.fraction}`))];
  const body = groups.map((g) => {
    const [trace, fraction] = g.split('\n') as [string, string];
    const at = (p: string): number => rows.find((r) => r.trace === trace && String(r.fraction) === fraction && r.policy === p)!.ohr;
    const lruOhr = at('lru');
    const opt = at('opt');
    return [trace, `${Number(fraction) * 100}%`, lruOhr.toFixed(3), opt.toFixed(3), ...policies.map((p) => {
      const v = at(p);
      const share = opt - lruOhr < 0.001 ? '-' : `${Math.round(((v - lruOhr) / (opt - lruOhr)) * 100)}%`;
      return `${v.toFixed(3)} ${share}`;
    })];
  });
  return formatTable(['trace', 'cache', 'lru', 'opt', ...policies], body);
}

async function main(): Promise<void> {
  const which = process.argv[2] ?? 'cache2k';
  const filter = new RegExp(process.argv[3] ?? '.');
  const traces: Trace[] = [];
  if (which === 'cache2k' || which === 'all') {
    for (const name of ['cache2k-web07', 'cache2k-web12']) {
      const file = join(repoRoot(), '..', '..', 'shared', 'traces', `${name}.csv.gz`);
      const path = existsSync(file) ? file : join(repoRoot(), '..', 'shared', 'traces', `${name}.csv.gz`);
      traces.push(await readTraceFile(path, basename(name)));
    }
  }
  if (which === 'zipf' || which === 'all') {
    for (const alpha of [0.6, 0.8, 1.0]) traces.push(zipfTrace(`zipf-${alpha.toFixed(1)}`, { objects: 100_000, requests: 1_000_000, alpha, seed: 20240601 }));
  }
  if (which === 'cdn' || which === 'all') traces.push(cdnMixTrace());
  const rows: LabRow[] = [];
  for (const trace of traces) {
    const t = Date.now();
    rows.push(...labTrace(trace, filter));
    console.error(`${trace.name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  console.log('object hit ratio and share of the LRU->OPT gap closed\n');
  console.log(gapTable(rows));
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(basename(process.argv[1]))) await main();
