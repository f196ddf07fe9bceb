/**
 * Seeded randomness for the benchmarks: the generator itself lives in src/random.ts (the chaos run uses it too).
 */
import type { Random } from '../src/random.js';

export { seededRandom, type Random } from '../src/random.js';

/** 0..n-1 in a seeded random order (Fisher–Yates): object ids unrelated to popularity ranks. */
export function seededPermutation(n: number, random: Random): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}
