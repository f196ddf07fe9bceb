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
  /** The failed requests by reason: `status 502`, `ECONNREFUSED`, `TIMEOUT`, `no-answer`. */
  failedBy: Record<string, number>;
  /** Client DNS lookups in this fault's window that no name server answered. */
  dnsFailures: number;
  /** Questions in this fault's window that a name server left unanswered (the client then asked the next one). */
  dnsTimeouts: number;
}

/** What kind of process a fault hit, from its label: `edge london worker 1234` is an edge worker. */
export type TargetClass = 'edge' | 'edge worker' | 'dns' | 'dns worker' | 'origin' | 'origin replica' | 'other';

/** The faults of one kind on one kind of process, summed up (medians and maxima over the faults that had a value). */
export interface FaultKindSummary {
  target: TargetClass;
  kind: Fault['kind'];
  faults: number;
  failedRequests: number;
  failedBy: Record<string, number>;
  dnsFailures: number;
  dnsTimeouts: number;
  errorsEndedAfterMs: Spread;
  /**
   * Edge faults only: over those where DNS moved (null median and max when none did); `notMoved` counts those
   * where some network still had the edge at the next fault or the end.
   */
  dnsMovedAfterMs: (Spread & { notMoved: number }) | null;
}

export interface Spread {
  median: number | null;
  max: number | null;
}

/** The clients' retries after a refused, reset or timed-out first attempt. */
export interface RetryStats {
  /** Retried on another address of a fresh answer, and how many of those succeeded. */
  otherAddress: number;
  otherAddressOk: number;
  /** Not retried: the fresh answer named only the address that failed. */
  noOtherAnswer: number;
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
  /** The processes that could be faulted when the run began, by label (workers carry their pid). */
  targets: string[];
  durationMs: number;
  requests: number;
  failed: number;
  /** Failed requests by reason over the whole run. */
  failedBy: Record<string, number>;
  errorRate: number;
  timeline: SecondStats[];
  faults: FaultEffect[];
  byKind: FaultKindSummary[];
  retries: RetryStats;
  /** Acknowledged pushes and purges; the others by reason (`status 503`, `ECONNREFUSED`). */
  operations: { pushes: number; purges: number; failed: number; failedBy: Record<string, number> };
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
    const lookups = resolutions.filter(inWindow);
    const dnsFailures = lookups.filter((r) => r.addresses.length === 0).length;
    const dnsTimeouts = lookups.reduce((n, r) => n + r.unanswered, 0);
    return {
      ...f,
      dnsMovedAfterMs,
      errorsEndedAfterMs: failed.length === 0 ? 0 : Math.max(...failed.map((r) => r.at + r.latencyMs)) - f.at,
      failedRequests: failed.length,
      failedBy: countBy(failed.map((r) => r.error ?? 'unknown')),
      dnsFailures,
      dnsTimeouts,
    };
  });
}

export function countBy(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): Record<string, number> {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
  return into;
}

export function targetClass(label: string): TargetClass {
  if (/^edge \S+ worker \d+$/.test(label)) return 'edge worker';
  if (/^dns( \S+)? worker \d+$/.test(label)) return 'dns worker';
  if (/^edge \S+$/.test(label)) return 'edge';
  if (/^dns( \S+)?$/.test(label)) return 'dns';
  if (/^origin \S+:\d+$/.test(label)) return 'origin replica';
  if (label === 'origin') return 'origin';
  return 'other';
}

/** The faults grouped by what they hit and how (kill or freeze), in the order each group first occurred. */
export function summariseByKind(effects: readonly FaultEffect[]): FaultKindSummary[] {
  const groups = new Map<string, FaultEffect[]>();
  for (const f of effects) {
    const key = `${targetClass(f.target)}\n${f.kind}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups.values()].map((fs) => {
    const moved = fs.filter((f) => f.dnsMovedAfterMs !== null).map((f) => f.dnsMovedAfterMs!);
    const edgeLike = fs.some((f) => ['edge', 'edge worker'].includes(targetClass(f.target)));
    return {
      target: targetClass(fs[0]!.target),
      kind: fs[0]!.kind,
      faults: fs.length,
      failedRequests: fs.reduce((n, f) => n + f.failedRequests, 0),
      failedBy: fs.reduce<Record<string, number>>((sum, f) => addCounts(sum, f.failedBy), {}),
      dnsFailures: fs.reduce((n, f) => n + f.dnsFailures, 0),
      dnsTimeouts: fs.reduce((n, f) => n + f.dnsTimeouts, 0),
      errorsEndedAfterMs: spread(fs.map((f) => f.errorsEndedAfterMs)),
      dnsMovedAfterMs: edgeLike ? { ...spread(moved), notMoved: fs.length - moved.length } : null,
    };
  });
}

/** The lower median (of 2 values, the smaller: percentile() would give the larger, the same as the max) and the max. */
function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)] ?? null, max: sorted.at(-1) ?? null };
}

export function retryStats(requests: readonly RequestSample[]): RetryStats {
  const out: RetryStats = { otherAddress: 0, otherAddressOk: 0, noOtherAnswer: 0 };
  for (const r of requests) {
    if (r.retry === 'other-address') {
      out.otherAddress++;
      if (r.ok) out.otherAddressOk++;
    } else if (r.retry === 'no-other-answer') out.noOtherAnswer++;
  }
  return out;
}

/** The pushed objects each edge holds, as `path etag` lines; the edges converged when every set is the same. */
export function convergence(journalSeq: number | null, edges: ReadonlyArray<{ name: string; lastSeq: number | null; pushed: ReadonlySet<string> | null }>): Convergence {
  const reference = edges.find((e) => e.pushed !== null)?.pushed ?? undefined;
  const same = (a: ReadonlySet<string> | null): boolean => a !== null && reference !== undefined && a.size === reference.size && [...a].every((k) => reference.has(k));
  const out = edges.map((e) => ({ name: e.name, lastSeq: e.lastSeq, matches: same(e.pushed) && journalSeq !== null && e.lastSeq === journalSeq }));
  return { journalSeq, edges: out, purgesLost: out.filter((e) => !e.matches).length };
}

function formatSpread(s: Spread): string {
  return s.median === null ? 'n/a' : `${s.median} / ${s.max}`;
}

function formatCounts(counts: Readonly<Record<string, number>>): string {
  const parts = Object.entries(counts).map(([reason, n]) => `${reason}: ${n}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** The report as text: totals, faults with their effects, convergence. */
export function formatReport(r: ChaosReport): string {
  const lines = [
    `chaos run: seed ${r.seed}, ${Math.round(r.durationMs / 1000)} s, ${r.requests} client requests, ${r.failed} failed (${(100 * r.errorRate).toFixed(2)} %)${formatCounts(r.failedBy)}`,
    `fault targets (${r.targets.length}): ${r.targets.join(', ')}`,
    `pushes ${r.operations.pushes}, purges ${r.operations.purges}, operations refused or failed ${r.operations.failed}${formatCounts(r.operations.failedBy)}`,
    `retries after a refused, reset or timed-out request: ${r.retries.otherAddress} on another address (${r.retries.otherAddressOk} succeeded), ${r.retries.noOtherAnswer} not retried (DNS named only the failed edge)`,
    '',
    'faults (ms after the fault):',
  ];
  for (const f of r.faults) {
    const what = f.kind === 'kill' ? 'SIGKILL' : `SIGSTOP ${f.downtimeMs} ms`;
    const dns = f.dnsMovedAfterMs === null ? 'n/a' : String(f.dnsMovedAfterMs);
    lines.push(`  ${String(Math.round(f.at / 1000)).padStart(4)} s  ${what.padEnd(14)} ${f.target.padEnd(20)} DNS moved after ${dns.padStart(5)}   errors ended after ${String(f.errorsEndedAfterMs).padStart(5)}   failed requests ${f.failedRequests}${formatCounts(f.failedBy)}   DNS timeouts ${f.dnsTimeouts}, lookups failed ${f.dnsFailures}`);
  }
  if (r.faults.length === 0) lines.push('  none');
  if (r.byKind.length > 0) lines.push('', 'by kind (ms after the fault, median / max):');
  for (const k of r.byKind) {
    const what = `${k.kind === 'kill' ? 'SIGKILL' : 'SIGSTOP'} ${k.target}`;
    const dns = k.dnsMovedAfterMs === null ? '' : `   DNS moved after ${formatSpread(k.dnsMovedAfterMs)}${k.dnsMovedAfterMs.notMoved > 0 ? ` (${k.dnsMovedAfterMs.notMoved} not moved by the next fault or the end)` : ''}`;
    lines.push(`  ${what.padEnd(24)} ${String(k.faults).padStart(3)} faults   failed requests ${String(k.failedRequests).padStart(4)}${formatCounts(k.failedBy)}   errors ended after ${formatSpread(k.errorsEndedAfterMs)}   DNS timeouts ${k.dnsTimeouts}, lookups failed ${k.dnsFailures}${dns}`);
  }
  lines.push('', `convergence: journal at seq ${r.convergence.journalSeq ?? 'unknown'}; purges lost ${r.convergence.purgesLost}`);
  for (const e of r.convergence.edges) lines.push(`  ${e.name.padEnd(12)} seq ${String(e.lastSeq ?? 'unknown').padEnd(6)} ${e.matches ? 'same keys and ETags' : 'DIVERGED'}`);
  return `${lines.join('\n')}\n`;
}
