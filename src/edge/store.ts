/**
 * The edge's object store: byte-bounded storage run by an eviction/admission policy (src/edge/eviction/:
 * `lru` = lru-cache with maxSize = body + header bytes, `w-tinylfu`, `s3-fifo`) plus the indexes that purges
 * need (by path, by primary key for Vary variants, by Surrogate-Key/Cache-Tag). Storage only: it
 * does not know HTTP caching rules (those live in freshness.ts and pipeline.ts), the way undici keeps its
 * memory-cache-store apart from its cache interceptor. The hit-ratio benchmark drives it without HTTP.
 *
 * Keys: a primary key is `host + path?query` (Host is part of the key, as Varnish's builtin does); a variant key
 * adds the normalised values of the request headers the response's Vary names (RFC 9111 §4.1).
 */
import { chooseCoding } from './accept-encoding.js';
import { createEvictionPolicy } from './eviction/create-policy.js';
import type { EvictionPolicy } from './eviction/eviction-policy.js';
import { DEFAULT_CACHE_POLICY, type CachePolicyName } from '../config/cache-policies.js';

/** What the store needs to know about an entry; the edge's entries (CachedObject) extend it. */
export interface StoredEntry {
  /** Variant key (equals primaryKey when the response has no Vary). */
  readonly key: string;
  readonly primaryKey: string;
  /** Path and query, for purges by URL or prefix. */
  readonly path: string;
  /** Bytes charged against maxBytes: body plus headers. */
  readonly size: number;
  /** Lowercased request header names the response varies on (empty: no Vary). */
  readonly vary: readonly string[];
  /** Surrogate-Key / Cache-Tag values, for purgeTag. */
  readonly tags: readonly string[];
  readonly etag?: string | undefined;
  /** Sequence number of the push that stored it (origin journal); undefined for entries pulled on a miss. */
  readonly seq?: number | undefined;
}

export interface EdgeStoreOptions {
  /** Total bytes the store may hold (body + headers of every entry). */
  maxBytes: number;
  /** Largest single entry admitted; larger responses pass through unstored. Defaults to maxBytes / 8. */
  maxObjectBytes?: number;
  /** Called for each entry that the byte bound pushed out (not for purges or replacements). */
  onEvict?: (entry: StoredEntry) => void;
  /** Which entries to keep (config/cache-policies.ts). Default: DEFAULT_CACHE_POLICY. */
  policy?: CachePolicyName;
  /** Mean charged size of an object, to size the policy's fixed tables (eviction/capacity.ts). */
  expectedObjectBytes?: number;
  /** Seed of the policy's key hash (eviction/key-hash.ts); default random. Fixed only for reproducible replays. */
  hashSeed?: number;
}

export interface StoreListing {
  key: string;
  path: string;
  etag: string | undefined;
  seq: number | undefined;
  size: number;
}

/** Builds a variant key: the primary key plus each varied header's normalised value (§4.1). */
export function variantKey(primaryKey: string, vary: readonly string[], headers: Record<string, string | string[] | undefined>): string {
  if (vary.length === 0) return primaryKey;
  let key = primaryKey;
  for (const name of vary) {
    const v = headers[name];
    const text = v === undefined ? '' : Array.isArray(v) ? v.join(',') : v;
    // Accept-Encoding counts only by the coding it selects (br | gzip | identity): three variants at most,
    // not one per spelling (accept-encoding.ts). The fill asks the origin for that coding alone (policy.ts).
    if (name === 'accept-encoding') {
      key += `\n${name}:${chooseCoding(text, true, true)}`;
      continue;
    }
    // Normalise the way §4.1 allows: whitespace around list separators is insignificant; case is kept
    // because most header values are case-sensitive.
    key += `\n${name}:${text.trim().replace(/\s*,\s*/g, ',')}`;
  }
  return key;
}

/** The Vary names of a response: lowercased, deduplicated and sorted, so variant keys do not depend on their order. */
export function parseVary(v: string | undefined): string[] {
  if (v === undefined) return [];
  return [...new Set(v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''))].sort();
}

/** `not-admitted`: the policy kept what it holds instead (admission); the response is served, not stored. */
export type InsertResult = 'stored' | 'too-large' | 'older-seq' | 'not-admitted';

export class EdgeStore<E extends StoredEntry = StoredEntry> {
  readonly maxBytes: number;
  readonly maxObjectBytes: number;
  private readonly policy: EvictionPolicy<E>;
  /** primary key -> the Vary names of its latest response and its variant keys. */
  private readonly primaries = new Map<string, { vary: readonly string[]; keys: Set<string> }>();
  private readonly byPath = new Map<string, Set<string>>();
  private readonly byTag = new Map<string, Set<string>>();
  private evictionCount = 0;
  private readonly onEvict: ((entry: StoredEntry) => void) | undefined;

  constructor(options: EdgeStoreOptions) {
    if (!(options.maxBytes > 0)) throw new Error('maxBytes must be positive');
    this.maxBytes = options.maxBytes;
    this.maxObjectBytes = Math.min(options.maxObjectBytes ?? Math.floor(options.maxBytes / 8), options.maxBytes);
    this.onEvict = options.onEvict;
    this.policy = createEvictionPolicy<E>(options.policy ?? DEFAULT_CACHE_POLICY, {
      maxBytes: this.maxBytes,
      expectedObjectBytes: options.expectedObjectBytes,
      ...(options.hashSeed !== undefined ? { hashSeed: options.hashSeed } : {}),
      onRemove: (key, entry, reason) => {
        this.unindex(key, entry);
        if (reason === 'evict') {
          this.evictionCount++;
          this.onEvict?.(entry);
        }
      },
    });
  }

  /** The policy's name (a label of the edge's metrics). */
  get policyName(): CachePolicyName {
    return this.policy.name;
  }

  /** Returns the entry and records the use with the policy. The fresh-hit path: O(1), no allocation. */
  get(key: string): E | undefined {
    return this.policy.get(key);
  }

  /** Returns the entry without recording a use (for revalidation bookkeeping and listings). */
  peek(key: string): E | undefined {
    return this.policy.peek(key);
  }

  /** The Vary names that the latest stored response for this primary key used, or undefined if none is stored. */
  varyOf(primaryKey: string): readonly string[] | undefined {
    return this.primaries.get(primaryKey)?.vary;
  }

  /** How many variants are stored for this primary key. */
  variantCount(primaryKey: string): number {
    return this.primaries.get(primaryKey)?.keys.size ?? 0;
  }

  admits(size: number): boolean {
    return size <= this.maxObjectBytes;
  }

  /** Would `set` of a new entry of this charged size store it now (see EvictionPolicy.wouldAdmit)? */
  wouldStore(key: string, size: number): boolean {
    return this.admits(size) && this.policy.wouldAdmit(key, size);
  }

  /**
   * Offers an entry to the policy, which may evict others to stay under maxBytes or refuse it. An entry with a
   * `seq` (origin push: the operator asked for it) is always admitted, and never replaces one holding a higher
   * `seq` (pushes may arrive late; the newer version wins).
   * A response whose Vary names differ from the stored variants' replaces all of them (§4.1: the latest Vary rules).
   */
  set(entry: E): InsertResult {
    if (!this.admits(entry.size)) return 'too-large';
    const old = this.policy.peek(entry.key);
    if (old?.seq !== undefined && entry.seq !== undefined && entry.seq < old.seq) return 'older-seq';
    const primary = this.primaries.get(entry.primaryKey);
    if (primary && !sameNames(primary.vary, entry.vary)) this.purgePrimary(entry.primaryKey);
    const replaced = this.policy.peek(entry.key);
    if (replaced !== undefined) this.unindex(entry.key, replaced);
    if (!this.policy.set(entry.key, entry, entry.seq !== undefined ? 'always' : 'offer')) {
      return replaced === undefined ? 'not-admitted' : 'too-large';
    }
    this.index(entry);
    return 'stored';
  }

  delete(key: string): boolean {
    return this.policy.delete(key);
  }

  /** Removes every variant of one primary key. */
  purgePrimary(primaryKey: string): number {
    const rec = this.primaries.get(primaryKey);
    if (!rec) return 0;
    let n = 0;
    for (const key of [...rec.keys]) if (this.policy.delete(key)) n++;
    return n;
  }

  /** Removes every variant, under every Host, of one path (path + query as requested). */
  purgePath(path: string): number {
    const keys = this.byPath.get(path);
    if (!keys) return 0;
    let n = 0;
    for (const key of [...keys]) if (this.policy.delete(key)) n++;
    return n;
  }

  /** Removes every entry whose path starts with `prefix`. O(paths stored): an operator action, not a hot path. */
  purgePrefix(prefix: string): number {
    let n = 0;
    for (const path of [...this.byPath.keys()]) if (path.startsWith(prefix)) n += this.purgePath(path);
    return n;
  }

  /** Removes every entry tagged `tag` by Surrogate-Key or Cache-Tag. */
  purgeTag(tag: string): number {
    const keys = this.byTag.get(tag);
    if (!keys) return 0;
    let n = 0;
    for (const key of [...keys]) if (this.policy.delete(key)) n++;
    return n;
  }

  clear(): void {
    this.policy.clear();
    this.primaries.clear();
    this.byPath.clear();
    this.byTag.clear();
  }

  /** Every entry in the policy's order (for `lru`: least recently used last). */
  list(): StoreListing[] {
    const out: StoreListing[] = [];
    for (const [key, e] of this.policy.entries()) out.push({ key, path: e.path, etag: e.etag, seq: e.seq, size: e.size });
    return out;
  }

  /** Keys in the policy's order (for `lru`: most to least recently used; eviction order is the reverse). */
  keys(): string[] {
    const out: string[] = [];
    for (const [key] of this.policy.entries()) out.push(key);
    return out;
  }

  get bytes(): number {
    return this.policy.bytes;
  }

  get objects(): number {
    return this.policy.size;
  }

  /** New objects the policy refused to store (admission). */
  get rejections(): number {
    return this.policy.rejections;
  }

  get evictions(): number {
    return this.evictionCount;
  }

  private index(e: E): void {
    let rec = this.primaries.get(e.primaryKey);
    if (!rec) this.primaries.set(e.primaryKey, (rec = { vary: e.vary, keys: new Set() }));
    rec.keys.add(e.key);
    addTo(this.byPath, e.path, e.key);
    for (const t of e.tags) addTo(this.byTag, t, e.key);
  }

  private unindex(key: string, e: E): void {
    const rec = this.primaries.get(e.primaryKey);
    if (rec) {
      rec.keys.delete(key);
      if (rec.keys.size === 0) this.primaries.delete(e.primaryKey);
    }
    removeFrom(this.byPath, e.path, key);
    for (const t of e.tags) removeFrom(this.byTag, t, key);
  }
}

/**
 * One access of a replayed trace (hit-ratio benchmark): true on a hit; on a miss the object is admitted
 * (if not larger than maxObjectBytes), exactly as the edge stores a fetched response.
 */
export function replayAccess(store: EdgeStore, key: string, size: number): boolean {
  if (store.get(key) !== undefined) return true;
  store.set({ key, primaryKey: key, path: key, size, vary: [], tags: [] });
  return false;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function addTo(index: Map<string, Set<string>>, name: string, key: string): void {
  let set = index.get(name);
  if (!set) index.set(name, (set = new Set()));
  set.add(key);
}

function removeFrom(index: Map<string, Set<string>>, name: string, key: string): void {
  const set = index.get(name);
  if (!set) return;
  set.delete(key);
  if (set.size === 0) index.delete(name);
}
