import { describe, expect, it } from 'vitest';
import { belady } from '../../bench/opt.js';
import { prototypes, simulate } from '../../bench/policy-lab.js';
import { lru, sieve } from '../../bench/lab/recency.js';
import type { SimContext } from '../../bench/lab/sim-policy.js';
import { windowOracle } from '../../bench/lab/window-oracle.js';
import { storeReplay } from '../../bench/store-replay.js';
import { nextUseIndex, TraceBuilder, traceTotals, type Trace } from '../../bench/trace.js';
import { zipfTrace } from '../../bench/zipf.js';

function context(trace: Trace, capacity: number): SimContext {
  const totals = traceTotals(trace);
  return { capacity, maxObject: Math.max(1, Math.floor(capacity / 8)), ids: trace.sizes.length, meanSize: totals.uniqueBytes / totals.objects, next: nextUseIndex(trace), requests: trace.requests, sizes: trace.sizes };
}

function countTrace(keys: string): Trace {
  const b = new TraceBuilder();
  for (const k of keys) b.add(k, 1);
  return b.build(keys);
}

describe('policy lab', () => {
  const counted = zipfTrace('count', { objects: 1000, requests: 10_000, alpha: 0.8, seed: 5, fixedSize: 1 });
  const sized = zipfTrace('sized', { objects: 1000, requests: 10_000, alpha: 0.8, seed: 6 });

  it("its LRU is the edge store's LRU, hit for hit, with and without sizes", () => {
    for (const trace of [counted, sized]) {
      const capacity = Math.floor(0.05 * traceTotals(trace).uniqueBytes);
      expect(simulate(trace, lru, context(trace, capacity))).toEqual(storeReplay(trace, capacity, 'lru'));
    }
  });

  it('the window oracle spans LRU (no lookahead) to Belady (the whole trace), rising with the window', () => {
    const capacity = 50;
    const ctx = context(counted, capacity);
    const lruHits = simulate(counted, lru, ctx).hits;
    const optHits = belady(counted, capacity).hits;
    expect(simulate(counted, windowOracle(0), ctx).hits).toBe(lruHits);
    expect(simulate(counted, windowOracle(counted.requests.length), ctx).hits).toBe(optHits);
    const mid = simulate(counted, windowOracle(200), ctx).hits;
    expect(mid).toBeGreaterThan(lruHits);
    expect(mid).toBeLessThan(optHits);
  });

  it('SIEVE keeps the objects it saw hit and lets the hand pass them, unlike LRU (hand-built)', () => {
    // Capacity 2: a b b a, then c: the hand at a (visited) clears it, passes b (visited, cleared), wraps to a and
    // evicts it; b stays and hits. LRU evicts b instead (a was used last), so b misses.
    const trace = countTrace('abbacb');
    expect(simulate(trace, sieve, context(trace, 2)).hits).toBe(3);
    expect(simulate(trace, lru, context(trace, 2)).hits).toBe(2);
  });

  it('every prototype stays within its capacity and scores between nothing and the bound of the trace', () => {
    for (const trace of [counted, sized]) {
      const capacity = Math.floor(0.05 * traceTotals(trace).uniqueBytes);
      const opt = belady(trace, capacity).hits;
      for (const [name, factory] of prototypes()) {
        // simulate throws if a policy ever holds more than its capacity.
        const hits = simulate(trace, factory, context(trace, capacity)).hits;
        expect(hits, name).toBeGreaterThan(0);
        if (trace.countOnly) expect(hits, name).toBeLessThanOrEqual(opt);
      }
    }
  });
});
