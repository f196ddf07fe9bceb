/**
 * What a chaos run measured, from its raw samples: per second, the client error rate and latency; per
 * fault, how long until DNS stopped handing out the faulted edge and until clients saw no more errors; the
 * origin's request rate; and whether every edge converged on the journal (purges lost).
 */
import type { RequestSample, ResolutionSample } from './clients.js';
import type { Fault } from './faults.js';

export interface SecondStats {
  second: number;
  requests: number;
  errors: number;
  errorRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
  originRequestsPerSecond: number | null;
}

export interface FaultEffect extends Fault {
  /**
   * Edge faults: ms from the fault until every client network that was being answered the faulted edge got an
   * answer without it (0 when no network was; null when one still had it at the next fault or the end).
   */
  dnsMovedAfterMs: number | null;
  /** The last failed client request within this fault's window, in ms after the fault; 0 when none failed. */
  errorsEndedAfterMs: number;
  failedRequests: number;
}

export interface Convergence {
  journalSeq: number | null;
  /** Per edge: its replica's sequence and whether its pushed objects (path and ETag) match every other edge's. */
  edges: Array<{ name: string; lastSeq: number | null; matches: boolean }>;
  /** Edges that did not end at the journal's sequence with the same pushed keys and ETags: must be 0. */
  purgesLost: number;
}

export interface ChaosReport {
  seed: number;
  durationMs: number;
  requests: number;
  failed: number;
  errorRate: number;
  timeline: SecondStats[];
  faults: FaultEffect[];
  operations: { pushes: number; purges: number; failed: number };
  convergence: Convergence;
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function timeline(requests: readonly RequestSample[], durationMs: number, originRate: ReadonlyMap<number, number>): SecondStats[] {
  const seconds = Math.ceil(durationMs / 1000);
  const buckets = Array.from({ length: seconds }, () => ({ latencies: [] as number[], errors: 0 }));
  for (const r of requests) {
    const b = buckets[Math.floor(r.at / 1000)];
    if (!b) continue;
    b.latencies.push(r.latencyMs);
    if (!r.ok) b.errors++;
  }
  return buckets.map((b, second) => {
    const sorted = [...b.latencies].sort((x, y) => x - y);
    return {
      second,
      requests: sorted.length,
      errors: b.errors,
      errorRate: sorted.length === 0 ? 0 : b.errors / sorted.length,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      originRequestsPerSecond: originRate.get(second) ?? null,
    };
  });
}

/**
 * Each fault's window runs until the next fault (or the end). Within it: the last resolution that still named
 * the faulted edge's addresses, and the last failed request.
 */
export function faultEffects(faults: readonly Fault[], requests: readonly RequestSample[], resolutions: readonly ResolutionSample[], addressesOf: (label: string) => readonly string[], durationMs: number): FaultEffect[] {
  return faults.map((f, i) => {
    const end = faults[i + 1]?.at ?? durationMs;
    const inWindow = <T extends { at: number }>(s: T): boolean => s.at >= f.at && s.at < end;
    // A worker's fault is its role's: `edge london worker 1234` names edge london's addresses.
    const addresses = addressesOf(f.target.replace(/ worker \d+$/, ''));
    const names = (r: ResolutionSample): boolean => r.addresses.some((a) => addresses.includes(a));
    let dnsMovedAfterMs: number | null = null;
    if (addresses.length > 0) {
      // The networks DNS was sending to the faulted edge: their last answer before the fault named it.
      const lastBefore = new Map<string, ResolutionSample>();
      for (const r of resolutions) if (r.at < f.at) lastBefore.set(r.network, r);
      const affected = [...lastBefore.values()].filter(names).map((r) => r.network);
      dnsMovedAfterMs = 0;
      for (const network of affected) {
        const moved = resolutions.find((r) => r.network === network && inWindow(r) && !names(r));
        if (moved === undefined) {
          dnsMovedAfterMs = null;
          break;
        }
        dnsMovedAfterMs = Math.max(dnsMovedAfterMs, moved.at - f.at);
      }
    }
    const failed = requests.filter((r) => inWindow(r) && !r.ok);
    return { ...f, dnsMovedAfterMs, errorsEndedAfterMs: failed.length === 0 ? 0 : Math.max(...failed.map((r) => r.at + r.latencyMs)) - f.at, failedRequests: failed.length };
  });
}

/** The pushed objects each edge holds, as `path etag` lines; the edges converged when every set is the same. */
export function convergence(journalSeq: number | null, edges: ReadonlyArray<{ name: string; lastSeq: number | null; pushed: ReadonlySet<string> | null }>): Convergence {
  const reference = edges.find((e) => e.pushed !== null)?.pushed ?? undefined;
  const same = (a: ReadonlySet<string> | null): boolean => a !== null && reference !== undefined && a.size === reference.size && [...a].every((k) => reference.has(k));
  const out = edges.map((e) => ({ name: e.name, lastSeq: e.lastSeq, matches: same(e.pushed) && journalSeq !== null && e.lastSeq === journalSeq }));
  return { journalSeq, edges: out, purgesLost: out.filter((e) => !e.matches).length };
}

/** The report as text: totals, faults with their effects, convergence. */
export function formatReport(r: ChaosReport): string {
  const lines = [
    `chaos run: seed ${r.seed}, ${Math.round(r.durationMs / 1000)} s, ${r.requests} client requests, ${r.failed} failed (${(100 * r.errorRate).toFixed(2)} %)`,
    `pushes ${r.operations.pushes}, purges ${r.operations.purges}, operations refused or failed ${r.operations.failed}`,
    '',
    'faults (ms after the fault):',
  ];
  for (const f of r.faults) {
    const what = f.kind === 'kill' ? 'SIGKILL' : `SIGSTOP ${f.downtimeMs} ms`;
    const dns = f.dnsMovedAfterMs === null ? 'n/a' : String(f.dnsMovedAfterMs);
    lines.push(`  ${String(Math.round(f.at / 1000)).padStart(4)} s  ${what.padEnd(14)} ${f.target.padEnd(16)} DNS moved after ${dns.padStart(5)}   errors ended after ${String(f.errorsEndedAfterMs).padStart(5)}   failed requests ${f.failedRequests}`);
  }
  if (r.faults.length === 0) lines.push('  none');
  lines.push('', `convergence: journal at seq ${r.convergence.journalSeq ?? 'unknown'}; purges lost ${r.convergence.purgesLost}`);
  for (const e of r.convergence.edges) lines.push(`  ${e.name.padEnd(12)} seq ${String(e.lastSeq ?? 'unknown').padEnd(6)} ${e.matches ? 'same keys and ETags' : 'DIVERGED'}`);
  return `${lines.join('\n')}\n`;
}
