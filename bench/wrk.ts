/**
 * Runs wrk (pinned to the load generator's core) and reads its summary: requests/s, transfer/s and the
 * latency distribution from `--latency` (50/75/90/99 %).
 */
import { writeFileSync } from 'node:fs';
import { LOADGEN_CORE, pinned, runMeasured } from './proc.js';

export interface WrkOptions {
  url: string;
  seconds: number;
  connections: number;
  /** A wrk Lua script file (e.g. one that makes every URL unique). */
  script?: string;
}

export interface WrkResult {
  rps: number;
  mbPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Socket errors and non-2xx/3xx responses. */
  errors: number;
  loadgenCpuPercent: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  switch (unit) {
    case 'us':
      return n / 1000;
    case 'ms':
      return n;
    case 's':
      return n * 1000;
    case 'm':
      return n * 60_000;
    default:
      return NaN;
  }
}

function toMB(value: string, unit: string): number {
  const n = Number(value);
  const scale: Record<string, number> = { B: 1 / 2 ** 20, KB: 1 / 1024, MB: 1, GB: 1024 };
  return n * (scale[unit] ?? NaN);
}

export function parseWrk(stdout: string): Omit<WrkResult, 'loadgenCpuPercent'> {
  const latency = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(stdout);
    return m ? toMs(m[1]!, m[2]!) : NaN;
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(stdout);
  const requests = /(\d+) requests in/.exec(stdout);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  const errors = (socketErrors ? socketErrors.slice(1).reduce((s, v) => s + Number(v), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return {
    rps: rps ? Number(rps[1]) : NaN,
    mbPerSecond: transfer ? toMB(transfer[1]!, transfer[2]!) : NaN,
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    requests: requests ? Number(requests[1]) : NaN,
    errors,
  };
}

export async function wrk(options: WrkOptions): Promise<WrkResult> {
  const argv = ['wrk', '-t', '1', '-c', String(options.connections), '-d', `${options.seconds}s`, '--latency'];
  if (options.script !== undefined) argv.push('-s', options.script);
  argv.push(options.url);
  const run = await runMeasured(pinned(LOADGEN_CORE, argv));
  if (run.status !== 0) throw new Error(`wrk failed (${run.status}): ${run.stderr || run.stdout}`);
  return { ...parseWrk(run.stdout), loadgenCpuPercent: (100 * run.cpuSeconds) / run.wallSeconds };
}

/** A wrk script that asks for `<path>?n=<counter>`, so every request is a different cache key (a MISS). */
export function uniqueUrlScript(file: string, path: string, key = 'n'): string {
  writeFileSync(file, ['local n = 0', 'request = function()', '  n = n + 1', `  return wrk.format("GET", "${path}?${key}=" .. n)`, 'end', ''].join('\n'));
  return file;
}
