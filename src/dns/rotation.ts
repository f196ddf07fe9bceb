/**
 * Round-robin for A/AAAA RRsets of more than one record: each query starts the set one record further
 * on, so over N queries each of k addresses comes first N/k times. One counter per RRset, shared by the
 * encoded-answer fast path and the general path, so both rotate the same way. Counters live in a
 * WeakMap keyed by the RRset object: a reloaded zone starts fresh and old counters are collected.
 */
import type { ResourceRecord } from './types.js';
import type { RRset } from './zone/store.js';

export class RoundRobin {
  private readonly counters = new WeakMap<RRset, number>();

  /** The offset the next query will get, without advancing (the fast path may still hand the query on). */
  peek(rrset: RRset): number {
    return this.counters.get(rrset) ?? 0;
  }

  /** The rotation offset for this query (0 .. size-1), advancing the counter. */
  next(rrset: RRset): number {
    const n = this.counters.get(rrset) ?? 0;
    this.counters.set(rrset, (n + 1) % rrset.records.length);
    return n;
  }
}

/** `records` with the `count` records at `start` rotated left by `offset`. */
export function rotateSlice(records: readonly ResourceRecord[], start: number, count: number, offset: number): ResourceRecord[] {
  const out = records.slice();
  for (let i = 0; i < count; i++) out[start + i] = records[start + ((i + offset) % count)]!;
  return out;
}
