/**
 * Compression at the edge (node:zlib): stored responses that are worth compressing get a Brotli or gzip
 * variant, made once per stored object and coding, kept in the store beside the identity variant, and served
 * from there to every later client that accepts that coding.
 *
 * What is compressed: a stored 200 whose Content-Type is in `types` (prefixes: `text/`, or exact types), whose
 * body is at least `minBytes`, that has no Content-Encoding (what the origin compressed is never compressed
 * again) and no `Cache-Control: no-transform` (RFC 9110 §7.7). Pass and unstored responses are relayed as the
 * origin sent them: compressing per request is the CPU cost this design avoids.
 *
 * The variant:
 * - key: the identity variant's key + `\naccept-encoding:br|gzip`, i.e. Vary: Accept-Encoding normalised to three
 *   values (accept-encoding.ts), so client spellings never multiply variants;
 * - headers: the identity's, with Content-Encoding, Content-Length of the encoded body, `Vary: Accept-Encoding`,
 *   and the ETag suffixed: `"abc"` -> `"abc-br"` (strong: the stored encoded bytes are fixed for as long as the
 *   variant lives, so byte ranges and If-Range over them are valid, RFC 9110 §8.8.1; the suffix keeps the
 *   origin's validator from matching a different representation). If-None-Match: "abc-br" then gets 304;
 * - Range requests address the encoded bytes (the variant is an ordinary stored object to deliver.ts);
 * - freshness: the identity's (same Age, same TTL); it goes with the identity object: a refetched identity starts
 *   new variants; a revalidated one (304, same body) carries its variants over with the new headers and
 *   freshness, the encoded bytes kept (`refresh`); purges take variants with them (same path and primary key).
 *
 * Compression runs on libuv's thread pool (zlib's async API) and concurrent requests for the same variant wait
 * for the same job; at most MAX_JOBS jobs run, past that a client gets identity rather than a queue.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { chooseCoding, type Coding } from './accept-encoding.js';
import type { EdgeCache } from './cache.js';
import { createCachedObject, type CachedObject } from './entry.js';
import { single, type HeaderMap } from './headers.js';

export interface CompressionOptions {
  /** Content types compressed: a value ending in `/` is a prefix (`text/`), others match exactly (no parameters). */
  types: readonly string[];
  /** Bodies smaller than this stay identity (the coding's framing would eat the gain). */
  minBytes: number;
  /** Codings offered. */
  br: boolean;
  gzip: boolean;
}

export const DEFAULT_COMPRESSION: CompressionOptions = {
  types: ['text/', 'application/json', 'application/javascript', 'application/xml', 'application/xhtml+xml', 'application/manifest+json', 'image/svg+xml', 'application/wasm'],
  minBytes: 256,
  br: true,
  gzip: true,
};

/**
 * Brotli quality for stored variants. Measured on 159 KiB of this repo's text (README, JS, JSON), one pinned core
 * of a loaded shared machine: q5 -> 0.313 of the size at ~63 ms per MiB; q11 -> 0.284 at ~3,600 ms per MiB
 * (57x the CPU for 9 % fewer bytes); q9 -> 0.309 at ~1,300 ms/MiB. The first br client of an object waits for
 * its compression, so q11 would stall it seconds on a 1 MiB script; q5 is where the gain flattens. gzip 6 (zlib's
 * default): 0.329 at ~23 ms/MiB, level 9 saves 0.3 % more. Nothing is compressed on the fly per request: pass and
 * unstored answers are relayed as the origin coded them.
 */
const BROTLI_QUALITY = 5;
const GZIP_LEVEL = 6;
/** Compressions running at once (the thread pool has 4 threads by default). */
const MAX_JOBS = 64;

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

export class EdgeCompression {
  /** The encoded variants made from each identity object (dropped with it). */
  private readonly made = new WeakMap<CachedObject, { br?: CachedObject; gzip?: CachedObject }>();
  private readonly jobs = new Map<string, Promise<CachedObject | undefined>>();
  /** compressible() of each stored object, worked out at its first hit from a client that accepts a coding. */
  private readonly verdicts = new WeakMap<CachedObject, boolean>();

  constructor(
    private readonly cache: EdgeCache,
    private readonly options: CompressionOptions,
    /** The edge's Via (`1.1 name`), as on every stored object. */
    private readonly via: string,
    /** Told of each variant compressed (the compressions metric). */
    private readonly onCompressed: (coding: 'br' | 'gzip') => void = () => undefined,
  ) {}

  /** Would a stored object with these headers and body length be compressed? (Vary: Accept-Encoding goes on it.) */
  compressible(status: number, headers: HeaderMap, bodyLength: number): boolean {
    if (status !== 200 || bodyLength < this.options.minBytes) return false;
    if (headers['content-encoding'] !== undefined) return false;
    const cc = single(headers['cache-control']);
    if (cc !== undefined && /(^|[\s,])no-transform([\s,]|$)/i.test(cc)) return false;
    const type = single(headers['content-type']);
    if (type === undefined) return false;
    const semi = type.indexOf(';');
    const bare = (semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase();
    for (const t of this.options.types) if (t.endsWith('/') ? bare.startsWith(t) : bare === t) return true;
    return false;
  }

  /** The coding this request gets for `entry`: identity when the client or the object does not call for one. */
  codingFor(acceptEncoding: string | undefined, entry: CachedObject): Coding {
    if (acceptEncoding === undefined) return 'identity';
    // Browsers send Accept-Encoding on every request: the verdict is kept per object so that hits on images and
    // other incompressible objects cost a WeakMap lookup, not header parsing.
    let ok = this.verdicts.get(entry);
    if (ok === undefined) {
      ok = this.compressible(entry.status, entry.headers, entry.body.length);
      this.verdicts.set(entry, ok);
    }
    if (!ok) return 'identity';
    return chooseCoding(acceptEncoding, this.options.br, this.options.gzip);
  }

  /** The stored encoded variant of `entry`, if it was made and is still in the store. */
  stored(entry: CachedObject, coding: 'br' | 'gzip'): CachedObject | undefined {
    const v = this.made.get(entry)?.[coding];
    return v !== undefined && this.cache.store.peek(v.key) === v ? v : undefined;
  }

  /** Makes (or joins the making of) the encoded variant; undefined when too many jobs run or it cannot be stored. */
  encode(entry: CachedObject, coding: 'br' | 'gzip'): Promise<CachedObject | undefined> | undefined {
    const key = `${entry.key}\naccept-encoding:${coding}`;
    const running = this.jobs.get(key);
    if (running) return running;
    if (this.jobs.size >= MAX_JOBS) return undefined;
    const job = this.run(entry, coding, key).finally(() => this.jobs.delete(key));
    this.jobs.set(key, job);
    return job;
  }

  private async run(entry: CachedObject, coding: 'br' | 'gzip', key: string): Promise<CachedObject | undefined> {
    const body =
      coding === 'br'
        ? await brotli(entry.body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: entry.body.length } })
        : await gzip(entry.body, { level: GZIP_LEVEL });
    this.onCompressed(coding);
    const variant = this.variantOf(entry, coding, body, key);
    if (this.cache.store.set(variant) !== 'stored') return undefined;
    const made = this.made.get(entry) ?? {};
    made[coding] = variant;
    this.made.set(entry, made);
    return variant;
  }

  /**
   * After a 304 freshened `stale` into `fresh` (RFC 9111 §4.3.4: the stored body stays, headers and freshness are
   * new): the variants made from `stale` that are still stored are stored again with `fresh`'s headers and
   * freshness around the same encoded bytes. Without this a revalidated object was compressed again on its next
   * encoded hit, and the old variant, stale, stayed in the store until then.
   */
  refresh(stale: CachedObject, fresh: CachedObject): void {
    const made = this.made.get(stale);
    if (made === undefined) return;
    // A 304 may bring Cache-Control: no-transform (RFC 9110 §7.7): then the old variants go, and none is made.
    const stillCompressible = this.compressible(fresh.status, fresh.headers, fresh.body.length);
    const carried: { br?: CachedObject; gzip?: CachedObject } = {};
    for (const coding of ['br', 'gzip'] as const) {
      const old = made[coding];
      if (old === undefined || this.cache.store.peek(old.key) !== old) continue;
      if (!stillCompressible) {
        this.cache.store.delete(old.key);
        continue;
      }
      const variant = this.variantOf(fresh, coding, old.body, old.key);
      if (this.cache.store.set(variant) === 'stored') carried[coding] = variant;
    }
    this.made.set(fresh, carried);
  }

  /** The encoded variant of `entry`: its headers with the coding's, the encoded `body`, its freshness. */
  private variantOf(entry: CachedObject, coding: 'br' | 'gzip', body: Buffer, key: string): CachedObject {
    const headers: HeaderMap = { ...entry.headers, 'content-encoding': coding, 'content-length': String(body.length), vary: withAcceptEncoding(single(entry.headers.vary)) };
    if (entry.etag !== undefined) headers.etag = suffixedEtag(entry.etag, coding);
    return createCachedObject({
      key,
      primaryKey: entry.primaryKey,
      host: entry.host,
      path: entry.path,
      status: entry.status,
      headers,
      body,
      freshness: entry.freshness,
      vary: entry.vary,
      via: this.via,
      seq: undefined,
    });
  }
}

/** `"abc"` -> `"abc-br"`, `W/"abc"` -> `W/"abc-br"`: the encoded representation's own validator. */
export function suffixedEtag(etag: string, coding: 'br' | 'gzip'): string {
  const t = etag.trim();
  return t.endsWith('"') ? `${t.slice(0, -1)}-${coding}"` : `${t}-${coding}`;
}

/** The origin's Vary plus Accept-Encoding (once). */
export function withAcceptEncoding(vary: string | undefined): string {
  if (vary === undefined || vary.trim() === '') return 'Accept-Encoding';
  if (/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(vary)) return vary;
  return `${vary}, Accept-Encoding`;
}
