/**
 * The edge cache as other modules see it: the store plus the policy that turns responses into stored objects.
 * Every write to the store goes through here: a completed fill (`storeFetched`), a 304 that freshens a stored
 * response (`freshen`), origin push (`putPushed`, from replica.ts), invalidation and purges. The pipeline reads
 * with `lookup`; the store itself stays storage only.
 */
import { createCachedObject, ENTRY_BOOKKEEPING_BYTES, mergeNotModified, notModifiedSelects, type CachedObject, type NewObject } from './entry.js';
import { withAcceptEncoding } from './compression.js';
import { decideStorage } from './freshness.js';
import { single, type HeaderMap } from './headers.js';
import { cacheKey, type FillRequest } from './policy.js';
import type { PurgeTarget } from '../distribution/operations.js';
import { parseVary, variantKey, EdgeStore, type InsertResult, type StoreListing } from './store.js';

/** An object pushed by the origin (via the distribution tier), stored as if it had just been fetched. */
export interface PushedObject {
  /** Path and query, e.g. `/img/logo.png`. */
  path: string;
  /** Host it is stored under; omitted: it answers requests for any Host (the edge fronts one origin). */
  host?: string;
  status: number;
  /** Response headers (names in any case); Cache-Control etc. decide freshness as for a fetched response. */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The origin's ETag; overrides the one in headers when given. */
  etag?: string;
  /** Journal sequence number: a push never replaces an entry holding a higher one. */
  seq: number;
}

export type PushResult = InsertResult | 'not-storable';

/** A fetched response whose body is complete, with the storage decision already made (freshness.ts). */
export type FetchedObject = Omit<NewObject, 'via' | 'seq'>;

/** What a 304 did to the stored response being revalidated. */
export type FreshenResult =
  /** It selected the stored response: here it is with the 304's headers (stored again if still storable). */
  | { kind: 'freshened'; entry: CachedObject }
  /** It selected nothing we may update (§4.3.4): the stored copy was dropped; fetch the response whole. */
  | { kind: 'unselected' };

/** What `lookup` found, with the keys a miss fetches under (built once, by policy.ts). */
export interface Lookup {
  key: string;
  primaryKey: string;
  entry: CachedObject | undefined;
}

/** Stands for "any Host" in primary keys of pushed objects. */
const ANY_HOST = '*';

export class EdgeCache {
  /**
   * Set by the edge when it compresses (compression.ts): stored objects it would compress carry
   * `Vary: Accept-Encoding`, so a downstream cache keeps identity and encoded answers apart.
   */
  compressible: ((status: number, headers: HeaderMap, bodyLength: number) => boolean) | undefined;
  /**
   * Set by the edge when it compresses: told when a 304 freshened `stale` into `fresh` (the same body), so the
   * encoded variants made from `stale` are refreshed with it rather than compressed again (compression.ts).
   */
  freshened: ((stale: CachedObject, fresh: CachedObject) => void) | undefined;

  constructor(
    readonly store: EdgeStore<CachedObject>,
    private readonly now: () => number,
    private readonly via: string,
  ) {}

  get maxObjectBytes(): number {
    return this.store.maxObjectBytes;
  }

  /**
   * Asked when a fill's head arrives with a Content-Length: would the store keep a body of that size under this
   * key? Headers are not counted yet (they are a few hundred bytes against the body's share of the bound).
   */
  wouldStore(key: string, bodyBytes: number): boolean {
    return this.store.wouldStore(key, bodyBytes + key.length + ENTRY_BOOKKEEPING_BYTES);
  }

  /**
   * The stored variant for a request whose primary key (policy.ts `cacheKey`) is `primaryKey`, trying the
   * request's Host first, then pushed objects stored for any Host under the same `path`. Returns the variant key
   * too: a miss fetches under it.
   */
  lookup(primaryKey: string, path: string, headers: HeaderMap): Lookup {
    // A response without Vary is stored under the primary key itself (variant keys add `\n` and a header), so
    // one map lookup answers the common case; only a miss there asks which Vary names this URL uses.
    const plain = this.store.get(primaryKey);
    if (plain !== undefined) return { key: primaryKey, primaryKey, entry: plain };
    const key = variantKey(primaryKey, this.store.varyOf(primaryKey) ?? [], headers);
    let entry = key === primaryKey ? undefined : this.store.get(key);
    if (entry === undefined) {
      const anyPrimary = cacheKey(ANY_HOST, path);
      const vary = this.store.varyOf(anyPrimary);
      if (vary !== undefined) entry = this.store.get(variantKey(anyPrimary, vary, headers));
    }
    return { key, primaryKey, entry };
  }

  putPushed(o: PushedObject): PushResult {
    const headers: HeaderMap = {};
    for (const [k, v] of Object.entries(o.headers)) headers[k.toLowerCase()] = v;
    if (o.etag !== undefined) headers.etag = o.etag;
    headers['content-length'] = String(o.body.length);
    const host = o.host ?? ANY_HOST;
    const fill = { method: 'GET', url: o.path, headers: { host } };
    const decision = decideStorage(fill, o.status, headers, this.now);
    if (!decision.storable) return 'not-storable';
    const vary = parseVary(single(headers.vary));
    const primaryKey = cacheKey(host, o.path);
    // A pushed object has no request to take Vary values from: it is the variant for requests without them.
    const key = variantKey(primaryKey, vary, {});
    return this.store.set(
      createCachedObject({ key, primaryKey, host, path: o.path, status: o.status, headers: this.varied(o.status, headers, o.body.length), body: o.body, freshness: decision.freshness, vary, via: this.via, seq: o.seq }),
    );
  }

  /** Stores a completed fill. Returns the stored object, or undefined when the store did not take it. */
  storeFetched(o: FetchedObject): CachedObject | undefined {
    const entry = createCachedObject({ ...o, headers: this.varied(o.status, o.headers, o.body.length), via: this.via });
    return this.store.set(entry) === 'stored' ? entry : undefined;
  }

  private varied(status: number, headers: HeaderMap, bodyLength: number): HeaderMap {
    if (this.compressible === undefined || !this.compressible(status, headers, bodyLength)) return headers;
    return { ...headers, vary: withAcceptEncoding(single(headers.vary)) };
  }

  /**
   * §4.3.4: a 304 freshens the stored response it selects; the body stays. `fill` is the request that
   * revalidated, `requestTime` when it was sent (§4.2.3 response_delay counts towards the age).
   */
  freshen(stale: CachedObject, notModified: HeaderMap, fill: FillRequest, requestTime: number): FreshenResult {
    if (!notModifiedSelects(stale, notModified, this.store.variantCount(stale.primaryKey))) {
      this.store.delete(stale.key);
      return { kind: 'unselected' };
    }
    const headers = mergeNotModified(stale.headers, notModified);
    // The stored body came from a fill the policy let everyone share; a 304 that selects it (same validator)
    // says the cookie user's representation is that one. So the Cookie rule, which is about storing a body
    // fetched for one user, does not apply: without this, every logged-in revalidation dropped a shared copy.
    const decision = decideStorage({ ...fill, userCookie: false }, stale.status, headers, this.now, requestTime);
    const now = this.now();
    const freshness = decision.storable ? decision.freshness : { ...stale.freshness, responseTime: now, initialAgeSec: 0, freshUntil: now };
    const entry = createCachedObject({
      key: stale.key,
      primaryKey: stale.primaryKey,
      host: stale.host,
      path: stale.path,
      status: stale.status,
      headers,
      body: stale.body,
      freshness,
      vary: stale.vary,
      via: this.via,
      seq: stale.seq,
    });
    if (decision.storable) {
      if (this.store.set(entry) === 'stored') this.freshened?.(stale, entry);
    } else this.store.delete(stale.key);
    return { kind: 'freshened', entry };
  }

  /** RFC 9111 §4.4: after a successful unsafe request, the URI's stored responses (this Host's and pushed ones) go. */
  invalidate(host: string, path: string): number {
    return this.store.purgePrimary(cacheKey(host, path)) + this.store.purgePrimary(cacheKey(ANY_HOST, path));
  }

  /** Removes every variant of a path under every Host. Returns how many objects went. */
  purgeUrl(path: string): number {
    return this.store.purgePath(path);
  }

  purgePrefix(prefix: string): number {
    return this.store.purgePrefix(prefix);
  }

  purgeTag(tag: string): number {
    return this.store.purgeTag(tag);
  }

  /** A purge as the distribution tier and the admin API name it. Returns how many objects went. */
  purge(t: PurgeTarget): number {
    if (t.type === 'url') return this.purgeUrl(t.path);
    if (t.type === 'prefix') return this.purgePrefix(t.prefix);
    return this.purgeTag(t.tag);
  }

  list(): StoreListing[] {
    return this.store.list();
  }
}
