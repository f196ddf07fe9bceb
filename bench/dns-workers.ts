/**
 * bench:dns-workers — what `dnscdn dns --workers N` costs per query, and that every worker answers
 * (issue 13 item 3). This machine has 2 cores shared with the load generator, so it cannot show scaling;
 * what it can show is the CPU a million answers take with 1 and with 2 workers, and how the work splits.
 *
 * For each placement (the server tree on core 1 only; on cores 0-1, shared with dnsperf) and each N
 * (1, 2): `dnscdn dns --zones zones/ --workers N` (real-time priority when allowed, as bench:dns) (RRL off, a 1/1000 query-log sample to see worker ids),
 * a warm-up, then RUNS runs of SECONDS at a fixed offered rate (BENCH_WORKERS_QPS, default 20,000 q/s:
 * below saturation, so every N does the same work) with dnsperf pinned to core 0, then one saturating
 * run. CPU is user + system of the whole process tree (primary and workers) from /proc, per run; the
 * share of each worker is its own CPU over the workers' total.
 *
 *   npm run bench:dns-workers      (BENCH_SECONDS=3 for a quick look)
 */
import { join } from 'node:path';
import { barChartSvg, type BarChart } from './chart.js';
import { dnsAnswers } from './dns-probe.js';
import { RRL_OFF } from './dns-servers.js';
import { dnsperf } from './dnsperf.js';
import { dnsperfQueryFile } from './dns-queries.js';
import { conditions, cpuSeconds, findCommand, freePort, INSTALL_HINT, installCleanup, LOADGEN_CORE, median, pinningAvailable, processTree, realtimeAvailable, startProcess, waitUntil, type Server } from './proc.js';
import { formatTable, repoRoot, writeResults } from './report.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const RATE = Number(process.env.BENCH_WORKERS_QPS ?? 20_000);
const RUNS = 3;
const HOST = '127.0.0.1';

interface Placement {
  name: string;
  cores: string;
}
const PLACEMENTS: readonly Placement[] = [
  { name: 'server on core 1', cores: '1' },
  { name: 'server on cores 0-1 (with dnsperf)', cores: '0,1' },
];

export interface WorkersResult {
  placement: string;
  workers: number;
  offeredQps: number;
  answeredQps: number;
  /** CPU seconds of the process tree per million answered queries: median and the runs. */
  cpuSecondsPerMillion: number;
  runsCpuSecondsPerMillion: number[];
  /** Each worker's share of the workers' CPU in the median run (%). */
  workerCpuShare: number[];
  /** Worker ids seen in the sampled query log. */
  workerIdsInQueryLog: string[];
  saturatedQps: number;
}

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Starts dnscdn on a free port. freePort finds a free TCP port; the same UDP port can be taken by another
 * program's client socket (both come from the ephemeral range), so EADDRINUSE gets another port.
 */
async function startDnscdn(placement: Placement, workers: number): Promise<{ server: Server; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort(HOST);
    const argv = ['node', join(repoRoot(), 'bin', 'dnscdn.js'), 'dns', '--zones', join(repoRoot(), 'zones'), '--listen', `${HOST}:${port}`, '--workers', String(workers), '--query-log-sample', '0.001', ...RRL_OFF];
    // taskset and chrt on the primary: the workers it forks inherit the affinity and the priority.
    const placed = pinningAvailable() ? ['taskset', '-c', placement.cores, ...argv] : argv;
    const server = startProcess(`dnscdn --workers ${workers}`, realtimeAvailable() ? ['chrt', '-r', '10', ...placed] : placed, { env: { ...process.env, DNSCDN_LOG: 'warn' } });
    try {
      await waitUntil(server, () => dnsAnswers(HOST, port));
      return { server, port };
    } catch (err) {
      await server.stop();
      if (attempt >= 3 || !String(err).includes('EADDRINUSE')) throw err;
    }
  }
}

async function measure(placement: Placement, workers: number, queryFile: string): Promise<WorkersResult> {
  const { server, port } = await startDnscdn(placement, workers);
  try {
    const base = { host: HOST, port, queryFile };
    await dnsperf({ ...base, seconds: Math.min(3, SECONDS), rate: RATE });
    const perMillion: number[] = [];
    const shares: number[][] = [];
    let answered = 0;
    for (let i = 0; i < RUNS; i++) {
      const pids = processTree(server.pid);
      const before = pids.map(cpuSeconds);
      const run = await dnsperf({ ...base, seconds: SECONDS, rate: RATE });
      const used = pids.map((p, j) => cpuSeconds(p) - before[j]!);
      // cpuSeconds(pid) counts a process's tree: the primary's entry includes its workers.
      const workerCpu = used.slice(1);
      const total = used[0]!;
      perMillion.push(total / (run.completed / 1e6));
      const workersTotal = workerCpu.reduce((a, b) => a + b, 0);
      shares.push(workers === 1 ? [100] : workerCpu.map((c) => round((100 * c) / workersTotal, 1)));
      answered += run.qps / RUNS;
    }
    const saturated = await dnsperf({ ...base, seconds: SECONDS });
    const mid = perMillion.indexOf(median(perMillion));
    const ids = [...new Set([...server.output().matchAll(/ worker=(\d+)/g)].map((m) => m[1]!))].sort();
    const result: WorkersResult = {
      placement: placement.name,
      workers,
      offeredQps: RATE,
      answeredQps: Math.round(answered),
      cpuSecondsPerMillion: round(median(perMillion)),
      runsCpuSecondsPerMillion: perMillion.map((x) => round(x)),
      workerCpuShare: shares[mid]!,
      workerIdsInQueryLog: ids,
      saturatedQps: Math.round(saturated.qps),
    };
    console.log(`  ${placement.name}, ${workers} worker(s): ${result.cpuSecondsPerMillion} CPU s per million (runs ${result.runsCpuSecondsPerMillion.join(' / ')}), shares ${result.workerCpuShare.join('/')} %, query-log worker ids ${ids.join(',') || '-'}, saturated ${result.saturatedQps} q/s`);
    return result;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  if (!findCommand('dnsperf')) throw new Error(`dnsperf is needed: ${INSTALL_HINT}`);
  installCleanup();
  const started = conditions();
  const tmp = mkdtempSync(join(tmpdir(), 'dnscdn-bench-workers-'));
  try {
    const queryFile = join(tmp, 'queries.txt');
    writeFileSync(queryFile, dnsperfQueryFile());
    console.log(`bench:dns-workers: ${RATE} q/s offered for ${SECONDS} s x ${RUNS}, dnsperf on core ${LOADGEN_CORE}; load average ${started.loadAverageAtStart}`);
    const results: WorkersResult[] = [];
    for (const placement of PLACEMENTS) for (const workers of [1, 2]) results.push(await measure(placement, workers, queryFile));
    console.log(
      formatTable(
        ['placement', 'workers', 'CPU s / million (runs)', 'worker CPU shares %', 'ids in query log', 'saturated q/s'],
        results.map((r) => [r.placement, r.workers, `${r.cpuSecondsPerMillion} (${r.runsCpuSecondsPerMillion.join('–')})`, r.workerCpuShare.join(' / '), r.workerIdsInQueryLog.join(','), r.saturatedQps]),
      ),
    );
    const chart: BarChart = {
      title: `dnscdn dns --workers: CPU seconds per million answers at ${RATE} q/s`,
      yLabel: 'CPU s per million',
      categories: PLACEMENTS.map((p) => p.name),
      series: [1, 2].map((n) => ({ name: `${n} worker${n > 1 ? 's' : ''}`, values: PLACEMENTS.map((p) => results.find((r) => r.placement === p.name && r.workers === n)?.cpuSecondsPerMillion ?? null) })),
    };
    // The chart's data goes into the JSON too, so that `npm run bench:charts` can draw it again without a re-run.
    const files = await writeResults('dns-workers', { conditions: { ...started, loadAverageAtEnd: conditions().loadAverageAtStart, offeredQps: RATE, seconds: SECONDS, runs: RUNS }, results, chart }, barChartSvg(chart));
    console.log(`wrote ${files.join(', ')}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
