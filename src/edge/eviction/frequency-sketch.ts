/**
 * TinyLFU's popularity estimate: a count-min sketch of 4-bit counters behind a doorkeeper, aged by halving.
 *
 * - Count-min (Cormode and Muthukrishnan): four rows of `width` counters; a key increments one counter per
 *   row and its estimate is the smallest of the four. We update conservatively (only counters equal to the
 *   current minimum grow), which never lowers the estimate below the true count and cuts over-estimation.
 * - Counters stop at 15 (TinyLFU, §3.4.1: the admission decision only compares small counts).
 * - Aging ("reset", §3.3): after `sampleSize` = 10 x expected entries increments, every counter is halved and
 *   the doorkeeper cleared, so that popularity is recent popularity. Halving costs O(width) once per
 *   10 x width increments: amortised O(1) per access.
 *
 * Width is the power of two at or above the expected number of cached objects (capacity.ts): 4 bytes of
 * counters per expected object plus the doorkeeper's bits, fixed for the life of the store.
 */
import { Doorkeeper } from './doorkeeper.js';
import { mix32 } from './key-hash.js';
import { powerOfTwoAtLeast } from './capacity.js';

const ROWS = 4;
const MAX_COUNT = 15;
/** TinyLFU's W/C: the sample is ten times the cache's capacity in entries (the paper's and Caffeine's choice). */
const SAMPLE_FACTOR = 10;

export class FrequencySketch {
  private readonly counters: Uint8Array;
  private readonly width: number;
  private readonly mask: number;
  private readonly doorkeeper: Doorkeeper;
  readonly sampleSize: number;
  private additions = 0;
  /** How many times the counters were halved (for tests and metrics). */
  resets = 0;

  constructor(expectedEntries: number) {
    this.width = powerOfTwoAtLeast(Math.max(16, expectedEntries));
    this.mask = this.width - 1;
    this.counters = new Uint8Array(ROWS * this.width);
    this.sampleSize = SAMPLE_FACTOR * this.width;
    this.doorkeeper = new Doorkeeper(this.sampleSize);
  }

  /** Records one access. No allocation: typed arrays and integer arithmetic only. */
  increment(hash: number): void {
    if (++this.additions >= this.sampleSize) this.age();
    if (!this.doorkeeper.put(hash)) return; // first access this period: the doorkeeper holds it
    const step = mix32(hash) | 1;
    const min = this.sketchCount(hash, step);
    if (min >= MAX_COUNT) return;
    for (let row = 0, h = hash; row < ROWS; row++, h = (h + step) | 0) {
      const i = row * this.width + (h & this.mask);
      if (this.counters[i] === min) this.counters[i] = min + 1;
    }
  }

  /** Estimated accesses in the current period (0..16): the sketch's minimum plus the doorkeeper's one. */
  estimate(hash: number): number {
    const inDoor = this.doorkeeper.contains(hash) ? 1 : 0;
    return this.sketchCount(hash, mix32(hash) | 1) + inDoor;
  }

  private sketchCount(hash: number, step: number): number {
    let min = MAX_COUNT;
    for (let row = 0, h = hash; row < ROWS; row++, h = (h + step) | 0) {
      const c = this.counters[row * this.width + (h & this.mask)]!;
      if (c < min) min = c;
    }
    return min;
  }

  private age(): void {
    for (let i = 0; i < this.counters.length; i++) this.counters[i] = this.counters[i]! >>> 1;
    this.doorkeeper.clear();
    this.additions = this.additions >>> 1;
    this.resets++;
  }

  /** Bytes of fixed tables (counters and doorkeeper), for the README and tests. */
  get byteLength(): number {
    return this.counters.byteLength + this.doorkeeper.byteLength;
  }
}
