/**
 * The contract between the edge store (src/edge/store.ts) and a policy: the policy holds the entries, decides
 * which new ones are admitted and which resident ones leave, and keeps their total charged size at or below
 * `maxBytes` after every call. The store keeps the purge indexes and learns about removals through `onRemove`.
 *
 * Rules every policy follows:
 * - `get` on a hit is O(1) and allocates nothing (the edge's fresh-hit path calls it).
 * - `set` of a key already held replaces the entry in place (never a removal); of a new key either stores it
 *   or refuses it (returns false), and may evict others. `always` (origin push: the operator asked for the
 *   object) skips admission: the entry is stored, evicting whatever the policy chooses.
 * - `onRemove` is called for each entry that was held and leaves by eviction or `delete`, not for an entry
 *   refused within the `set` that offered it, nor for in-place replacement, nor on `clear` (the store resets its indexes itself).
 * - Every table a policy allocates has a fixed size derived from `maxBytes` (capacity.ts).
 */
import type { CachePolicyName } from '../../config/cache-policies.js';

export type RemovalReason = 'evict' | 'delete';

/** What a policy needs of an entry: its charged size in bytes (>= 1). */
export interface Sized {
  readonly size: number;
}

export type Admission = 'offer' | 'always';

export interface EvictionPolicy<E extends Sized> {
  readonly name: CachePolicyName;
  readonly maxBytes: number;
  /** The entry, recorded as a use (recency/frequency), or undefined. */
  get(key: string): E | undefined;
  /** The entry without recording a use. */
  peek(key: string): E | undefined;
  has(key: string): boolean;
  /** Stores or replaces; returns whether the key is held afterwards. */
  set(key: string, entry: E, admission: Admission): boolean;
  /**
   * Would `set(key, entry of this size, 'offer')` hold the key if it were called now? Reads only. The edge asks
   * when a fill's response head arrives, before the body, so that it neither buffers a body the policy will
   * refuse nor tells the client (Cache-Status `stored`) that it stored one. Other inserts while the body
   * streams may change the answer; it is a prediction, not a reservation.
   */
  wouldAdmit(key: string, size: number): boolean;
  delete(key: string): boolean;
  clear(): void;
  /** Every entry, in the policy's own order: most valued first where it has one. */
  entries(): IterableIterator<[string, E]>;
  readonly bytes: number;
  readonly size: number;
  /** New keys refused by admission (0 for policies that admit everything). */
  readonly rejections: number;
}

export interface PolicyOptions<E extends Sized> {
  maxBytes: number;
  /** Mean charged object size the operator expects; sizes the fixed tables (capacity.ts). */
  expectedObjectBytes?: number;
  /** Seed of the key hash (key-hash.ts); default: a random one per policy. */
  hashSeed?: number;
  onRemove: (key: string, entry: E, reason: RemovalReason) => void;
}
