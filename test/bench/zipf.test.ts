import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/random.js';
import { traceTotals } from '../../bench/trace.js';
import { boundedPareto, PARETO_SIZES, zipfSampler, zipfTrace } from '../../bench/zipf.js';

describe('seededRandom', () => {
  it('repeats the same sequence for the same seed and differs for another', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const seqA = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(seqA);
    expect(Array.from({ length: 5 }, c)).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('zipfSampler', () => {
  it('draws rank r with probability proportional to 1 / (r+1)^alpha', () => {
    const n = 50;
    const alpha = 1;
    const draws = 200_000;
    const sample = zipfSampler(n, alpha, seededRandom(7));
    const counts = new Array<number>(n).fill(0);
    for (let i = 0; i < draws; i++) counts[sample()]!++;
    let h = 0;
    for (let r = 1; r <= n; r++) h += 1 / r ** alpha;
    for (const r of [0, 1, 4, 9]) {
      const expected = draws / ((r + 1) ** alpha * h);
      expect(Math.abs(counts[r]! - expected) / expected).toBeLessThan(0.05);
    }
    expect(counts.every((c) => c > 0)).toBe(true);
  });

  it('is uniform at alpha 0', () => {
    const sample = zipfSampler(4, 0, seededRandom(1));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[sample()]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });
});

describe('boundedPareto', () => {
  it('stays within its bounds with a heavy tail and the documented median', () => {
    const random = seededRandom(3);
    const sizes = Array.from({ length: 100_000 }, () => boundedPareto(random, PARETO_SIZES.shape, PARETO_SIZES.min, PARETO_SIZES.max)).sort((a, b) => a - b);
    expect(sizes[0]).toBeGreaterThanOrEqual(PARETO_SIZES.min);
    expect(sizes.at(-1)).toBeLessThanOrEqual(PARETO_SIZES.max);
    const median = sizes[50_000]!;
    expect(median).toBeGreaterThan(1700);
    expect(median).toBeLessThan(1950);
    const mean = sizes.reduce((s, x) => s + x, 0) / sizes.length;
    expect(mean).toBeGreaterThan(4000);
    expect(mean).toBeLessThan(5200);
    // Heavy tail: the largest 1 % of objects hold a large share of the bytes.
    const top = sizes.slice(99_000).reduce((s, x) => s + x, 0);
    expect(top / (mean * sizes.length)).toBeGreaterThan(0.25);
  });
});

describe('zipfTrace', () => {
  it('is reproducible and sizes each object once', () => {
    const opts = { objects: 1000, requests: 5000, alpha: 0.8, seed: 9 };
    const a = zipfTrace('a', opts);
    const b = zipfTrace('b', opts);
    expect(Array.from(a.requests)).toEqual(Array.from(b.requests));
    expect(Array.from(a.sizes)).toEqual(Array.from(b.sizes));
    expect(a.requests.length).toBe(5000);
    expect(a.countOnly).toBe(false);
    const totals = traceTotals(a);
    expect(totals.objects).toBeLessThanOrEqual(1000);
    expect(totals.objects).toBeGreaterThan(500);
  });

  it('makes a count-only trace with size 1', () => {
    const t = zipfTrace('c', { objects: 100, requests: 1000, alpha: 1, seed: 1, fixedSize: 1 });
    expect(t.countOnly).toBe(true);
    const totals = traceTotals(t);
    expect(totals.uniqueBytes).toBe(totals.objects);
  });
});
