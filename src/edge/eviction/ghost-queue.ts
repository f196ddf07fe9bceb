/**
 * S3-FIFO's ghost queue: the keys recently evicted from the small queue, without their data. A fixed-size
 * table of 32-bit fingerprints and insertion stamps stands in for a FIFO of `capacity` keys: a fingerprint
 * counts as present while fewer than `capacity` ghosts were added after it. Collisions overwrite (a lost
 * ghost only means one object takes the small queue again), and nothing is ever allocated after
 * construction, so a flood of distinct keys cannot grow it.
 */
import { powerOfTwoAtLeast } from './capacity.js';

export class GhostQueue {
  private readonly fingerprints: Uint32Array;
  private readonly stamps: Float64Array;
  private readonly mask: number;
  private clock = 0;

  constructor(readonly capacity: number) {
    // Twice as many slots as ghosts keeps overwrites by collision rare (load factor <= 0.5).
    const slots = powerOfTwoAtLeast(Math.max(16, capacity * 2));
    this.fingerprints = new Uint32Array(slots);
    this.stamps = new Float64Array(slots);
    this.mask = slots - 1;
  }

  add(hash: number): void {
    const slot = hash & this.mask;
    this.fingerprints[slot] = (hash | 1) >>> 0;
    this.stamps[slot] = ++this.clock;
  }

  contains(hash: number): boolean {
    const slot = hash & this.mask;
    return this.fingerprints[slot] === (hash | 1) >>> 0 && this.clock - this.stamps[slot]! < this.capacity;
  }

  get byteLength(): number {
    return this.fingerprints.byteLength + this.stamps.byteLength;
  }
}
