import { describe, expect, it } from 'vitest';
import { HashRing } from '../../../src/edge/ring/hash-ring.js';

const KEYS = Array.from({ length: 20_000 }, (_, i) => `www.cdn.test/img/${i}.png?v=${i % 7}`);
const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `edge${i}`);

function owners(ring: HashRing): string[] {
  return KEYS.map((k) => ring.owner(k)!);
}

describe('consistent-hash ring', () => {
  it('gives every member about 1/N of the keys (160 points each)', () => {
    const ring = new HashRing(names(5));
    const counts = new Map<string, number>();
    for (const o of owners(ring)) counts.set(o, (counts.get(o) ?? 0) + 1);
    expect(counts.size).toBe(5);
    for (const c of counts.values()) expect(Math.abs(c / KEYS.length - 0.2)).toBeLessThan(0.05);
  });

  it('moves about 1/N of the keys when a member leaves, all of them from that member', () => {
    const before = owners(new HashRing(names(5)));
    const after = owners(new HashRing(names(5).filter((n) => n !== 'edge2')));
    let moved = 0;
    before.forEach((o, i) => {
      if (o === after[i]) return;
      moved++;
      expect(o).toBe('edge2');
    });
    expect(moved / KEYS.length).toBeGreaterThan(0.15);
    expect(moved / KEYS.length).toBeLessThan(0.25);
  });

  it('moves about 1/(N+1) of the keys when a member joins, all of them to that member', () => {
    const before = owners(new HashRing(names(4)));
    const after = owners(new HashRing(names(5)));
    let moved = 0;
    before.forEach((o, i) => {
      if (o === after[i]) return;
      moved++;
      expect(after[i]).toBe('edge4');
    });
    expect(moved / KEYS.length).toBeGreaterThan(0.15);
    expect(moved / KEYS.length).toBeLessThan(0.25);
  });

  it('does not depend on the order members are listed in (every edge builds the same ring)', () => {
    const a = new HashRing(['paris', 'london', 'tokyo']);
    const b = new HashRing(['tokyo', 'paris', 'london']);
    expect(owners(a)).toEqual(owners(b));
  });

  it('has no owner when empty, and one owner for everything with one member', () => {
    expect(new HashRing([]).owner('x')).toBeUndefined();
    expect(new Set(owners(new HashRing(['solo'])))).toEqual(new Set(['solo']));
  });
});
