/**
 * One case's result in bench:edge (plain and HTTPS), how its runs are measured (CaseRuns: one run per server
 * process, with the server's CPU) and how they become it: the median run and its spread.
 */
import { cpuSeconds, median } from './proc.js';

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

/** The measured runs of every case of one server, over its processes (one run of each case per process). */
export class CaseRuns {
  private readonly cases = new Map<string, { runs: RunSample[]; cpu: number[] }>();

  /**
   * One run of case `name` on the server process `pid`: `warmupSeconds` of the same load first (not counted),
   * then `seconds` measured, with the server's CPU over it in % of one core.
   */
  async measure(name: string, pid: number, runFor: (seconds: number) => Promise<RunSample>, seconds: number, warmupSeconds: number): Promise<void> {
    if (warmupSeconds > 0) await runFor(warmupSeconds);
    const cpu0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    const run = await runFor(seconds);
    const cpu = (100 * (cpuSeconds(pid) - cpu0)) / (Number(process.hrtime.bigint() - t0) / 1e9);
    const entry = this.cases.get(name) ?? { runs: [], cpu: [] };
    entry.runs.push(run);
    entry.cpu.push(cpu);
    this.cases.set(name, entry);
  }

  /** Every case's result for `server`, in the order the cases were first measured. */
  results(server: string): EdgeCaseResult[] {
    return [...this.cases].map(([name, c]) => edgeCaseResult(name, server, c.runs, c.cpu));
  }
}
