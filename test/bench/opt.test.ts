import { describe, expect, it } from 'vitest';
import { lruReplay } from '../../bench/store-replay.js';
import { belady, hitRatios, intervalBound, staticBest } from '../../bench/opt.js';
import { TraceBuilder, traceTotals, type Trace } from '../../bench/trace.js';
import { zipfTrace } from '../../bench/zipf.js';

function countTrace(keys: string): Trace {
  const b = new TraceBuilder();
  for (const k of keys) b.add(k, 1);
  return b.build(keys);
}

describe('belady', () => {
  it('keeps the object needed soonest (textbook sequence)', () => {
    // Capacity 2. a b c a b: on c, Belady evicts... nothing useful is lost by bypassing c (never reused):
    // a and b stay, so the second a and b hit.
    expect(belady(countTrace('abcab'), 2).hits).toBe(2);
    // a b c b a c, capacity 2: misses a b c (evict a: next use 4 is furthest) -> b hit, a miss (evict b, never
    // used again... c at 5 is sooner) -> c hit. 2 hits; LRU gets 1 (only b).
    expect(belady(countTrace('abcbac'), 2).hits).toBe(2);
    expect(lruReplay(countTrace('abcbac'), 2).hits).toBe(1);
  });

  it('never admits what does not fit or is never asked for again', () => {
    const b = new TraceBuilder();
    b.add('big', 10);
    b.add('big', 10);
    b.add('once', 1);
    const counts = belady(b.build('t'), 5);
    expect(counts).toEqual({ requests: 3, hits: 0, bytes: 21, hitBytes: 0 });
  });

  it('counts byte hits with sizes', () => {
    const b = new TraceBuilder();
    for (const [k, s] of [['a', 3], ['b', 5], ['a', 3], ['b', 5]] as const) b.add(k, s);
    const r = hitRatios(belady(b.build('t'), 8));
    expect(r).toEqual({ ohr: 0.5, bhr: 0.5 });
    // With room for only one of them, Belady keeps whichever comes back first: a (3 of 16 bytes).
    expect(hitRatios(belady(b.build('t'), 5))).toEqual({ ohr: 0.25, bhr: 3 / 16 });
  });
});

describe('references against the edge store LRU', () => {
  const traces = [
    zipfTrace('count', { objects: 2000, requests: 20_000, alpha: 0.8, seed: 5, fixedSize: 1 }),
    zipfTrace('sized-0.6', { objects: 2000, requests: 20_000, alpha: 0.6, seed: 6 }),
    zipfTrace('sized-1.0', { objects: 2000, requests: 20_000, alpha: 1.0, seed: 7 }),
  ];
  for (const trace of traces) {
    it(`${trace.name}: LRU <= OPT <= bound at every size`, () => {
      const unique = traceTotals(trace).uniqueBytes;
      const capacities = [0.01, 0.05, 0.1, 0.25].map((f) => Math.floor(f * unique));
      const bounds = intervalBound(trace, capacities);
      capacities.forEach((capacity, i) => {
        const lru = hitRatios(lruReplay(trace, capacity));
        const opt = hitRatios(belady(trace, capacity));
        const bound = bounds[i]!;
        expect(lru.ohr).toBeGreaterThan(0);
        expect(opt.ohr).toBeGreaterThanOrEqual(lru.ohr);
        expect(bound.ohr).toBeGreaterThanOrEqual(opt.ohr);
        expect(bound.bhr).toBeGreaterThanOrEqual(opt.bhr);
        expect(bound.bhr).toBeGreaterThanOrEqual(lru.bhr);
        if (trace.countOnly) expect(opt.bhr).toBe(opt.ohr);
      });
    });
  }

  it('the bound is exact when everything fits', () => {
    const trace = countTrace('abcabcabc');
    const [all] = intervalBound(trace, [3]);
    // Only the first request of each object misses: 6 of 9.
    expect(all!.ohr).toBeCloseTo(6 / 9, 10);
    expect(belady(trace, 3).hits).toBe(6);
  });
});

describe('staticBest', () => {
  it('keeps the objects with the most requests per byte for the whole trace; each hits on all but its first request', () => {
    // a x4, b x3, c x2 (count only), capacity 2: a and b are kept; 3 + 2 hits.
    expect(staticBest(countTrace('abcabcaba'), 2)).toEqual({ requests: 9, hits: 5, bytes: 9, hitBytes: 5 });
  });

  it('orders by requests per byte and skips what no longer fits', () => {
    const b = new TraceBuilder();
    // big: 6 requests of 10 bytes (0.6 per byte); s: 2 requests of 1 byte (2 per byte); capacity 10.
    for (let i = 0; i < 6; i++) b.add('big', 10);
    b.add('s', 1);
    b.add('s', 1);
    expect(staticBest(b.build('t'), 10)).toEqual({ requests: 8, hits: 1, bytes: 62, hitBytes: 1 });
  });

  it('cannot beat Belady on a count-only trace, since Belady is optimal there', () => {
    const trace = zipfTrace('z', { objects: 500, requests: 20_000, alpha: 0.9, seed: 5, fixedSize: 1 });
    for (const capacity of [10, 50, 200]) expect(staticBest(trace, capacity).hits).toBeLessThanOrEqual(belady(trace, capacity).hits);
  });
});
