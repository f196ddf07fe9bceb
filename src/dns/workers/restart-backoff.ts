/**
 * When to restart a worker that died. A worker that crashes at once again and again (a bad zone, a bug
 * on a query a client repeats) must not turn into a fork loop that eats the cores the live workers need:
 * each crash soon after the previous one doubles the delay, up to a cap; a worker that stayed up for a
 * while resets the count. systemd's RestartSec/StartLimitBurst and Erlang supervisors' intensity do the
 * same job.
 */
export interface RestartBackoffOptions {
  /** Delay before the first restart (default 100 ms: a crash of one worker is answered at once). */
  initialMs?: number;
  /** Cap on the delay (default 10 s). */
  maxMs?: number;
  /** A worker up this long had a good run: its next crash starts from `initialMs` again (default 30 s). */
  stableMs?: number;
  now?: () => number;
}

export class RestartBackoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;
  private readonly now: () => number;
  /** Crashes in a row, each within `stableMs` of its worker's start. */
  private streak = 0;

  constructor(options: RestartBackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 100;
    this.maxMs = options.maxMs ?? 10_000;
    this.stableMs = options.stableMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** A worker started at `startedAt` (this clock) just died: how long to wait before starting its successor. */
  delayAfterExit(startedAt: number): number {
    if (this.now() - startedAt >= this.stableMs) this.streak = 0;
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** this.streak);
    this.streak = Math.min(this.streak + 1, 30);
    return delay;
  }
}
