/**
 * A seeded 32-bit pseudo-random source for reproducible synthetic traces.
 * Math.random cannot be seeded, and a benchmark must replay the same requests on every run and machine.
 * The generator is mulberry32 (Tommy Ettinger's 32-bit mixer): one state word, period 2^32, plenty for
 * a few million draws; statistical quality is adequate for workload generation, not for cryptography.
 */
export type Random = () => number;

/** Returns a function giving uniform floats in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
