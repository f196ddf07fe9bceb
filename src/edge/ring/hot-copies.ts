/**
 * Hot local copies at a non-owner. A ring sends every miss for a key to one owner, so a handful of very popular
 * URLs would all land on a few peers. A non-owner therefore keeps its own copy of what it is asked for most
 * often, within a small share of its memory:
 *
 * - popularity: the TinyLFU frequency sketch the store's policies use (eviction/frequency-sketch.ts), fed with
 *   every peer fill this edge makes. A peer-filled object is kept once its key was asked for `minHits` times
 *   in the sketch's current period (aging halves the counts, so "often" means "recently often");
 * - memory: kept copies are charged against `maxBytes` (default a tenth of the store). The copies live in the
 *   edge's one store, so a purge, a Vary variant or an eviction treats them as it treats every other object; this ledger
 *   only bounds how much of the store they may take. When the ledger is full, entries the store no longer
 *   holds are dropped from it first (evicted or purged since), then a copy that still does not fit is refused.
 *
 * Cost: one sketch increment and estimate per peer fill (about 100 ns); nothing on a hit.
 */
import { FrequencySketch } from '../eviction/frequency-sketch.js';
import { hashKey } from '../eviction/key-hash.js';

export interface HotCopiesOptions {
  /** Bytes the kept copies may take. */
  maxBytes: number;
  /** Requests in the sketch's period before a peer-filled object is kept here. Default 4. */
  minHits?: number;
  /** Does the store still hold this key (ledger clean-up)? */
  holds: (key: string) => boolean;
}

/** Sketch width: popular keys are few; 4096 counters per row tell apart the top few hundred cheaply (16 KiB). */
const SKETCH_ENTRIES = 4096;
/** The ledger's entry bound, whatever the sizes (tiny objects must not grow it without bound). */
const MAX_COPIES = 10_000;

export class HotCopies {
  private readonly sketch = new FrequencySketch(SKETCH_ENTRIES);
  private readonly held = new Map<string, number>();
  private bytes = 0;
  private readonly minHits: number;

  constructor(private readonly o: HotCopiesOptions) {
    this.minHits = o.minHits ?? 4;
  }

  /** Records one peer fill of `key`; true when the key is now popular enough to keep a local copy. */
  wants(key: string): boolean {
    const h = hashKey(key);
    this.sketch.increment(h);
    return this.sketch.estimate(h) >= this.minHits;
  }

  /** Charges a copy of `size` bytes; false (keep nothing) when the share is full. */
  charge(key: string, size: number): boolean {
    if (!this.fits(key, size)) this.forgetGone();
    if (!this.fits(key, size)) return false;
    this.bytes += size - (this.held.get(key) ?? 0);
    this.held.set(key, size);
    return true;
  }

  private fits(key: string, size: number): boolean {
    const previous = this.held.get(key);
    return this.bytes - (previous ?? 0) + size <= this.o.maxBytes && (previous !== undefined || this.held.size < MAX_COPIES);
  }

  /** Bytes charged now (some may already be gone from the store until the next clean-up). */
  get chargedBytes(): number {
    return this.bytes;
  }

  private forgetGone(): void {
    for (const [key, size] of this.held) {
      if (this.o.holds(key)) continue;
      this.held.delete(key);
      this.bytes -= size;
    }
  }
}
