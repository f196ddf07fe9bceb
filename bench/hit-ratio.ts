/**
 * bench:hit-ratio — replays request traces through the edge's store (LRU by bytes) in-process and
 * compares it with offline references on the same trace:
 *   lru        the real EdgeStore (src/edge/store.ts)
 *   opt        Belady's MIN: exact optimum on count-only traces, the classic reference with sizes
 *   opt-bound  an upper bound no policy can beat with this byte budget (interval relaxation, see opt.ts)
 * at cache sizes of 1, 5, 10 and 25 % of the trace's unique bytes (of unique objects for count-only
 * traces). Writes bench/results/hit-ratio.json (rows {trace, cacheFraction, policy, ohr, bhr}) and .svg.
 *
 * Traces: synthetic Zipf (zipf.ts) plus every `*.csv` / `*.csv.gz` in ../shared/traces next to the
 * repository (cache2k traces, CC BY 4.0, headissue GmbH) plus any trace files given as arguments.
 *
 *   npm run bench:hit-ratio [-- more-traces.csv.gz ...]
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { lineChartSvg, type LinePanel } from './chart.js';
import { lruReplay } from './lru-replay.js';
import { belady, hitRatios, intervalBound } from './opt.js';
import { formatTable, repoRoot, writeResults } from './report.js';
import { nextUseIndex, traceTotals, type Trace } from './trace.js';
import { readTraceFile } from './trace-file.js';
import { zipfTrace } from './zipf.js';

export const CACHE_FRACTIONS = [0.01, 0.05, 0.1, 0.25] as const;
export const POLICIES = ['lru', 'opt', 'opt-bound'] as const;

export interface HitRatioRow {
  trace: string;
  cacheFraction: number;
  policy: (typeof POLICIES)[number];
  ohr: number;
  bhr: number;
}

/** Synthetic workload: 100,000 objects, 1,000,000 requests, one fixed seed per exponent. */
const ZIPF = { objects: 100_000, requests: 1_000_000, alphas: [0.6, 0.8, 1.0], seed: 20240601 };

const round = (x: number): number => Math.round(x * 10000) / 10000;

/** Every policy at every cache fraction for one trace. */
export function replayTrace(trace: Trace, fractions: readonly number[] = CACHE_FRACTIONS): HitRatioRow[] {
  const totals = traceTotals(trace);
  const capacities = fractions.map((f) => Math.max(1, Math.floor(f * totals.uniqueBytes)));
  const next = nextUseIndex(trace);
  const bounds = intervalBound(trace, capacities, next);
  const rows: HitRatioRow[] = [];
  fractions.forEach((cacheFraction, i) => {
    const capacity = capacities[i]!;
    const lru = hitRatios(lruReplay(trace, capacity));
    const opt = hitRatios(belady(trace, capacity, next));
    const bound = bounds[i]!;
    rows.push({ trace: trace.name, cacheFraction, policy: 'lru', ohr: round(lru.ohr), bhr: round(lru.bhr) });
    rows.push({ trace: trace.name, cacheFraction, policy: 'opt', ohr: round(opt.ohr), bhr: round(opt.bhr) });
    rows.push({ trace: trace.name, cacheFraction, policy: 'opt-bound', ohr: round(bound.ohr), bhr: round(bound.bhr) });
  });
  return rows;
}

/** The trace files to replay: the shared cache2k traces when present, then the command-line arguments. */
function traceFiles(args: readonly string[]): string[] {
  const shared = join(repoRoot(), '..', 'shared', 'traces');
  const files: string[] = [];
  if (existsSync(shared)) {
    for (const f of readdirSync(shared).sort()) if (/\.csv(\.gz)?$/.test(f)) files.push(join(shared, f));
  } else {
    console.log(`skipping the shared real traces: ${shared} not found (synthetic and argument traces only)`);
  }
  return [...files, ...args];
}

function panels(rows: readonly HitRatioRow[], countOnly: ReadonlySet<string>): LinePanel[] {
  const traces = [...new Set(rows.map((r) => r.trace))];
  const out: LinePanel[] = [];
  const series = (trace: string, metric: 'ohr' | 'bhr'): LinePanel['series'] =>
    POLICIES.map((policy) => ({
      name: policy === 'lru' ? 'LRU (edge store)' : policy === 'opt' ? "Belady's OPT" : 'upper bound (PFOO-U)',
      style: policy === 'lru' ? ('solid' as const) : policy === 'opt' ? ('dashed' as const) : ('dotted' as const),
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

async function main(): Promise<void> {
  const started = Date.now();
  const rows: HitRatioRow[] = [];
  const countOnly = new Set<string>();
  const run = (trace: Trace): void => {
    const t = Date.now();
    const totals = traceTotals(trace);
    if (trace.countOnly) countOnly.add(trace.name);
    rows.push(...replayTrace(trace));
    console.log(`${trace.name}: ${totals.requests} requests, ${totals.objects} objects, ${trace.countOnly ? 'count only' : `${(totals.uniqueBytes / 2 ** 20).toFixed(1)} MiB unique`} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  };
  for (const alpha of ZIPF.alphas) {
    run(zipfTrace(`zipf-${alpha.toFixed(1)}`, { objects: ZIPF.objects, requests: ZIPF.requests, alpha, seed: ZIPF.seed }));
  }
  for (const file of traceFiles(process.argv.slice(2))) {
    run(await readTraceFile(file, basename(file).replace(/\.csv(\.gz)?$/, '')));
  }

  const violations = rows.filter((r) => r.policy === 'lru').flatMap((lru) => {
    const ref = (policy: string): HitRatioRow | undefined => rows.find((r) => r.trace === lru.trace && r.cacheFraction === lru.cacheFraction && r.policy === policy);
    const opt = ref('opt')!;
    const bound = ref('opt-bound')!;
    const bad: string[] = [];
    if (opt.ohr < lru.ohr) bad.push(`${lru.trace} at ${lru.cacheFraction}: opt ohr ${opt.ohr} < lru ${lru.ohr}`);
    if (bound.ohr < opt.ohr || bound.bhr < opt.bhr || bound.bhr < lru.bhr) bad.push(`${lru.trace} at ${lru.cacheFraction}: bound below a policy`);
    return bad;
  });

  const table = rows
    .filter((r) => r.policy === 'lru')
    .map((lru) => {
      const get = (policy: string): HitRatioRow => rows.find((r) => r.trace === lru.trace && r.cacheFraction === lru.cacheFraction && r.policy === policy)!;
      const opt = get('opt');
      const bound = get('opt-bound');
      return [lru.trace, `${lru.cacheFraction * 100}%`, lru.ohr.toFixed(3), opt.ohr.toFixed(3), bound.ohr.toFixed(3), (opt.ohr - lru.ohr).toFixed(3), lru.bhr.toFixed(3), opt.bhr.toFixed(3), bound.bhr.toFixed(3)];
    });
  console.log('\n' + formatTable(['trace', 'cache', 'lru ohr', 'opt ohr', 'bound ohr', 'ohr gap', 'lru bhr', 'opt bhr', 'bound bhr'], table));

  const svg = lineChartSvg('Hit ratio against cache size: LRU edge store vs offline optimum', panels(rows, countOnly), 4);
  const written = await writeResults('hit-ratio', rows, svg);
  console.log(`\nwrote ${written.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (violations.length > 0) {
    console.error(`reference ordering violated:\n${violations.join('\n')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(basename(process.argv[1]))) await main();
