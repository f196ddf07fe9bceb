/**
 * The resolver's fast path: a recursive query whose answer the resolver cache holds fresh is answered
 * from the reply encoded when it was last answered, with the remaining TTLs patched in. The cache stays
 * the source of truth: every hit asks it (`cachedAnswer`, the same walk `resolve` starts with) and uses
 * the bytes only while the cache answers from the very entries they were built from (same stamps). An
 * expired, replaced or evicted entry, a new NXDOMAIN, a longer CNAME chain: the stamps differ or the
 * cache has no fresh answer, and the general path answers (iteration, serve-stale) exactly as before.
 *
 * Skipped per hit: the decode, the in-flight map, the serve-stale timer, the promise chain and the
 * encode. The RA, AD (always 0 from our resolver) and CD bits are in the kept bytes or in the key
 * (`PlainQuery.key` holds RD, CD, EDNS and DO); the question is echoed as sent (0x20 case kept).
 */
import { LRUCache } from 'lru-cache';
import { copyReply, type PlainQuery } from './fastpath.js';
import type { CachedReply } from './resolver/resolver.js';
import type { Question } from './types.js';
import { HEADER_LENGTH } from './wire.js';

/** What the fast path needs from the resolver (resolver.ts). */
export interface CachedAnswers {
  cachedAnswer(question: Question): CachedReply | undefined;
  countCacheHit(): void;
}

interface KeptReply {
  question: Question;
  bytes: Buffer;
  /** Offsets of the TTL fields of the answer and authority records, in reply order. */
  ttlOffsets: number[];
  stamps: number[];
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
    const now = this.resolver.cachedAnswer(kept.question);
    if (!now || !sameNumbers(now.stamps, kept.stamps) || now.ttls.length !== kept.ttlOffsets.length) return undefined;
    const out = copyReply(kept.bytes, query, plain, true);
    for (let i = 0; i < kept.ttlOffsets.length; i++) out.writeUInt32BE(now.ttls[i]!, kept.ttlOffsets[i]!);
    this.resolver.countCacheHit();
    return out;
  }

  /**
   * Keeps the general path's recursive reply (sent whole, not truncated) when the cache now answers the
   * question fresh with the same rcode and as many records as the reply holds: those entries' stamps are
   * what later hits are checked against.
   */
  store(plain: PlainQuery, question: Question, reply: Buffer): void {
    const now = this.resolver.cachedAnswer(question);
    if (!now || now.rcode !== (reply[3]! & 0xf)) return;
    const ttlOffsets = recordTtlOffsets(reply);
    if (!ttlOffsets || ttlOffsets.length !== now.ttls.length) return;
    this.entries.set(plain.key, { question: { ...question }, bytes: Buffer.from(reply), ttlOffsets, stamps: now.stamps });
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

function sameNumbers(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
