/**
 * A stored response (one variant of one URL) and what is precomputed for it at store time, so that a fresh HIT
 * costs a map lookup and one socket write: the client header list is flattened once, the body is one Buffer,
 * and the freshness deadline is a number. Only Age changes per request (one slot in the flat list).
 */
import { endToEnd, single, flatten, toClientHeaders, type HeaderMap } from './headers.js';
import { weakTag } from '../http/conditional.js';
import { parseTags } from '../http/tags.js';
import type { StoredEntry } from './store.js';
import type { Freshness } from './freshness.js';

/** Charged per stored entry beyond its body, headers and key: the object's fields and the policy's node. */
export const ENTRY_BOOKKEEPING_BYTES = 256;

export interface CachedObject extends StoredEntry {
  readonly host: string;
  readonly status: number;
  /** End-to-end response headers as the origin sent them (edge-only controls included: policy reads them). */
  readonly headers: HeaderMap;
  /** What a client sees: no hop-by-hop or edge-only headers, our Via, Content-Length of the stored body. */
  readonly clientHeaders: HeaderMap;
  readonly body: Buffer;
  readonly freshness: Freshness;
  readonly lastModified: string | undefined;
  /** `[...clientHeaders, 'age', <age>, 'x-cache', 'HIT', 'cache-status', 'dnscdn; hit']`: writeHead's raw form. */
  readonly hitHead: string[];
  /** Index of the Age value in hitHead. */
  readonly ageSlot: number;
  /**
   * The same head as an HTTP/2 header object, built on the first HTTP/2 fresh hit (deliver.ts http2HitHead), with
   * the headers the listener adds (`added`, HSTS) folded in. Mutable: a cache of the entry's own, not shared state.
   */
  http2Head: Http2Head | undefined;
}

/** A fresh hit's HTTP/2 head and the listener headers it was built with. */
export interface Http2Head {
  readonly added: HeaderMap;
  /** `:status`, the hit head's fields (repeated names as arrays) and `added`; only `age` is rewritten per hit. */
  readonly headers: Record<string, string | string[] | number>;
}

export interface NewObject {
  key: string;
  primaryKey: string;
  host: string;
  path: string;
  status: number;
  headers: HeaderMap;
  body: Buffer;
  freshness: Freshness;
  vary: readonly string[];
  via: string;
  seq?: number | undefined;
}

/** Cache-Status (RFC 9211) for a fresh hit; the cache name is the product's. */
export const CACHE_NAME = 'dnscdn';

export function createCachedObject(o: NewObject): CachedObject {
  const clientHeaders = toClientHeaders(o.headers, o.via);
  delete clientHeaders['content-length'];
  delete clientHeaders.age;
  clientHeaders['content-length'] = String(o.body.length);
  const base = flatten(clientHeaders);
  const hitHead = [...base, 'age', '0', 'x-cache', 'HIT', 'cache-status', `${CACHE_NAME}; hit`];
  let headerBytes = 0;
  for (const s of base) headerBytes += s.length + 2;
  const etag = single(o.headers.etag);
  return {
    key: o.key,
    primaryKey: o.primaryKey,
    path: o.path,
    host: o.host,
    status: o.status,
    headers: o.headers,
    clientHeaders,
    body: o.body,
    freshness: o.freshness,
    vary: o.vary,
    tags: parseTags(single(o.headers['surrogate-key']), single(o.headers['cache-tag'])),
    etag,
    lastModified: single(o.headers['last-modified']),
    seq: o.seq,
    // Charged size: body, headers, and a fixed allowance for the entry's bookkeeping.
    size: o.body.length + headerBytes + o.key.length + ENTRY_BOOKKEEPING_BYTES,
    hitHead,
    ageSlot: base.length + 1,
    http2Head: undefined,
  };
}

/**
 * Fields a 304 may not change (RFC 9111 §3.2): Content-Length, and the fields the stored body depends on
 * (its coding and range). Hop-by-hop fields (§3.1) are dropped by `endToEnd` before merging.
 */
const BODY_FIELDS = new Set(['content-length', 'content-encoding', 'content-range']);

/** RFC 9111 §4.3.4: the stored headers, updated with those of a 304 that selected this response. */
export function mergeNotModified(stored: HeaderMap, notModified: HeaderMap): HeaderMap {
  const out: HeaderMap = { ...stored };
  for (const [k, v] of Object.entries(endToEnd(notModified))) {
    if (v === undefined || BODY_FIELDS.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * Does this 304 select the stored response (§4.3.4)?
 * - a strong ETag selects only a stored response with the same strong ETag (strong comparison);
 * - a weak ETag (no strong one) selects a stored response whose ETag matches weakly;
 * - Last-Modified alone (a weak validator here) selects a stored response with the same Last-Modified;
 * - no validator at all selects the stored response only when it is the only one for its URL and has none either.
 * `storedForUrl`: how many responses (variants) are stored for the primary key.
 */
export function notModifiedSelects(entry: CachedObject, notModified: HeaderMap, storedForUrl: number): boolean {
  const etag = single(notModified.etag)?.trim();
  if (etag !== undefined) {
    const mine = entry.etag?.trim();
    if (mine === undefined) return false;
    if (!etag.startsWith('W/')) return !mine.startsWith('W/') && mine === etag;
    return weakTag(mine) === weakTag(etag);
  }
  const lm = single(notModified['last-modified']);
  if (lm !== undefined) return entry.lastModified === lm;
  return storedForUrl <= 1 && entry.etag === undefined && entry.lastModified === undefined;
}
