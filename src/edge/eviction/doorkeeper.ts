/**
 * TinyLFU's doorkeeper (Einziger, Friedman, Manes 2017, §3.4.2): a Bloom filter in front of the frequency
 * sketch. The first access of a key in a sample period only sets its bits here; the sketch counts from the
 * second on. Most keys of a web trace are one-hit wonders, so they never occupy sketch counters, which keeps
 * the sketch small and its estimates for repeated keys sharp.
 *
 * Fixed size: 4 bits per access of the sample period (three probes: about 15 % false positives when full,
 * which only means some first accesses count as second ones). Cleared with the sketch's aging.
 */
import { mix32 } from './key-hash.js';
import { powerOfTwoAtLeast } from './capacity.js';

const PROBES = 3;

export class Doorkeeper {
  private readonly words: Uint32Array;
  private readonly mask: number;

  constructor(expectedInsertions: number) {
    const bits = powerOfTwoAtLeast(Math.max(64, expectedInsertions * 4));
    this.words = new Uint32Array(bits >>> 5);
    this.mask = bits - 1;
  }

  /** Sets the key's bits; returns true when they were all set already (the key was seen this period). */
  put(hash: number): boolean {
    const step = mix32(hash) | 1;
    let seen = true;
    for (let i = 0, h = hash; i < PROBES; i++, h = (h + step) | 0) {
      const bit = h & this.mask;
      const word = bit >>> 5;
      const flag = 1 << (bit & 31);
      if ((this.words[word]! & flag) === 0) {
        seen = false;
        this.words[word] = this.words[word]! | flag;
      }
    }
    return seen;
  }

  contains(hash: number): boolean {
    const step = mix32(hash) | 1;
    for (let i = 0, h = hash; i < PROBES; i++, h = (h + step) | 0) {
      const bit = h & this.mask;
      if ((this.words[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  clear(): void {
    this.words.fill(0);
  }

  /** Bytes of the bit array (fixed at construction). */
  get byteLength(): number {
    return this.words.byteLength;
  }
}
