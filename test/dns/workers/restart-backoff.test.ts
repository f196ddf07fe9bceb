/** When a dead DNS worker is restarted (src/dns/workers/restart-backoff.ts), with an injected clock. */
import { describe, expect, it } from 'vitest';
import { RestartBackoff } from '../../../src/dns/workers/restart-backoff.js';

describe('RestartBackoff', () => {
  it('doubles the delay for workers that keep dying young, up to the cap: no restart storm', () => {
    const clock = { ms: 0 };
    const backoff = new RestartBackoff({ initialMs: 100, maxMs: 1_000, stableMs: 30_000, now: () => clock.ms });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const startedAt = clock.ms;
      clock.ms += 50; // each successor dies 50 ms after it started
      const delay = backoff.delayAfterExit(startedAt);
      delays.push(delay);
      clock.ms += delay;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('starts from the initial delay again after a worker that stayed up', () => {
    const clock = { ms: 0 };
    const backoff = new RestartBackoff({ initialMs: 100, maxMs: 10_000, stableMs: 30_000, now: () => clock.ms });
    expect(backoff.delayAfterExit(clock.ms)).toBe(100);
    expect(backoff.delayAfterExit(clock.ms)).toBe(200);
    const startedAt = clock.ms;
    clock.ms += 30_000;
    expect(backoff.delayAfterExit(startedAt)).toBe(100);
  });
});
