/**
 * `wouldAdmit` (asked when a fill's head arrives) predicts what `set` then does: the edge neither buffers a body
 * the policy will refuse nor tells the client it stored one.
 */
import { describe, expect, it } from 'vitest';
import { CACHE_POLICIES } from '../../../src/config/cache-policies.js';
import { EdgeStore, type StoredEntry } from '../../../src/edge/store.js';
import { seededRandom } from '../../../bench/random.js';

function entry(key: string, size: number): StoredEntry {
  return { key, primaryKey: key, path: `/${key}`, size, vary: [], tags: [] };
}

describe('wouldAdmit agrees with set', () => {
  it('w-tinylfu: refuses an unpopular object too large for the window, admits it once it is popular enough', () => {
    const store = new EdgeStore({ maxBytes: 1000, maxObjectBytes: 1000, policy: 'w-tinylfu', expectedObjectBytes: 100, hashSeed: 1 });
    const keys = 'abcdefghij'.split('');
    for (const k of keys) store.set(entry(k, 99));
    for (let i = 0; i < 3; i++) for (const k of keys) store.get(k);
    // The window is 10 bytes: a 99-byte object leaves it at once and meets admission (estimate 1 against 4).
    expect(store.wouldStore('k', 99)).toBe(false);
    expect(store.set(entry('k', 99))).toBe('not-admitted');
    // An object that fits the window is kept there, whatever its popularity.
    expect(store.wouldStore('tiny', 5)).toBe(true);
    for (let i = 2; i <= 4; i++) expect(store.set(entry('k', 99))).toBe('not-admitted');
    expect(store.wouldStore('k', 99)).toBe(true); // the next offer makes its estimate 5 > 4
    expect(store.set(entry('k', 99))).toBe('stored');
  });

  it('s3-fifo: a new object larger than the small queue is refused unless its ghost is remembered', () => {
    const store = new EdgeStore({ maxBytes: 1000, maxObjectBytes: 1000, policy: 's3-fifo', expectedObjectBytes: 100, hashSeed: 1 });
    // Nine objects asked for again while in small: room for a new one is made by moving them to main, which
    // frees nothing, so a 150-byte object (small's share is 100) ends up the oldest in small and leaves.
    for (const k of 'abcdefghi') store.set(entry(k, 100));
    for (const k of 'abcdefghi') store.get(k);
    expect(store.wouldStore('big', 150)).toBe(false);
    expect(store.set(entry('big', 150))).toBe('not-admitted');
    // Its key is now a ghost: asked again, it goes to main.
    expect(store.wouldStore('big', 150)).toBe(true);
    expect(store.set(entry('big', 150))).toBe('stored');
  });

  it('s3-fifo: a new object larger than the small queue is admitted when discarding older one-hit entries makes room', () => {
    const store = new EdgeStore({ maxBytes: 1000, maxObjectBytes: 1000, policy: 's3-fifo', expectedObjectBytes: 100, hashSeed: 1 });
    for (const k of 'abcdefghi') store.set(entry(k, 100));
    expect(store.wouldStore('big', 150)).toBe(true);
    expect(store.set(entry('big', 150))).toBe('stored');
  });

  it('lru admits whatever fits the object bound', () => {
    const store = new EdgeStore({ maxBytes: 1000, maxObjectBytes: 500, policy: 'lru' });
    expect(store.wouldStore('a', 500)).toBe(true);
    expect(store.wouldStore('a', 501)).toBe(false);
  });

  for (const policy of CACHE_POLICIES) {
    it(`${policy}: the prediction matches the outcome of the set that follows, under random traffic`, () => {
      const random = seededRandom(16);
      const store = new EdgeStore({ maxBytes: 50_000, maxObjectBytes: 20_000, policy, expectedObjectBytes: 1000 });
      let offers = 0;
      let mismatches = 0;
      for (let i = 0; i < 50_000; i++) {
        const key = `k${Math.floor(random() ** 2 * 3000)}`;
        if (store.get(key) !== undefined) continue;
        const size = 1 + Math.floor(random() ** 3 * 19_999);
        const predicted = store.wouldStore(key, size);
        const stored = store.set(entry(key, size)) === 'stored';
        offers++;
        if (predicted !== stored) mismatches++;
      }
      // Predictions are exact for lru. w-tinylfu's climber may move the window/main split within the very set()
      // that follows (once per sample period); s3-fifo's main re-queues hit entries ahead of a newcomer from the
      // ghost queue (lazy promotion), which the prediction does not replay. Measured: 20 of about 13,000 offers
      // for s3-fifo, fewer for w-tinylfu; before the prediction existed every refusal was announced as stored.
      const allowed = policy === 'lru' ? 0 : offers / 200;
      expect(offers).toBeGreaterThan(10_000);
      expect(mismatches).toBeLessThanOrEqual(allowed);
    });
  }
});
