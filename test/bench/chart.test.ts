import { describe, expect, it } from 'vitest';
import { barChartSvg, compactNumber, escapeXml, lineChartSvg, niceCeiling } from '../../bench/chart.js';

describe('chart helpers', () => {
  it('rounds axes up to 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceCeiling(0.83)).toBe(1);
    expect(niceCeiling(1.2)).toBe(2);
    expect(niceCeiling(230_000)).toBe(250_000);
    expect(niceCeiling(4100)).toBe(5000);
    expect(niceCeiling(0)).toBe(1);
  });

  it('writes compact numbers and escapes markup', () => {
    expect(compactNumber(123_456)).toBe('123k');
    expect(compactNumber(2_500_000)).toBe('2.5M');
    expect(compactNumber(0.25)).toBe('0.25');
    expect(escapeXml('a<b & "c"')).toBe('a&#60;b &#38; &#34;c&#34;');
  });
});

describe('lineChartSvg', () => {
  it('draws one polyline per series with shared colours and a legend', () => {
    const svg = lineChartSvg(
      'Hit <ratio>',
      ['t1', 't2'].map((title) => ({
        title,
        xLabel: 'cache %',
        yLabel: 'ohr',
        xTicks: [1, 5, 10, 25],
        xScale: 'log' as const,
        yDomain: [0, 1] as const,
        series: [
          { name: 'lru', points: [[1, 0.1], [5, 0.3], [10, 0.4], [25, 0.6]] as const },
          { name: 'opt', style: 'dashed' as const, points: [[1, 0.2], [5, 0.5], [10, 0.6], [25, 0.8]] as const },
        ],
      })),
      2,
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('Hit &#60;ratio&#62;');
    expect(svg.match(/<polyline/g)).toHaveLength(4);
    expect(svg.match(/stroke-dasharray="7 4"/g)).toHaveLength(3); // two panels + the legend
    const lruColours = [...svg.matchAll(/<polyline fill="none" stroke="(#[0-9a-f]+)" stroke-width="2" points/g)].map((m) => m[1]);
    expect(new Set(lruColours).size).toBe(1);
    // Log x axis: 1 % at the left edge of the first panel's plot, 25 % at its right edge.
    const first = /points="([^"]+)"/.exec(svg)![1]!.split(' ');
    expect(first[0]!.split(',')[0]).toBe('56.0');
    expect(first[3]!.split(',')[0]).toBe('348.0');
  });
});

describe('barChartSvg', () => {
  it('draws a bar per value and marks missing ones n/a', () => {
    const svg = barChartSvg({
      title: 'qps',
      yLabel: 'queries/s',
      categories: ['mix', 'steering'],
      series: [
        { name: 'dnscdn', values: [100_000, 80_000] },
        { name: 'knot', values: [300_000, null] },
      ],
    });
    expect(svg.match(/<rect x=/g)).toHaveLength(3);
    expect(svg).toContain('>n/a<');
    expect(svg).toContain('>300k<');
  });

  it('puts values 100x apart on a log axis, so the small bar stays visible; closer values stay linear', () => {
    const heights = (svg: string): number[] => [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="#/g)].map((m) => Number(m[1]));
    const wide = barChartSvg({ title: 'push', yLabel: 'ms', categories: ['p50', 'p99', 'catch-up'], series: [{ name: 'dnscdn', values: [28, 130, 3000] }], valueUnit: 'ms' });
    expect(wide).toContain('ms (log scale)');
    expect(wide).toContain('>28 ms<');
    const [p50, , catchUp] = heights(wide);
    expect(p50! / catchUp!).toBeGreaterThan(0.1); // linear: 28/3000 < 0.01, a bar under 3 px
    const close = barChartSvg({ title: 'qps', yLabel: 'q/s', categories: ['a', 'b'], series: [{ name: 'x', values: [13_000, 257_000] }] });
    expect(close).not.toContain('log scale');
  });

  it('spreads the groups over the whole canvas and wraps a title too long for it', () => {
    const svg = barChartSvg({ title: 'word '.repeat(60).trim(), yLabel: 'ms', categories: ['one'], series: [{ name: 'a', values: [1] }] });
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    expect(width).toBeLessThanOrEqual(1000);
    expect(svg.match(/<tspan[^>]*>word/g)!.length).toBeGreaterThan(1);
    const axis = [...svg.matchAll(/<line x1="56" x2="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(Math.max(...axis)).toBe(width - 12);
  });
});
