/** One case's result in bench:edge (plain and HTTPS), and how its runs become it: the median run and its spread. */
import { median } from './proc.js';

export interface EdgeCaseResult {
  case: string;
  server: string;
  rps: number;
  runsRps: number[];
  mbPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  serverCpuPercent: number;
  loadgenCpuPercent: number;
}

/** What one measured run of a load generator reports. */
export interface RunSample {
  rps: number;
  mbPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  loadgenCpuPercent: number;
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The median run's figures, every run's rate, and the medians of the server's CPU (`cpu`, per run) and the client's. */
export function edgeCaseResult(name: string, server: string, runs: readonly RunSample[], cpu: readonly number[]): EdgeCaseResult {
  const rps = runs.map((r) => r.rps);
  const mid = runs.find((r) => r.rps === median(rps)) ?? runs[0]!;
  return {
    case: name,
    server,
    rps: Math.round(median(rps)),
    runsRps: rps.map((r) => Math.round(r)),
    mbPerSecond: round(mid.mbPerSecond),
    p50Ms: round(mid.p50Ms, 3),
    p99Ms: round(mid.p99Ms, 3),
    errors: mid.errors,
    serverCpuPercent: round(median(cpu)),
    loadgenCpuPercent: round(median(runs.map((r) => r.loadgenCpuPercent))),
  };
}
