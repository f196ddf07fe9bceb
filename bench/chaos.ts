/**
 * bench:chaos — the long chaos run (`dnscdn chaos`, src/chaos/run.ts) on the shipped deployment, with its report
 * plotted on a timeline: client error rate, p50/p99 latency and the origin's request rate per second, each fault
 * marked as a spike on the time axis. Writes bench/results/chaos.json and chaos.svg.
 *
 *   npm run bench:chaos     (BENCH_CHAOS_SECONDS, default 180; BENCH_CHAOS_SEED, default 1;
 *                            BENCH_CHAOS_CONFIG, default the shipped dnscdn.yaml; `npm start` must not be running)
 */
import { join } from 'node:path';
import { formatReport, type ChaosReport } from '../src/chaos/report.js';
import { runChaos } from '../src/chaos/run.js';
import { loadDeployment } from '../src/config/load.js';
import { lineChartSvg, type LinePanel, type Series } from './chart.js';
import { conditions } from './proc.js';
import { repoRoot, writeResults } from './report.js';

const SECONDS = Number(process.env.BENCH_CHAOS_SECONDS ?? 180);
const SEED = Number(process.env.BENCH_CHAOS_SEED ?? 1);

const FAULT_SERIES: Record<ChaosReport['faults'][number]['kind'], string> = { kill: 'SIGKILL (restarted)', stop: 'SIGSTOP (frozen, then SIGCONT)' };

/** The faults as one series per kind: a spike up to `top` at each fault's second, flat elsewhere (one legend entry a kind). */
export function faultSpikes(report: Pick<ChaosReport, 'faults'>, top: number): Series[] {
  return (['kill', 'stop'] as const).flatMap((kind) => {
    const faults = report.faults.filter((f) => f.kind === kind);
    if (faults.length === 0) return [];
    const points: Array<readonly [number, number]> = [[0, 0]];
    for (const f of faults) {
      const t = f.at / 1000;
      points.push([t, 0], [t, top], [t, 0]);
    }
    return [{ name: FAULT_SERIES[kind], style: 'dotted' as const, points }];
  });
}

export function chaosChart(report: ChaosReport): string {
  const seconds = report.timeline.map((s) => s.second);
  const step = Math.max(10, Math.ceil(seconds.length / 8 / 10) * 10);
  const xTicks = seconds.filter((s) => s % step === 0);
  const common = { xLabel: 'seconds into the run', xTicks, xScale: 'linear' as const };
  const errorPercent = report.timeline.map((s) => [s.second, 100 * s.errorRate] as const);
  const maxError = Math.max(1, ...errorPercent.map(([, y]) => y));
  const p99 = report.timeline.flatMap((s) => (s.p99Ms === null ? [] : [[s.second, s.p99Ms] as const]));
  const p50 = report.timeline.flatMap((s) => (s.p50Ms === null ? [] : [[s.second, s.p50Ms] as const]));
  const maxLatency = Math.max(1, ...p99.map(([, y]) => y));
  const origin = report.timeline.flatMap((s) => (s.originRequestsPerSecond === null ? [] : [[s.second, s.originRequestsPerSecond] as const]));
  const maxOrigin = Math.max(1, ...origin.map(([, y]) => y));
  const panels: LinePanel[] = [
    { ...common, title: 'client errors', yLabel: '% of requests', series: [{ name: 'error rate', points: errorPercent }, ...faultSpikes(report, maxError)] },
    { ...common, title: 'client latency', yLabel: 'ms', series: [{ name: 'p99', points: p99 }, { name: 'p50', style: 'dashed', points: p50 }, ...faultSpikes(report, maxLatency)] },
    { ...common, title: 'origin requests', yLabel: 'requests/s', series: [{ name: 'origin requests/s', points: origin }, ...faultSpikes(report, maxOrigin)] },
  ];
  const title = `bench:chaos — seed ${report.seed}, ${report.faults.length} faults, ${(100 * report.errorRate).toFixed(2)} % errors, purges lost ${report.convergence.purgesLost}`;
  // Side by side: one column is 480 px wide, too narrow for the six legend entries (the render test measures them).
  return lineChartSvg(title, panels, 3);
}

/**
 * The machine, without the pinning fields of the other benchmarks: nothing is pinned here, since the deployment's
 * processes (DNS and its workers, ns2, origin, replica, five edges) and the clients share every core, as `npm start`
 * runs them.
 */
function chaosConditions(): Record<string, string | number | boolean> {
  const { node, cpus, loadAverageAtStart, date } = conditions();
  return { node: node!, cpus: cpus!, pinning: 'none', loadAverage: loadAverageAtStart!, date: date! };
}

async function main(): Promise<void> {
  const file = process.env.BENCH_CHAOS_CONFIG ?? join(repoRoot(), 'dnscdn.yaml');
  const started = chaosConditions();
  console.log(`bench:chaos: ${SECONDS} s on ${file}, seed ${SEED}; conditions: ${JSON.stringify(started)}`);
  const report = await runChaos({ deployment: loadDeployment(file), durationMs: SECONDS * 1000, seed: SEED, clients: 16, faultIntervalMs: 10_000, operationIntervalMs: 2000, progress: (line) => console.error(`bench:chaos: ${line}`) });
  process.stdout.write(formatReport(report));
  const written = await writeResults('chaos', { conditions: { atStart: started, atEnd: chaosConditions() }, report }, chaosChart(report));
  console.log(`wrote ${written.join(', ')}`);
  if (report.convergence.purgesLost > 0) process.exitCode = 1;
}

if (process.argv[1]?.endsWith('chaos.js')) {
  await main().catch((err: unknown) => {
    console.error(`bench:chaos: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
