/**
 * How many objects a byte budget is expected to hold: the size that every fixed-size policy structure
 * (frequency sketch, doorkeeper, ghost queue) derives from, so that none of them grows with traffic.
 *
 * `expectedObjectBytes` is the operator's (or the benchmark's) estimate of the mean charged size of an
 * object. Too small an estimate only costs memory (bigger tables); too large a one makes the sketch
 * noisier. The clamp keeps tiny test caches meaningful and caps memory at about 64 MiB of tables.
 */
export const DEFAULT_EXPECTED_OBJECT_BYTES = 4096;
const MIN_ENTRIES = 64;
const MAX_ENTRIES = 1 << 22;

export function expectedEntries(maxBytes: number, expectedObjectBytes: number = DEFAULT_EXPECTED_OBJECT_BYTES): number {
  const n = Math.ceil(maxBytes / Math.max(1, expectedObjectBytes));
  return Math.min(MAX_ENTRIES, Math.max(MIN_ENTRIES, n));
}

/** The smallest power of two >= n (n >= 1), so that table indexes are a mask instead of a division. */
export function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
