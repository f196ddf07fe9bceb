/** Each policy's admission decision on small hand-built examples whose outcome can be worked out on paper. */
import { describe, expect, it } from 'vitest';
import { EdgeStore, replayAccess, type StoredEntry } from '../../../src/edge/store.js';

function entry(key: string, size: number): StoredEntry {
  return { key, primaryKey: key, path: `/${key}`, size, vary: [], tags: [] };
}

describe('w-tinylfu admission', () => {
  // maxBytes 1000: window 10 bytes (1 %), main 990. Ten objects of 99 bytes fill main exactly; each is asked
  // for three more times (estimate 4: the doorkeeper's one plus three sketch counts).
  function filled(): { store: EdgeStore; evicted: string[] } {
    const evicted: string[] = [];
    const store = new EdgeStore({ maxBytes: 1000, maxObjectBytes: 1000, policy: 'w-tinylfu', expectedObjectBytes: 100, hashSeed: 1, onEvict: (e) => evicted.push(e.key) });
    const keys = 'abcdefghij'.split('');
    for (const k of keys) expect(store.set(entry(k, 99))).toBe('stored');
    for (let i = 0; i < 3; i++) for (const k of keys) expect(store.get(k)).toBeDefined();
    return { store, evicted };
  }

  it('refuses a new object less popular than the victim it would displace, and admits it once it is more popular', () => {
    const { store, evicted } = filled();
    // k needs 99 bytes of room: one victim (estimate 4) against k's estimate 1.
    expect(store.set(entry('k', 99))).toBe('not-admitted');
    expect(store.rejections).toBe(1);
    for (let i = 2; i <= 4; i++) expect(store.set(entry('k', 99))).toBe('not-admitted'); // estimates 2, 3, 4: ties keep the victim
    expect(store.set(entry('k', 99))).toBe('stored'); // estimate 5 > 4
    expect(evicted).toHaveLength(1);
    expect(store.peek(evicted[0]!)).toBeUndefined();
    expect(store.bytes).toBe(990);
  });

  it('is size-aware: compares hits per byte with all the victims that make room', () => {
    const { store } = filled();
    // A 297-byte object asked for 8 times (estimate 8 over 297 bytes) would displace three victims (12 over
    // 297 bytes): refused every time, though it is twice as popular as any one of them.
    for (let i = 0; i < 8; i++) expect(store.set(entry('big', 297))).toBe('not-admitted');
    // A 40-byte object asked for twice (2 per 40 bytes) against one 99-byte victim (4 per 99 bytes): admitted,
    // though the victim is asked for twice as often.
    expect(store.set(entry('small', 40))).toBe('not-admitted'); // estimate 1: 1 x 99 > 4 x 40 is false
    expect(store.set(entry('small', 40))).toBe('stored'); // estimate 2: 2 x 99 > 4 x 40
    expect(store.bytes).toBeLessThanOrEqual(1000);
  });

  it('admits freely while there is room', () => {
    const store = new EdgeStore({ maxBytes: 1000, policy: 'w-tinylfu', expectedObjectBytes: 100, hashSeed: 1 });
    for (let i = 0; i < 9; i++) expect(store.set(entry(`k${i}`, 100))).toBe('stored');
    expect(store.rejections).toBe(0);
  });
});

describe('s3-fifo admission', () => {
  // maxBytes 1000: small queue 100 bytes (10 %), main 900.
  it('drops an object not asked for again while in the small queue, and takes it straight to main when its ghost is asked for', () => {
    const evicted: string[] = [];
    const store = new EdgeStore({ maxBytes: 1000, policy: 's3-fifo', expectedObjectBytes: 100, hashSeed: 1, onEvict: (e) => evicted.push(e.key) });
    for (const k of 'abcdefghi') {
      replayAccess(store, k, 100);
      replayAccess(store, k, 100); // hit while in small: moves to main when it leaves small
    }
    replayAccess(store, 'x', 100); // small now holds x (and i)
    replayAccess(store, 'y', 100); // over the bound: small's oldest leaves; i was hit -> main; ... x not hit -> ghost
    replayAccess(store, 'z', 100);
    expect(evicted).toContain('x');
    expect(store.peek('x')).toBeUndefined();
    // x again: its ghost sends it to main, where one-hit newcomers cannot push it out.
    expect(replayAccess(store, 'x', 100)).toBe(false);
    expect(store.peek('x')).toBeDefined();
    for (let i = 0; i < 20; i++) replayAccess(store, `once${i}`, 100);
    expect(store.peek('x')).toBeDefined();
    expect(store.peek('y')).toBeUndefined();
    expect(store.bytes).toBeLessThanOrEqual(1000);
  });
});

describe('lru admission', () => {
  it('admits every object and evicts the least recently used', () => {
    const store = new EdgeStore({ maxBytes: 1000, policy: 'lru' });
    for (let i = 0; i < 20; i++) expect(store.set(entry(`k${i}`, 100))).toBe('stored');
    expect(store.rejections).toBe(0);
    expect(store.keys()).toEqual(Array.from({ length: 10 }, (_, i) => `k${19 - i}`));
  });
});
