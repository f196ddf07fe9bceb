/**
 * The edge cache as other modules see it: the store plus the policy that turns responses into stored objects.
 * Origin push (src/edge/replica.ts) calls `putPushed` and the purge methods; the pipeline calls `lookup`.
 */
import { createCachedObject, type CachedObject } from './entry.js';
import { decideStorage } from './freshness.js';
import { single, type HeaderMap } from './headers.js';
import { parseVary } from './shared-fetch.js';
import { variantKey, EdgeStore, type InsertResult, type StoreListing } from './store.js';

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

/** Stands for "any Host" in primary keys of pushed objects. */
const ANY_HOST = '*';

export function primaryKeyOf(host: string, path: string): string {
  return `${host.toLowerCase()}${path}`;
}

export class EdgeCache {
  constructor(
    readonly store: EdgeStore<CachedObject>,
    private readonly now: () => number,
    private readonly via: string,
  ) {}

  get maxObjectBytes(): number {
    return this.store.maxObjectBytes;
  }

  /**
   * The stored variant for a request, trying the request's Host first, then pushed objects stored for any Host.
   * Returns the keys too: a miss fetches under them.
   */
  lookup(host: string, path: string, headers: HeaderMap): { key: string; primaryKey: string; entry: CachedObject | undefined } {
    const primaryKey = primaryKeyOf(host, path);
    const key = variantKey(primaryKey, this.store.varyOf(primaryKey) ?? [], headers);
    let entry = this.store.get(key);
    if (entry === undefined) {
      const anyPrimary = primaryKeyOf(ANY_HOST, path);
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
    const primaryKey = primaryKeyOf(host, o.path);
    // A pushed object has no request to take Vary values from: it is the variant for requests without them.
    const key = variantKey(primaryKey, vary, {});
    return this.store.set(
      createCachedObject({ key, primaryKey, host, path: o.path, status: o.status, headers, body: o.body, freshness: decision.freshness, vary, via: this.via, seq: o.seq }),
    );
  }

  /** RFC 9111 §4.4: after a successful unsafe request, the URI's stored responses (this Host's and pushed ones) go. */
  invalidate(host: string, path: string): number {
    return this.store.purgePrimary(primaryKeyOf(host, path)) + this.store.purgePrimary(primaryKeyOf(ANY_HOST, path));
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

  list(): StoreListing[] {
    return this.store.list();
  }
}
