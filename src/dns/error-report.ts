/**
 * Logging of internal errors in the query pipeline (any throw: a bug, or data we cannot send). One
 * bad packet type can be sent thousands of times a second, so each chain entry (or 'encode') logs at
 * most one line per interval, carrying how many it held back since the last one; the full count is
 * the metric dnscdn_dns_internal_errors_total{step}.
 */
import type { Logger } from '../log.js';

/** One line per step per 10 s keeps a flood readable and still shows a new failure within seconds. */
export const ERROR_LOG_INTERVAL_MS = 10_000;

export class ErrorReport {
  /** Per step: when it last logged, and how many errors it held back since. Bounded by the number of steps. */
  private readonly lastByStep = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = ERROR_LOG_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  report(step: string, err: unknown, name: string | undefined): void {
    const t = this.now();
    const last = this.lastByStep.get(step);
    if (last && t - last.at < this.intervalMs) {
      last.suppressed++;
      return;
    }
    this.log.error('internal error answering a query; sent SERVFAIL', {
      step,
      name,
      suppressed: last?.suppressed ?? 0,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    this.lastByStep.set(step, { at: t, suppressed: 0 });
  }
}
