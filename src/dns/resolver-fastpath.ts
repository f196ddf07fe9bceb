/**
 * The resolver's fast path: a recursive query whose answer the resolver cache holds fresh is answered
 * from the reply encoded when it was last answered, with the remaining TTLs patched in. The cache stays
 * the source of truth. A kept reply remembers the cache entries it was built from (their names' watch
 * versions and expiries, see `NameWatch` in resolver/cache.ts) and answers only while every one of
 * those names is unchanged and every entry is fresh: then a walk of the cache would read exactly those
 * entries again. An expired, replaced or evicted entry, a new NXDOMAIN, anything stored at a name of
 * the chain: the check fails, and the general path answers (iteration, serve-stale) exactly as before,
 * and keeps the new reply.
 *
 * Skipped per hit: the decode, the cache walk (key strings, lookups, record copies), the in-flight
 * map, the serve-stale timer, the promise chain and the encode. The RA, AD (always 0 from our
 * resolver) and CD bits are in the kept bytes or in the key (`PlainQuery.key` holds RD, CD, EDNS and
 * DO); the question is echoed as sent (0x20 case kept).
 */
import { LRUCache } from 'lru-cache';
import { copyReply, type PlainQuery } from './fastpath.js';
import type { EntryRead } from './resolver/cache.js';
import type { CachedReply } from './resolver/resolver.js';
import type { Question } from './types.js';
import { HEADER_LENGTH } from './wire.js';

/** What the fast path needs from the resolver (resolver.ts). */
export interface CachedAnswers {
  cachedAnswer(question: Question): CachedReply | undefined;
  cacheNow(): number;
  touchCached(reads: readonly EntryRead[]): void;
  countCacheHit(): void;
}

/** A recursion handler that can answer from its cache offers all of `CachedAnswers` (tests' handlers need not). */
export function offersCachedAnswers<T extends Partial<CachedAnswers>>(handler: T): handler is T & CachedAnswers {
  return (
    typeof handler.cachedAnswer === 'function' &&
    typeof handler.cacheNow === 'function' &&
    typeof handler.touchCached === 'function' &&
    typeof handler.countCacheHit === 'function'
  );
}

/**
 * How often a kept reply that keeps answering marks its entries as used in the resolver cache's LRU
 * order. Hits on the fast path skip the lookups that would do it on every answer; without this the
 * hottest names would look idle to the LRU and be the first evicted when the cache is full.
 */
const TOUCH_INTERVAL_MS = 1_000;

interface KeptReply {
  bytes: Buffer;
  /** Offsets of the TTL fields of the answer and authority records, in reply order. */
  ttlOffsets: number[];
  /** Per TTL field, the expiry (ms, the cache's clock) of the entry it counts down to. */
  expiries: number[];
  reads: EntryRead[];
  touchedAt: number;
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
    const now = this.resolver.cacheNow();
    // Once any entry expires, or anything is stored at a name of the chain, the cache decides again.
    for (const read of kept.reads) if (now >= read.expiresAt || read.watch.version !== read.version) return undefined;
    if (now - kept.touchedAt >= TOUCH_INTERVAL_MS) {
      kept.touchedAt = now;
      this.resolver.touchCached(kept.reads);
    }
    const out = copyReply(kept.bytes, query, plain, true);
    // As the cache's lookups count them: remaining seconds rounded up, so a fresh entry never shows 0.
    for (let i = 0; i < kept.ttlOffsets.length; i++) out.writeUInt32BE(Math.ceil((kept.expiries[i]! - now) / 1000), kept.ttlOffsets[i]!);
    this.resolver.countCacheHit();
    return out;
  }

  /**
   * Keeps the general path's recursive reply (sent whole, not truncated) when the cache now answers the
   * question fresh with the same rcode and as many records as the reply holds: the entries read for
   * that answer are what later hits are checked against.
   */
  store(plain: PlainQuery, question: Question, reply: Buffer): void {
    const now = this.resolver.cachedAnswer(question);
    if (!now || now.rcode !== (reply[3]! & 0xf)) return;
    const ttlOffsets = recordTtlOffsets(reply);
    if (!ttlOffsets || ttlOffsets.length !== now.expiries.length) return;
    this.entries.set(plain.key, { bytes: Buffer.from(reply), ttlOffsets, expiries: now.expiries, reads: now.reads, touchedAt: this.resolver.cacheNow() });
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
