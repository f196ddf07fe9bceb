import { describe, expect, it } from 'vitest';
import { clusterRows } from '../../bench/cluster-replay.js';
import { zipfTrace } from '../../bench/zipf.js';

describe('bench:hit-ratio cluster rows', () => {
  it('5 sharded edges of C score near one cache of 5C; 5 independent edges of C score far below', () => {
    const trace = zipfTrace('zipf-test', { objects: 5000, requests: 60_000, alpha: 0.8, seed: 7 });
    const rows = clusterRows(trace, 5, [0.02]);
    const ohr = (layout: string): number => rows.find((r) => r.layout === layout)!.ohr;
    expect(rows.map((r) => r.layout)).toEqual(['sharded', 'independent', 'single']);
    expect(Math.abs(ohr('sharded') - ohr('single'))).toBeLessThan(0.03);
    expect(ohr('sharded') - ohr('independent')).toBeGreaterThan(0.05);
  });
});
