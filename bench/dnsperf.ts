/**
 * Runs dnsperf (pinned to the load generator's core) and reads its summary. dnsperf 2.10 prints only
 * average latency, so percentiles come from a separate run at a fixed offered rate with `-v`, which
 * prints every query's latency: latency at saturation is mostly queueing and says little.
 */
import { LOADGEN_CORE, percentile, pinned, runMeasured } from './proc.js';

export interface DnsperfOptions {
  host: string;
  port: number;
  queryFile: string;
  seconds: number;
  /** Fixed offered queries/s (dnsperf -Q); default: as fast as the server answers. */
  rate?: number;
  /** EDNS options as dnsperf -E "code:hexvalue" (implies EDNS). */
  ednsOption?: string;
  verbose?: boolean;
}

export interface DnsperfResult {
  qps: number;
  sent: number;
  completed: number;
  lostPercent: number;
  avgLatencyMs: number;
  /** Load generator CPU use over the run, in % of one core. */
  loadgenCpuPercent: number;
  /** Per-query latencies in ms, ascending (verbose runs only). */
  latenciesMs: Float64Array;
}

/** Sockets and outstanding queries for throughput runs: enough to keep Knot busy from one dnsperf thread. */
const CLIENTS = 4;
const OUTSTANDING = 200;

function field(text: string, label: string): number {
  const m = new RegExp(`${label}:\\s+([\\d.]+)`).exec(text);
  return m ? Number(m[1]) : NaN;
}

export function parseDnsperf(stdout: string): Omit<DnsperfResult, 'loadgenCpuPercent'> {
  const lines = stdout.split('\n');
  const latencies: number[] = [];
  for (const line of lines) {
    if (!line.startsWith('> ')) continue;
    const seconds = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(seconds)) latencies.push(seconds * 1000);
  }
  return {
    qps: field(stdout, 'Queries per second'),
    sent: field(stdout, 'Queries sent'),
    completed: field(stdout, 'Queries completed'),
    lostPercent: (() => {
      const m = /Queries lost:\s+\d+ \(([\d.]+)%\)/.exec(stdout);
      return m ? Number(m[1]) : NaN;
    })(),
    avgLatencyMs: field(stdout, 'Average Latency \\(s\\)') * 1000,
    latenciesMs: Float64Array.from(latencies).sort(),
  };
}

export async function dnsperf(options: DnsperfOptions): Promise<DnsperfResult> {
  const argv = ['dnsperf', '-s', options.host, '-p', String(options.port), '-d', options.queryFile, '-l', String(options.seconds), '-T', '1', '-t', '2'];
  if (options.rate !== undefined) argv.push('-Q', String(options.rate), '-c', '1');
  else argv.push('-c', String(CLIENTS), '-q', String(OUTSTANDING));
  if (options.ednsOption !== undefined) argv.push('-e', '-E', options.ednsOption);
  if (options.verbose) argv.push('-v');
  const run = await runMeasured(pinned(LOADGEN_CORE, argv));
  if (run.status !== 0) throw new Error(`dnsperf failed (${run.status}): ${run.stderr || run.stdout}`);
  return { ...parseDnsperf(run.stdout), loadgenCpuPercent: (100 * run.cpuSeconds) / run.wallSeconds };
}

export function latencySummary(sorted: Float64Array): { p50: number; p90: number; p99: number; p999: number } {
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { p50: r(percentile(sorted, 50)), p90: r(percentile(sorted, 90)), p99: r(percentile(sorted, 99)), p999: r(percentile(sorted, 99.9)) };
}
