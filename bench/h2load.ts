/**
 * Runs h2load (nghttp2-client, pinned to the load generator's core) for a fixed duration and reads its summary:
 * requests/s, MB/s, the mean request time, and failed requests.
 */
import { LOADGEN_CORE, pinned, runMeasured } from './proc.js';

export interface H2loadOptions {
  url: string;
  seconds: number;
  connections: number;
  /** Concurrent streams per connection. */
  streams: number;
}

export interface H2loadResult {
  rps: number;
  mbPerSecond: number;
  meanMs: number;
  errors: number;
  loadgenCpuPercent: number;
}

export function parseH2load(stdout: string): Omit<H2loadResult, 'loadgenCpuPercent'> {
  const finished = /finished in [\d.]+\w+, ([\d.]+) req\/s, ([\d.]+)(B|KB|MB|GB)\/s/.exec(stdout);
  const scale: Record<string, number> = { B: 1 / 2 ** 20, KB: 1 / 1024, MB: 1, GB: 1024 };
  const requests = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
  const mean = /time for request:\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)/.exec(stdout);
  const toMs = (v: string, u: string): number => Number(v) * (u === 'us' ? 0.001 : u === 's' ? 1000 : 1);
  return {
    rps: finished ? Number(finished[1]) : NaN,
    mbPerSecond: finished ? Number(finished[2]) * (scale[finished[3]!] ?? NaN) : NaN,
    meanMs: mean ? toMs(mean[1]!, mean[2]!) : NaN,
    errors: requests ? Number(requests[1]) + Number(requests[2]) : NaN,
  };
}

export async function h2load(o: H2loadOptions): Promise<H2loadResult> {
  const argv = ['h2load', '-t', '1', '-c', String(o.connections), '-m', String(o.streams), '-D', String(o.seconds), '--warm-up-time', '1', o.url];
  const run = await runMeasured(pinned(LOADGEN_CORE, argv));
  if (run.status !== 0) throw new Error(`h2load failed (${run.status}): ${run.stderr || run.stdout}`);
  return { ...parseH2load(run.stdout), loadgenCpuPercent: (100 * run.cpuSeconds) / run.wallSeconds };
}
