/**
 * Every cache policy behind the edge store: the hard byte bound under random operations (fixed seed),
 * scan resistance of the admission policies, and pushed objects always admitted.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../bench/random.js';
import { CACHE_POLICIES, type CachePolicyName } from '../../../src/edge/eviction/names.js';
import { EdgeStore, replayAccess, type StoredEntry } from '../../../src/edge/store.js';

function entry(key: string, size: number, extra: Partial<StoredEntry> = {}): StoredEntry {
  return { key, primaryKey: key, path: `/${key}`, size, vary: [], tags: [], ...extra };
}

describe.each(CACHE_POLICIES)('policy %s', (policy: CachePolicyName) => {
  it('never holds more than maxBytes, and its indexes match what it holds, under 200,000 random operations', () => {
    const maxBytes = 50_000;
    const evicted: string[] = [];
    const store = new EdgeStore({ maxBytes, maxObjectBytes: 12_000, policy, expectedObjectBytes: 800, onEvict: (e) => evicted.push(e.key) });
    const random = seededRandom(16);
    // Long enough for several sketch agings and hill-climbing steps (sample 10 x 64 = 640 accesses).
    for (let i = 0; i < 200_000; i++) {
      const key = `k${Math.floor(random() ** 2 * 400)}`; // skewed popularity, 400 keys
      const size = 1 + Math.floor(random() ** 3 * 12_000); // mostly small, some up to the object limit
      const op = random();
      if (op < 0.55) store.get(key);
      else if (op < 0.9) store.set(entry(key, size));
      else if (op < 0.95) store.set(entry(key, size, { seq: i })); // push: always admitted
      else if (op < 0.98) store.delete(key);
      else store.purgePath(`/${key}`);
      if (store.bytes > maxBytes) throw new Error(`op ${i}: ${store.bytes} bytes held > ${maxBytes}`);
    }
    const listed = store.list();
    expect(listed.length).toBe(store.objects);
    expect(listed.reduce((sum, e) => sum + e.size, 0)).toBe(store.bytes);
    for (const e of listed) expect(store.peek(e.key)).toBeDefined();
    expect(evicted.length).toBe(store.evictions);
    expect(store.evictions).toBeGreaterThan(1000);
  });

  it('a pushed object is stored even when the policy would refuse the same object fetched', () => {
    const store = new EdgeStore({ maxBytes: 1000, policy, expectedObjectBytes: 100 });
    for (let round = 0; round < 4; round++) for (let i = 0; i < 10; i++) replayAccess(store, `hot${i}`, 100);
    expect(store.set(entry('pushed', 100, { seq: 1 }))).toBe('stored');
    expect(store.peek('pushed')).toBeDefined();
    expect(store.bytes).toBeLessThanOrEqual(1000);
  });
});

describe.each(['w-tinylfu', 's3-fifo'] as const)('scan resistance of %s', (policy) => {
  // Five times the cache: longer than the cache, shorter than TinyLFU's sample period (10 x expected entries),
  // after which a working set that is no longer asked for is, by design, no longer popular.
  it('a one-time scan of 5x the cache in new keys leaves the popular working set in place', () => {
    const store = new EdgeStore({ maxBytes: 100_000, policy, expectedObjectBytes: 1000 });
    const working = Array.from({ length: 40 }, (_, i) => `popular${i}`); // 40 KB: 40 % of the cache
    for (let round = 0; round < 5; round++) for (const k of working) replayAccess(store, k, 1000);
    for (let i = 0; i < 500; i++) replayAccess(store, `scan${i}`, 1000);
    const survivors = working.filter((k) => store.peek(k) !== undefined);
    expect(survivors).toEqual(working);
    expect(store.bytes).toBeLessThanOrEqual(100_000);
  });
});

describe('scan resistance is what lru lacks (the same test fails for it)', () => {
  it('lru loses the whole working set to the scan', () => {
    const store = new EdgeStore({ maxBytes: 100_000, policy: 'lru' });
    const working = Array.from({ length: 40 }, (_, i) => `popular${i}`);
    for (let round = 0; round < 5; round++) for (const k of working) replayAccess(store, k, 1000);
    for (let i = 0; i < 500; i++) replayAccess(store, `scan${i}`, 1000);
    expect(working.filter((k) => store.peek(k) !== undefined)).toEqual([]);
  });
});
