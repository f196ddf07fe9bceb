import { describe, expect, it } from 'vitest';
import { curveChart, dnsKnee, edgeKnee, type Curve, type CurvePoint } from '../../bench/curve.js';

const point = (load: number, throughput: number, p99Ms: number): CurvePoint => ({ load, throughput, p50Ms: p99Ms / 2, p99Ms });

describe('bench:curve knees', () => {
  it('DNS: the last offered rate still answered in full with a p99 near its low-load value', () => {
    expect(dnsKnee([point(1000, 1000, 0.2), point(10_000, 9990, 0.3), point(30_000, 29_000, 0.5), point(50_000, 38_000, 40)])).toBe(30_000);
    // p99 growing past 4x the low-load value is a knee even while every query is answered.
    expect(dnsKnee([point(1000, 1000, 0.2), point(10_000, 10_000, 0.3), point(20_000, 20_000, 1.2)])).toBe(10_000);
    expect(dnsKnee([point(1000, 1000, 0.2), point(10_000, 10_000, 0.25)])).toBeNull();
  });

  it('edge: the last client count that still added 5 % or more throughput', () => {
    expect(edgeKnee([point(1, 5000, 0.2), point(2, 9000, 0.2), point(4, 15_000, 0.3), point(8, 15_200, 0.6)])).toBe(4);
    expect(edgeKnee([point(1, 5000, 0.2), point(2, 9000, 0.2)])).toBeNull();
  });

  it('charts one protocol with both panels and every server in the legend', () => {
    const curves: Curve[] = [
      { protocol: 'edge', server: 'dnscdn', workers: 1, points: [point(1, 5000, 0.2), point(2, 9000, 0.3)], knee: null },
      { protocol: 'edge', server: 'nginx', workers: 1, points: [point(1, 7000, 0.1), point(2, 12_000, 0.2)], knee: null },
      { protocol: 'dns', server: 'knot', workers: 1, points: [point(1000, 1000, 0.1)], knee: null },
    ];
    const svg = curveChart('edge', curves);
    expect(svg).toContain('dnscdn (1 worker), no knee');
    expect(svg).toContain('nginx, no knee');
    expect(svg).toContain('p99 response time');
    expect(svg).not.toContain('knot');
  });
});
