import { describe, expect, it } from 'vitest';
import { cdnMixTrace } from '../../bench/cdn-mix.js';
import { gapShare, replayTrace } from '../../bench/hit-ratio.js';
import { traceTotals } from '../../bench/trace.js';
import { zipfTrace } from '../../bench/zipf.js';

describe('gapShare', () => {
  it('is (policy - lru) / (opt - lru), undefined without a gap', () => {
    expect(gapShare(0.7, 0.5, 0.9)).toBeCloseTo(0.5);
    expect(gapShare(0.4, 0.5, 0.9)).toBeCloseTo(-0.25);
    expect(gapShare(0.5, 0.5, 0.5)).toBeUndefined();
  });
});

describe('cdnMixTrace', () => {
  const trace = cdnMixTrace('mix', { objects: 20_000, requests: 200_000 });

  it('is the same for the same seed', () => {
    const again = cdnMixTrace('mix', { objects: 20_000, requests: 200_000 });
    expect(again.requests).toEqual(trace.requests);
    expect(again.sizes).toEqual(trace.sizes);
  });

  it('mixes many small objects with few large ones, rarer among the popular', () => {
    const large = (size: number): boolean => size >= 1024 * 1024;
    const counts = new Uint32Array(trace.sizes.length);
    for (const id of trace.requests) counts[id]!++;
    const requested = [...counts.keys()].filter((id) => counts[id]! > 0).sort((a, b) => counts[b]! - counts[a]!);
    const share = (ids: number[]): number => ids.filter((id) => large(trace.sizes[id]!)).length / ids.length;
    const overall = share(requested);
    expect(overall).toBeGreaterThan(0.03);
    expect(overall).toBeLessThan(0.07);
    expect(share(requested.slice(0, 500))).toBeLessThan(share(requested.slice(-5000)));
    const totals = traceTotals(trace);
    const largeBytes = requested.filter((id) => large(trace.sizes[id]!)).reduce((sum, id) => sum + trace.sizes[id]!, 0);
    expect(largeBytes / totals.uniqueBytes).toBeGreaterThan(0.9); // most bytes are large objects
  });
});

describe('replayTrace', () => {
  it('gives every policy and reference at every size, with the bound above all of them', () => {
    const trace = zipfTrace('z', { objects: 2000, requests: 40_000, alpha: 0.8, seed: 3 });
    const rows = replayTrace(trace, [0.05, 0.2]);
    expect(rows.map((r) => `${r.cacheFraction} ${r.policy}`)).toEqual(
      [0.05, 0.2].flatMap((f) => ['lru', 'w-tinylfu', 's3-fifo', 'static', 'opt', 'opt-bound'].map((p) => `${f} ${p}`)),
    );
    for (const f of [0.05, 0.2]) {
      const at = rows.filter((r) => r.cacheFraction === f);
      const bound = at.find((r) => r.policy === 'opt-bound')!;
      for (const r of at) expect(r.ohr).toBeLessThanOrEqual(bound.ohr);
      // On a Zipf trace with sizes the default policy beats LRU on object hits.
      expect(at.find((r) => r.policy === 'w-tinylfu')!.ohr).toBeGreaterThan(at.find((r) => r.policy === 'lru')!.ohr);
    }
  });
});
