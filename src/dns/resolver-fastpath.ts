/**
 * The resolver's fast path: a recursive query whose answer the resolver cache holds fresh is answered
 * from the reply encoded when it was last answered, with the remaining TTLs patched in. The cache stays
 * the source of truth: when a reply is kept, the resolver says which cache reads its answer came from
 * (`cachedAnswer`: the keys its cache walk read, and the entry found at each, or none); every hit replays
 * those reads (`replayCacheReads`) and uses the bytes only while each finds the same, fresh. An expired,
 * replaced or evicted entry, a new NXDOMAIN, a record cached where a CNAME chain found none: a read finds
 * something else, and the general path answers (iteration, serve-stale) exactly as before.
 *
 * Per hit: one lookup of the kept reply, one LRU read per cache key the answer depends on (two for a
 * plain answer: the name's NXDOMAIN key and the RRset's), the copy of the reply with the query's ID and
 * question bytes (0x20 case kept) and the TTLs written at offsets found when it was kept. No decode, no
 * record copies, no promise, no allocation but the reply buffer. The RA, AD (always 0 from our resolver)
 * and CD bits, and the OPT record, are in the kept bytes or decided by the key (`PlainQuery.key` holds
 * RD, CD, EDNS and DO), as on the authoritative fast path (fastpath.ts `copyReply`).
 */
import { LRUCache } from 'lru-cache';
import { copyReply, type PlainQuery } from './fastpath.js';
import type { CacheRead } from './resolver/cache.js';
import type { CachedReply } from './resolver/resolver.js';
import type { Question } from './types.js';
import { HEADER_LENGTH } from './wire.js';

/** What the fast path needs from the resolver (resolver.ts). */
export interface CachedAnswers {
  cachedAnswer(question: Question): CachedReply | undefined;
  replayCacheReads(reads: readonly CacheRead[], ttls: number[]): boolean;
  countCacheHit(): void;
}

interface KeptReply {
  bytes: Buffer;
  reads: readonly CacheRead[];
  /** Per TTL field of the answer and authority records, in reply order: its offset, and the read it counts down from. */
  ttlOffsets: readonly number[];
  ttlReads: readonly number[];
  /** Filled by each replay (one slot per read), so that a hit allocates no array. */
  ttls: number[];
}

export class ResolverAnswerCache {
  private readonly entries: LRUCache<string, KeptReply>;

  constructor(
    private readonly resolver: CachedAnswers,
    maxEntries = 10_000,
  ) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  /**
   * The reply for a query the pipeline would route to recursion (the caller checked the client may
   * recurse; RD=1 is in the key, because only RD=1 replies are kept), if the cache still holds it fresh
   * and it fits `limit`; otherwise undefined and the general path answers.
   */
  answer(query: Buffer, plain: PlainQuery, limit: number): Buffer | undefined {
    const kept = this.entries.get(plain.key);
    if (!kept || kept.bytes.length > limit) return undefined;
    if (!this.resolver.replayCacheReads(kept.reads, kept.ttls)) return undefined;
    const out = copyReply(kept.bytes, query, plain, true);
    const { ttlOffsets, ttlReads, ttls } = kept;
    for (let i = 0; i < ttlOffsets.length; i++) out.writeUInt32BE(ttls[ttlReads[i]!]!, ttlOffsets[i]!);
    this.resolver.countCacheHit();
    return out;
  }

  /**
   * Keeps the general path's recursive reply (sent whole, not truncated) when the cache now answers the
   * question fresh with the same rcode and as many TTLs as the reply's records hold: the reads that
   * answer depends on are what later hits replay.
   */
  store(plain: PlainQuery, question: Question, reply: Buffer): void {
    const now = this.resolver.cachedAnswer(question);
    if (!now || now.rcode !== (reply[3]! & 0xf)) return;
    const ttlOffsets = recordTtlOffsets(reply);
    if (!ttlOffsets || ttlOffsets.length !== now.ttlReads.length) return;
    this.entries.set(plain.key, { bytes: Buffer.from(reply), reads: now.reads, ttlOffsets, ttlReads: now.ttlReads, ttls: new Array<number>(now.reads.length).fill(0) });
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * The offsets of the TTL fields of the answer and authority records of an encoded message (RFC 1035
 * §4.1.3: name, type, class, TTL, RDLENGTH, RDATA); undefined when the message does not parse or its
 * additional section holds anything but OPT (whose TTL field is the extended rcode and flags, RFC 6891).
 */
export function recordTtlOffsets(message: Buffer): number[] | undefined {
  const qd = message.readUInt16BE(4);
  const records = message.readUInt16BE(6) + message.readUInt16BE(8);
  const additional = message.readUInt16BE(10);
  let at = HEADER_LENGTH;
  for (let i = 0; i < qd; i++) {
    at = skipName(message, at);
    if (at < 0) return undefined;
    at += 4;
  }
  const offsets: number[] = [];
  for (let i = 0; i < records + additional; i++) {
    at = skipName(message, at);
    if (at < 0 || at + 10 > message.length) return undefined;
    if (i >= records) {
      if (message.readUInt16BE(at) !== 41) return undefined;
    } else offsets.push(at + 4);
    at += 10 + message.readUInt16BE(at + 8);
  }
  return at === message.length ? offsets : undefined;
}

/** The offset past a (possibly compressed) name at `at`, or -1. */
function skipName(message: Buffer, at: number): number {
  while (at < message.length) {
    const len = message[at]!;
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) return at + 2;
    if (len > 63) return -1;
    at += len + 1;
  }
  return -1;
}
