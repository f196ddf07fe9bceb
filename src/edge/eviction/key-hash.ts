/**
 * A 32-bit hash of a cache key for the frequency sketch, the doorkeeper and the ghost queue. FNV-1a over
 * UTF-16 code units, then a murmur3 finaliser so that the low bits (used as table indexes) depend on every
 * input bit. Computed once per object when it is stored (policies keep it in their node), so a hit never
 * hashes the key again; only a store of a new key pays O(key length).
 *
 * `seed` replaces FNV's offset basis. Keys are chosen by clients, so with a fixed, public hash an attacker can
 * craft URLs whose sketch counters collide with each other's and so lend a never-requested object the estimate
 * of a popular one (or keep ghost entries alive). Each policy draws its own seed (randomHashSeed) unless one is
 * given (the hit-ratio benchmark fixes it, so its results are reproducible).
 */
import { randomBytes } from 'node:crypto';

export function hashKey(key: string, seed = FNV_OFFSET_BASIS): number {
  let h = seed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return mix32(h);
}

const FNV_OFFSET_BASIS = 0x811c9dc5;

/** A seed for hashKey from the OS's random source. */
export function randomHashSeed(): number {
  return randomBytes(4).readUInt32LE(0);
}

/** murmur3's fmix32: a bijection on 32-bit integers with full avalanche. */
export function mix32(x: number): number {
  let h = x ^ (x >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
