/**
 * The resolver's RRset cache: positive RRsets, negative answers (RFC 2308) and delegations, in one
 * lru-cache bounded by entry count. Entries carry an absolute expiry computed from an injected clock,
 * so TTLs count down in answers and tests move time instead of sleeping.
 *
 * Expired entries stay (until the LRU pushes them out or the stale window ends) so that they can be
 * served stale (RFC 8767) when no authority answers; normal lookups never see them.
 */
import { LRUCache } from 'lru-cache';
import { nameKey } from '../name.js';
import type { RecordClass, RecordType, ResourceRecord } from '../types.js';
import { STALE_TTL } from './options.js';
import { groupRRsets } from './reply.js';

/**
 * How far a cached RRset is trusted (RFC 2181 §5.4.1): glue < NS from a referral < authoritative answer.
 * Data of a lower rank never replaces fresh data of a higher one, and only 'answer' data answers clients.
 */
export type Rank = 'glue' | 'referral' | 'answer';
const RANK_ORDER: Record<Rank, number> = { glue: 0, referral: 1, answer: 2 };

export type NegativeKind = 'nxdomain' | 'nodata';

/**
 * What the resolver's fast path (resolver-fastpath.ts) checks instead of walking the cache again. Every
 * name with entries has a watch whose version changes whenever any entry at that name is stored,
 * replaced or removed (evicted, deleted, aged out of the stale window). An answer read from the cache
 * depends only on the entries at the names the walk visited, found or absent (a new NXDOMAIN at a
 * name, or an A record where the walk followed a CNAME, is a store at that name), and on the clock.
 * So an encoded reply built from a walk stays what the walk would answer while every version it read
 * holds and every entry it used is fresh. One watch per name, not per key: a store of another type at
 * the name also changes the version, which costs one general-path answer and is never wrong.
 */
export interface NameWatch {
  readonly version: number;
}

class Watch implements NameWatch {
  version = 0;
  /** Entries held at this name; the watch leaves the map with the last one. */
  entries = 0;
  constructor(readonly key: string) {}
}

/** One entry an answer was read from, as it was read: its name's watch and version, its key, its expiry. */
export interface EntryRead {
  readonly watch: NameWatch;
  readonly version: number;
  readonly key: string;
  readonly expiresAt: number;
}

interface PositiveEntry {
  watch: Watch;
  kind: 'rrset';
  records: ResourceRecord[];
  rank: Rank;
  expiresAt: number;
}

interface NegativeEntry {
  watch: Watch;
  kind: NegativeKind;
  /** The SOA that came with the negative answer, returned in the authority section (RFC 2308 §6). */
  soa: ResourceRecord | undefined;
  rank: Rank;
  expiresAt: number;
}

type Entry = PositiveEntry | NegativeEntry;

/** What a lookup found. TTLs in the records are what remains (or STALE_TTL when stale). */
export type CacheLookup =
  | { kind: 'miss' }
  | { kind: 'rrset'; records: ResourceRecord[]; rank: Rank; stale: boolean; read: EntryRead }
  | { kind: NegativeKind; soa: ResourceRecord | undefined; stale: boolean; read: EntryRead };

export interface CacheOptions {
  maxEntries: number;
  /** Optional bound on the estimated bytes held (see entrySize); 0 = bounded by entry count only. */
  maxBytes?: number;
  minTtl: number;
  maxTtl: number;
  maxNegativeTtl: number;
  /** Seconds after expiry during which `allowStale` lookups still find an entry. */
  staleWindow: number;
  now: () => number;
}

export interface LookupOptions {
  allowStale?: boolean;
  /** Lowest rank that may answer; 'answer' for client answers, 'glue' when looking for server addresses. */
  minRank?: Rank;
}

/**
 * What an entry costs, in bytes, roughly: its key plus, per record, its owner name, the fixed RR header
 * (10 bytes, RFC 1035 §3.2.1) and its data as text, plus a flat 64 for the JS objects around them.
 * An estimate is enough for a memory bound, and it is cheap (one pass over small records).
 */
function entrySize(entry: Entry, key: string): number {
  const records = entry.kind === 'rrset' ? entry.records : entry.soa ? [entry.soa] : [];
  let bytes = 64 + key.length;
  for (const rr of records) bytes += 64 + rr.name.length + 10 + (typeof rr.data === 'string' ? rr.data.length : JSON.stringify(rr.data).length);
  return bytes;
}

/** The watch's key for a name: every entry key at the name starts with it. */
function nameWatchKey(name: string, cls: RecordClass): string {
  return `${nameKey(name)}|${cls}`;
}

/** Key for one RRset; NXDOMAIN covers every type at a name, so it has a key of its own. */
function rrsetKey(name: string, type: RecordType | 'NXDOMAIN', cls: RecordClass): string {
  return `${nameKey(name)}|${type}|${cls}`;
}

export class ResolverCache {
  private readonly lru: LRUCache<string, Entry>;
  /** Bounded by the LRU: a watch lives while its name has an entry. */
  private readonly watches = new Map<string, Watch>();

  constructor(private readonly options: CacheOptions) {
    const maxBytes = options.maxBytes ?? 0;
    this.lru = new LRUCache<string, Entry>({
      max: options.maxEntries,
      ...(maxBytes > 0 && { maxSize: maxBytes, sizeCalculation: entrySize }),
      // Every way an entry leaves (evicted, deleted, replaced by a set) changes its name's version.
      dispose: (entry) => this.released(entry.watch),
    });
  }

  /** Names with entries (each has a watch); for tests of the bound. */
  get watchedNames(): number {
    return this.watches.size;
  }

  /**
   * Stores `entry` under `key`. The watch counts the new entry before the set, so that a replacement
   * (whose dispose releases the old entry of the same watch) never empties it in between.
   */
  private store(key: string, name: string, cls: RecordClass, make: (watch: Watch) => Entry): void {
    const watchKey = nameWatchKey(name, cls);
    let watch = this.watches.get(watchKey);
    if (watch === undefined) {
      watch = new Watch(watchKey);
      this.watches.set(watchKey, watch);
    }
    watch.entries++;
    watch.version++;
    const entry = make(watch);
    this.lru.set(key, entry);
    // Refused (larger than the byte bound allows): nothing was stored under this watch.
    if (this.lru.peek(key) !== entry) this.released(watch);
  }

  private released(watch: Watch): void {
    watch.version++;
    if (--watch.entries === 0 && this.watches.get(watch.key) === watch) this.watches.delete(watch.key);
  }

  /** Marks entries as recently used, as the lookups of the reads would have (the LRU's order only). */
  touch(reads: readonly EntryRead[]): void {
    for (const read of reads) this.lru.get(read.key);
  }

  get size(): number {
    return this.lru.size;
  }

  /** Estimated bytes held (0 without a byte bound: lru-cache only sums sizes when it has maxSize). */
  get bytes(): number {
    return this.lru.calculatedSize ?? 0;
  }

  /** min(ttl, maxTtl), at least minTtl. */
  private clampTtl(ttl: number): number {
    return Math.max(this.options.minTtl, Math.min(ttl, this.options.maxTtl));
  }

  /**
   * The TTLs a fresh upstream answer goes to the client with: per RRset the smallest TTL, clamped as
   * putRRset clamps it, so the first answer and the cached ones that follow agree (and count down from it).
   */
  clientTtls(records: ResourceRecord[]): ResourceRecord[] {
    return groupRRsets(records).flatMap((rrset) => {
      const ttl = this.clampTtl(Math.min(...rrset.map((r) => r.ttl ?? 0)));
      return rrset.map((r) => ({ ...r, ttl }));
    });
  }

  /** The TTL of a negative answer (RFC 2308 §5): min(SOA TTL, SOA MINIMUM), clamped, at most maxNegativeTtl. */
  negativeTtl(soa: ResourceRecord & { type: 'SOA' }): number {
    return Math.min(this.clampTtl(Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0)), this.options.maxNegativeTtl);
  }

  /** The SOA of a fresh negative answer as the client sees it: with the negative TTL the cache uses. */
  clientSoa(soa: ResourceRecord | undefined): ResourceRecord | undefined {
    return soa?.type === 'SOA' ? { ...soa, ttl: this.negativeTtl(soa) } : soa;
  }

  /** Stores one RRset (all records share name, type and class). Returns false when a better entry was kept. */
  putRRset(records: ResourceRecord[], rank: Rank): boolean {
    const first = records[0];
    if (first === undefined) return false;
    // RFC 2181 §5.2: an RRset has one TTL; use the smallest seen.
    const ttl = this.clampTtl(Math.min(...records.map((r) => r.ttl ?? 0)));
    if (ttl <= 0) return false; // TTL 0: use once, never cache (RFC 1035 §3.2.1)
    const key = rrsetKey(first.name, first.type, first.class ?? 'IN');
    if (!this.mayReplace(key, rank)) return false;
    const expiresAt = this.options.now() + ttl * 1000;
    this.store(key, first.name, first.class ?? 'IN', (watch) => ({ watch, kind: 'rrset', records: records.map((r) => ({ ...r })), rank, expiresAt }));
    // A positive answer supersedes an NXDOMAIN for the name.
    if (rank === 'answer') this.lru.delete(rrsetKey(first.name, 'NXDOMAIN', first.class ?? 'IN'));
    return true;
  }

  /**
   * Stores a negative answer. RFC 2308 §5: its TTL is the smaller of the SOA's TTL and its MINIMUM field;
   * without an SOA the answer is not cached (§5, "SHOULD NOT be cached").
   */
  putNegative(kind: NegativeKind, name: string, type: RecordType, cls: RecordClass, soa: ResourceRecord | undefined): boolean {
    if (soa === undefined || soa.type !== 'SOA') return false;
    const ttl = this.negativeTtl(soa);
    if (ttl <= 0) return false;
    const key = rrsetKey(name, kind === 'nxdomain' ? 'NXDOMAIN' : type, cls);
    if (!this.mayReplace(key, 'answer')) return false;
    const expiresAt = this.options.now() + ttl * 1000;
    this.store(key, name, cls, (watch) => ({ watch, kind, soa: { ...soa }, rank: 'answer', expiresAt }));
    return true;
  }

  lookup(name: string, type: RecordType, cls: RecordClass, opts: LookupOptions = {}): CacheLookup {
    const nx = this.find(rrsetKey(name, 'NXDOMAIN', cls), opts);
    if (nx) return nx;
    return this.find(rrsetKey(name, type, cls), opts) ?? { kind: 'miss' };
  }

  private find(key: string, opts: LookupOptions): Exclude<CacheLookup, { kind: 'miss' }> | undefined {
    const entry = this.lru.get(key);
    if (entry === undefined) return undefined;
    if (RANK_ORDER[entry.rank] < RANK_ORDER[opts.minRank ?? 'answer']) return undefined;
    const now = this.options.now();
    const stale = now >= entry.expiresAt;
    if (stale) {
      if (now >= entry.expiresAt + this.options.staleWindow * 1000) {
        this.lru.delete(key);
        return undefined;
      }
      if (!opts.allowStale) return undefined;
    }
    // Remaining TTL, rounded up so that a fresh entry never shows 0.
    const ttl = stale ? STALE_TTL : Math.ceil((entry.expiresAt - now) / 1000);
    const read: EntryRead = { watch: entry.watch, version: entry.watch.version, key, expiresAt: entry.expiresAt };
    if (entry.kind === 'rrset') {
      return { kind: 'rrset', records: entry.records.map((r) => ({ ...r, ttl })), rank: entry.rank, stale, read };
    }
    return { kind: entry.kind, soa: entry.soa && { ...entry.soa, ttl }, stale, read };
  }

  /** A new entry may replace an old one unless the old one is fresh and more trusted. */
  private mayReplace(key: string, rank: Rank): boolean {
    const old = this.lru.peek(key);
    if (old === undefined || old.expiresAt <= this.options.now()) return true;
    return RANK_ORDER[rank] >= RANK_ORDER[old.rank];
  }
}
