/**
 * A hit allocates nothing, under every policy: five million hits with no young-generation collection in
 * between. Even 4 bytes per hit would fill V8's young generation (16 MiB semi-spaces) and show scavenges.
 * Asserted on the garbage collector, not on a timer.
 */
import { PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { CACHE_POLICIES } from '../../../src/edge/eviction/names.js';
import { EdgeStore } from '../../../src/edge/store.js';

async function collectionsDuring(work: () => void): Promise<number> {
  const entries: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const start = performance.now();
  work();
  const end = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 50)); // gc entries are delivered asynchronously
  observer.disconnect();
  return entries.filter((e) => e.startTime >= start && e.startTime <= end).length;
}

describe.each(CACHE_POLICIES)('hit path of %s', (policy) => {
  it('allocates nothing over five million hits', async () => {
    const store = new EdgeStore({ maxBytes: 64e6, policy });
    const keys = Array.from({ length: 10_000 }, (_, i) => `example.test/o/${i}`);
    for (const k of keys) store.set({ key: k, primaryKey: k, path: k, size: 2000, vary: [], tags: [] });
    let hits = 0;
    const hitAll = (rounds: number): void => {
      for (let r = 0; r < rounds; r++) for (let i = 0; i < keys.length; i++) if (store.get(keys[i]!) !== undefined) hits++;
    };
    hitAll(50); // warm up: optimised code, promotions done
    const collections = await collectionsDuring(() => hitAll(500));
    expect(hits).toBe(5_500_000);
    expect(collections).toBe(0);
  });
});
