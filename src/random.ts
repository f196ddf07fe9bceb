/**
 * A seeded 32-bit pseudo-random source, for what must replay the same way on every run and machine: synthetic
 * benchmark traces, and the chaos run's faults and clients (`dnscdn chaos --seed`). Math.random cannot be seeded.
 * The generator is mulberry32 (Tommy Ettinger's 32-bit mixer): one state word, period 2^32, plenty for a few
 * million draws; statistical quality is adequate for workload generation, not for cryptography.
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

/** A sampler of Zipf ranks 0..n-1 (0 = most popular), by binary search in the cumulative weights. */
export function zipfSampler(n: number, alpha: number, random: Random): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) {
    total += 1 / (r + 1) ** alpha;
    cdf[r] = total;
  }
  return () => {
    const target = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
