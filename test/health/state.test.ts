import { describe, expect, it } from 'vitest';
import { HealthState } from '../../src/health/state.js';

/** Feeds probe results ('+' ok, '-' failed) and returns the status after each. */
function run(state: HealthState, results: string): string {
  return [...results].map((r) => (state.record(r === '+'), state.status === 'up' ? 'U' : 'D')).join('');
}

describe('rise/fall hysteresis', () => {
  it('goes down after `fall` consecutive failures and up after `rise` successes', () => {
    expect(run(new HealthState({ rise: 2, fall: 3 }), '---++')).toBe('UUDDU');
  });

  it('ignores flapping shorter than the thresholds', () => {
    const s = new HealthState({ rise: 2, fall: 3 });
    expect(run(s, '--+--+--+-')).toBe('UUUUUUUUUU');
    expect(run(s, '--')).toBe('UD');
    expect(run(s, '+-+-+-+')).toBe('DDDDDDD');
    // The last '+' above is the first of a new run: one more makes `rise`.
    expect(run(s, '+')).toBe('U');
  });

  it('reports the change only on the probe that causes it', () => {
    const s = new HealthState({ rise: 1, fall: 1 });
    expect(s.record(true)).toBeUndefined();
    expect(s.record(false)).toBe('down');
    expect(s.record(false)).toBeUndefined();
    expect(s.record(true)).toBe('up');
  });

  it('can start down', () => {
    expect(run(new HealthState({ rise: 2, fall: 1 }, 'down'), '++')).toBe('DU');
  });
});
