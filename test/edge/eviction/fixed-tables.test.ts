/** The frequency sketch, the doorkeeper and the ghost queue: what they count, how they age, and that their size is fixed. */
import { describe, expect, it } from 'vitest';
import { expectedEntries } from '../../../src/edge/eviction/capacity.js';
import { Doorkeeper } from '../../../src/edge/eviction/doorkeeper.js';
import { FrequencySketch } from '../../../src/edge/eviction/frequency-sketch.js';
import { GhostQueue } from '../../../src/edge/eviction/ghost-queue.js';
import { hashKey, mix32, randomHashSeed } from '../../../src/edge/eviction/key-hash.js';
import { EdgeStore, replayAccess } from '../../../src/edge/store.js';

describe('FrequencySketch', () => {
  it('counts the first access in the doorkeeper and the rest in the sketch, up to 16', () => {
    const sketch = new FrequencySketch(1024);
    const a = hashKey('/a');
    expect(sketch.estimate(a)).toBe(0);
    sketch.increment(a);
    expect(sketch.estimate(a)).toBe(1);
    for (let i = 0; i < 5; i++) sketch.increment(a);
    expect(sketch.estimate(a)).toBe(6);
    for (let i = 0; i < 40; i++) sketch.increment(a);
    expect(sketch.estimate(a)).toBe(16);
    expect(sketch.estimate(hashKey('/never'))).toBe(0);
  });

  it('halves every count and clears the doorkeeper after its sample of 10 x width increments', () => {
    const sketch = new FrequencySketch(64);
    expect(sketch.sampleSize).toBe(640);
    const hot = hashKey('/hot');
    for (let i = 0; i < 9; i++) sketch.increment(hot); // doorkeeper 1 + sketch 8
    let filler = 0;
    while (sketch.resets === 0) sketch.increment(hashKey(`/filler${filler++}`));
    expect(filler).toBe(640 - 9);
    expect(sketch.estimate(hot)).toBe(4); // 8 / 2, doorkeeper cleared
  });

  it('has a size fixed by the expected entries, not by how many keys it sees', () => {
    const sketch = new FrequencySketch(1000);
    const before = sketch.byteLength;
    for (let i = 0; i < 100_000; i++) sketch.increment(hashKey(`/k${i}`));
    expect(sketch.byteLength).toBe(before);
    // 4 rows of 1024 one-byte counters; doorkeeper: 4 bits per access of the 10,240-access sample, rounded up to 2^16 bits.
    expect(before).toBe(4 * 1024 + 65_536 / 8);
  });
});

describe('Doorkeeper', () => {
  it('remembers what it was given until cleared', () => {
    const door = new Doorkeeper(1000);
    const h = hashKey('/x');
    const spread = mix32(h);
    expect(door.put(h, spread)).toBe(false);
    expect(door.put(h, spread)).toBe(true);
    expect(door.contains(h, spread)).toBe(true);
    door.clear();
    expect(door.contains(h, spread)).toBe(false);
  });
});

describe('GhostQueue', () => {
  it('holds a key until `capacity` newer ghosts were added after it', () => {
    const ghost = new GhostQueue(100);
    const first = hashKey('/first');
    ghost.add(first);
    expect(ghost.contains(first)).toBe(true);
    for (let i = 0; i < 99; i++) ghost.add(hashKey(`/g${i}`));
    expect(ghost.contains(first)).toBe(true);
    ghost.add(hashKey('/one-more'));
    expect(ghost.contains(first)).toBe(false);
    expect(ghost.contains(hashKey('/never'))).toBe(false);
  });

  it('keeps its size whatever number of keys passes through', () => {
    const ghost = new GhostQueue(100);
    const before = ghost.byteLength;
    for (let i = 0; i < 100_000; i++) ghost.add(hashKey(`/k${i}`));
    expect(ghost.byteLength).toBe(before);
  });
});

describe('policy tables derive from the cache size', () => {
  it('expected entries follow maxBytes / expected object size, clamped', () => {
    expect(expectedEntries(1_000_000, 1000)).toBe(1000);
    expect(expectedEntries(100, 1000)).toBe(64);
    expect(expectedEntries(256e6)).toBe(Math.ceil(256e6 / 4096));
  });

  it('a flood of distinct keys leaves a store holding only what fits (no table grows with traffic)', () => {
    for (const policy of ['w-tinylfu', 's3-fifo'] as const) {
      const store = new EdgeStore({ maxBytes: 10_000, policy, expectedObjectBytes: 100 });
      for (let i = 0; i < 50_000; i++) replayAccess(store, `/flood${i}`, 100);
      expect(store.objects).toBeLessThanOrEqual(100);
      expect(store.bytes).toBeLessThanOrEqual(10_000);
    }
  });
});

describe('hashKey seed', () => {
  it('gives unrelated hashes under another seed, so collisions found offline for one seed are useless for another', () => {
    const seeds = [randomHashSeed(), randomHashSeed()];
    expect(seeds[0]).not.toBe(seeds[1]);
    // Pairs of keys that share their 10 low bits (a sketch row index) under the default seed.
    const byIndex = new Map<number, string>();
    const pairs: Array<[string, string]> = [];
    for (let i = 0; pairs.length < 200; i++) {
      const key = `/k${i}`;
      const index = hashKey(key) & 1023;
      const other = byIndex.get(index);
      if (other === undefined) byIndex.set(index, key);
      else pairs.push([other, key]);
    }
    const stillColliding = pairs.filter(([a, b]) => (hashKey(a, 12345) & 1023) === (hashKey(b, 12345) & 1023)).length;
    // Chance alone keeps about 200 / 1024 of them together.
    expect(stillColliding).toBeLessThan(10);
  });
});
