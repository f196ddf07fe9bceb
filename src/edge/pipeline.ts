/**
 * The edge's request pipeline, a state machine in the spirit of Varnish's cache_req_fsm.c:
 *
 *   recv -> hash -> lookup -> hit ---------------------------------> deliver
 *                          \-> revalidate -> fetch -> deliver (304 refreshed | new body | stale-if-error)
 *                          \-> miss -------> fetch -> deliver (streamed while it arrives) | pass
 *        \-> pass (unsafe methods, Authorization-less rules, non-shareable responses) -> deliver
 *
 * Each step returns the next; the loop is capped. The pipeline never writes to the socket: it returns a
 * `Delivery` value that the server writes (deliver.ts). What is cached and shared is decided in policy.ts,
 * freshness in freshness.ts, storage in store.ts.
 */
import type { IncomingMessage, IncomingHttpHeaders } from 'node:http';
import { HttpError } from '../errors.js';
import { logger } from '../log.js';
import type { EdgeCache } from './cache.js';
import type { CachedObject } from './entry.js';
import { evaluateRequest, requestControls, staleIfErrorAllows, type RequestControls } from './freshness.js';
import { single, toOriginHeaders, type HeaderMap } from './headers.js';
import type { EdgeMetrics } from './metrics.js';
import type { OriginClient, RequestBody } from './origin-client.js';
import { looksUp, sharesFill, type CookieRule, type FillRequest } from './policy.js';
import { SharedFetch, type FetchContext, type FetchOutcome } from './shared-fetch.js';
import { variantKey } from './store.js';

const log = logger('edge');

export interface EdgeRequest {
  method: string;
  /** Path and query as requested (origin-form). */
  path: string;
  host: string;
  headers: IncomingHttpHeaders;
  clientAddress: string;
  /** The body to forward on a pass; undefined for GET and HEAD, whose bodies are read and dropped (server.ts). */
  body: RequestBody | undefined;
}

/** X-Cache for people; Cache-Status (RFC 9211) carries the details. */
export type CacheOutcome = 'HIT' | 'MISS' | 'STALE' | 'REVALIDATED' | 'PASS';

export type Delivery =
  | { kind: 'object'; entry: CachedObject; cache: CacheOutcome; cacheStatus: string }
  | { kind: 'stream'; fetch: SharedFetch; status: number; headers: HeaderMap; cache: CacheOutcome; cacheStatus: string }
  | { kind: 'pass'; response: IncomingMessage; cache: CacheOutcome; cacheStatus: string }
  | { kind: 'synth'; status: number; message: string; cacheStatus?: string };

type Step =
  | { name: 'recv' }
  | { name: 'hash' }
  | { name: 'lookup'; key: string; primaryKey: string; entry: CachedObject | undefined }
  | { name: 'miss'; key: string; primaryKey: string }
  | { name: 'revalidate'; key: string; primaryKey: string; entry: CachedObject }
  | { name: 'fetch'; fetch: SharedFetch; owner: boolean; stale: CachedObject | undefined }
  | { name: 'pass'; reason: string }
  | { name: 'deliver'; delivery: Delivery };

/** Steps per request: recv, hash, lookup, revalidate, fetch, one restart of those, pass, deliver fit well under it. */
const MAX_STEPS = 16;
/** In-flight fetches tracked for coalescing; beyond it requests fetch on their own (bounded, never queued). */
const MAX_IN_FLIGHT = 10_000;
/** Request headers that make the client's request conditional or partial: a shared fill must not carry them. */
const CLIENT_CONDITIONALS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];

export interface PipelineOptions {
  cache: EdgeCache;
  origin: OriginClient;
  metrics: EdgeMetrics;
  now: () => number;
  via: string;
  /** Upper bound on a client's max-stale, in seconds. */
  maxStaleSec: number;
  /** Which request cookies make a response private unless it says otherwise (policy.ts). */
  cookies: CookieRule;
}

export class EdgePipeline {
  private readonly inFlight = new Map<string, SharedFetch>();
  private readonly fetchContext: FetchContext;

  constructor(private readonly o: PipelineOptions) {
    this.fetchContext = { store: o.cache.store, origin: o.origin, now: o.now, via: o.via };
  }

  /** Fetches currently in flight (for tests and metrics). */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * The fast path for the common case: a plain GET (no cache directives, conditionals, Range or Authorization)
   * for a fresh object stored without Vary. Returns the object or undefined (then `handle` runs the full machine).
   * It evaluates nothing but one deadline: everything else was precomputed when the object was stored.
   */
  fastHit(method: string, host: string, path: string, h: IncomingHttpHeaders): CachedObject | undefined {
    if (method !== 'GET' || h['cache-control'] !== undefined || h.pragma !== undefined || h.range !== undefined) return undefined;
    if (h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined || h.authorization !== undefined) return undefined;
    const entry = this.o.cache.store.get(`${host.toLowerCase()}${path}`);
    if (entry === undefined || entry.vary.length > 0 || entry.freshness.noCache || this.o.now() >= entry.freshness.freshUntil) return undefined;
    return entry;
  }

  async handle(req: EdgeRequest): Promise<Delivery> {
    const rc = requestControls(req.headers, this.o.maxStaleSec);
    let step: Step = { name: 'recv' };
    let restarts = 0;
    for (let i = 0; i < MAX_STEPS; i++) {
      switch (step.name) {
        case 'recv':
          step = looksUp(req.method) ? { name: 'hash' } : { name: 'pass', reason: 'method' };
          break;
        case 'hash': {
          const found = this.o.cache.lookup(req.host, req.path, req.headers);
          step = { name: 'lookup', ...found };
          break;
        }
        case 'lookup':
          step = this.lookup(req, step, rc);
          break;
        case 'miss':
          this.o.metrics.misses.inc();
          step = this.startFetch(req, step.key, step.primaryKey, undefined);
          break;
        case 'revalidate':
          step = this.startFetch(req, step.key, step.primaryKey, step.entry);
          break;
        case 'fetch': {
          const outcome = await step.fetch.outcome;
          if (outcome.kind === 'retry') {
            if (++restarts > 1) step = { name: 'pass', reason: 'restart' };
            else step = { name: 'hash' };
            break;
          }
          step = await this.afterFetch(req, step, outcome);
          break;
        }
        case 'pass':
          return this.pass(req, step.reason);
        case 'deliver':
          return step.delivery;
      }
    }
    throw new HttpError(500, 'request pipeline did not finish');
  }

  private lookup(req: EdgeRequest, step: Extract<Step, { name: 'lookup' }>, rc: RequestControls): Step {
    const { entry, key, primaryKey } = step;
    if (entry === undefined) {
      if (rc.onlyIfCached) return synth(504, 'not cached (only-if-cached)\n', 'dnscdn; fwd=miss');
      return { name: 'miss', key, primaryKey };
    }
    const now = this.o.now();
    const usable = evaluateRequest(entry.freshness, rc, now);
    const ttl = Math.round((entry.freshness.freshUntil - now) / 1000);
    switch (usable) {
      case 'fresh':
        this.o.metrics.hits.inc();
        return deliverObject(entry, 'HIT', `dnscdn; hit; ttl=${ttl}`);
      case 'stale-accepted':
        this.o.metrics.hits.inc();
        this.o.metrics.staleServed.inc();
        return deliverObject(entry, 'STALE', `dnscdn; hit; ttl=${ttl}; detail=max-stale`);
      case 'stale-while-revalidate':
        this.o.metrics.hits.inc();
        this.o.metrics.staleServed.inc();
        this.revalidateInBackground(req, entry);
        return deliverObject(entry, 'STALE', `dnscdn; hit; ttl=${ttl}; detail=stale-while-revalidate`);
      case 'revalidate':
        if (rc.onlyIfCached) return synth(504, 'stored response is stale (only-if-cached)\n', 'dnscdn; fwd=stale');
        return { name: 'revalidate', key, primaryKey, entry };
    }
  }

  /** Joins the in-flight fetch for this key, or starts one (unless policy.ts says this request may not share). */
  private startFetch(req: EdgeRequest, key: string, primaryKey: string, stale: CachedObject | undefined): Step {
    const privateFill = !sharesFill(req.headers);
    const current = privateFill ? undefined : this.inFlight.get(key);
    if (current?.joinable) {
      this.o.metrics.coalescedWaiters.inc();
      return { name: 'fetch', fetch: current, owner: false, stale };
    }
    const fetch = this.newFetch(req, key, primaryKey, stale, !privateFill);
    return { name: 'fetch', fetch, owner: true, stale };
  }

  private newFetch(req: EdgeRequest, key: string, primaryKey: string, stale: CachedObject | undefined, register: boolean): SharedFetch {
    const originHeaders = toOriginHeaders(req.headers, { address: req.clientAddress, host: req.host }, this.o.via);
    for (const h of CLIENT_CONDITIONALS) delete originHeaders[h];
    const fill: FillRequest = { method: 'GET', url: req.path, headers: { ...req.headers } as HeaderMap, userCookie: this.o.cookies.identifiesUser(req.headers.cookie) };
    const params = { key, primaryKey, host: req.host, path: req.path, fill, originHeaders, ...(stale ? { revalidating: stale } : {}) };
    const track = register && this.inFlight.size < MAX_IN_FLIGHT;
    const fetch = new SharedFetch(this.fetchContext, params, (f) => {
      if (this.inFlight.get(key) === f) this.inFlight.delete(key);
    });
    if (track) this.inFlight.set(key, fetch);
    if (stale) void fetch.outcome.then((o) => this.o.metrics.revalidations.inc({ result: revalidationResult(o) }));
    return fetch;
  }

  /** RFC 5861 §3: one background revalidation per key; the stale copy is served meanwhile. */
  private revalidateInBackground(req: EdgeRequest, entry: CachedObject): void {
    if (this.inFlight.get(entry.key)?.joinable) return;
    // The triggering request selected this variant, so its headers are the right ones to revalidate with.
    const fetch = this.newFetch(req, entry.key, entry.primaryKey, entry, true);
    void fetch.outcome.then((o) => {
      if (o.kind === 'error') log.debug('background revalidation failed', { path: entry.path, status: o.error.status });
    });
  }

  private async afterFetch(req: EdgeRequest, step: Extract<Step, { name: 'fetch' }>, outcome: Exclude<FetchOutcome, { kind: 'retry' }>): Promise<Step> {
    const { stale, owner } = step;
    const now = this.o.now();
    const collapsed = owner ? '' : '; collapsed';
    switch (outcome.kind) {
      case 'error':
        if (stale && staleIfErrorAllows(stale.freshness, now)) {
          this.o.metrics.staleServed.inc();
          return deliverObject(stale, 'STALE', `dnscdn; fwd=stale; detail=stale-if-error`);
        }
        return synth(outcome.error.status, `${outcome.error.status === 504 ? 'origin timed out' : 'origin unreachable'}: ${outcome.error.message}\n`, 'dnscdn; fwd=miss');
      case 'not-modified':
        return deliverObject(outcome.entry, 'REVALIDATED', `dnscdn; fwd=stale; fwd-status=304${collapsed}`);
      case 'response': {
        if (stale && outcome.status >= 500 && staleIfErrorAllows(stale.freshness, now)) {
          this.o.metrics.staleServed.inc();
          return deliverObject(stale, 'STALE', `dnscdn; fwd=stale; fwd-status=${outcome.status}; detail=stale-if-error`);
        }
        const fwd = stale ? 'stale' : 'miss';
        if (!outcome.shared) {
          // Not storable (private, Set-Cookie, no-store...): only the client that fetched it may see it.
          if (!owner) return { name: 'pass', reason: 'not-shareable' };
          // RFC 9211 §2.8 detail: why it was not stored (policy.ts and freshness.ts name the reasons).
          const detail = outcome.notStorable === undefined ? '' : `; detail=${outcome.notStorable}`;
          return deliver({ kind: 'stream', fetch: step.fetch, status: outcome.status, headers: outcome.headers, cache: 'MISS', cacheStatus: `dnscdn; fwd=${fwd}; fwd-status=${outcome.status}${detail}` });
        }
        if (!owner && variantKey(step.fetch.params.primaryKey, outcome.vary, req.headers) !== outcome.variantKey) {
          return { name: 'pass', reason: 'other-variant' };
        }
        if (req.headers.range !== undefined && req.method === 'GET') {
          // Ranges are cut from the complete stored object; fill first, then answer 206 from it.
          const stored = await step.fetch.completed;
          if (stored) return deliverObject(stored, 'MISS', `dnscdn; fwd=${fwd}; fwd-status=${outcome.status}; stored${collapsed}`);
          return { name: 'pass', reason: 'range-unstored' };
        }
        if (req.method === 'HEAD' && outcome.storing && outcome.headers['content-length'] === undefined) {
          // A chunked body has no length until it ends; HEAD waits for the fill so Content-Length is the real one.
          const complete = await step.fetch.completed;
          if (complete) return deliverObject(complete, 'MISS', `dnscdn; fwd=${fwd}; fwd-status=${outcome.status}; stored${collapsed}`);
        }
        const stored = outcome.storing ? '; stored' : '';
        return deliver({ kind: 'stream', fetch: step.fetch, status: outcome.status, headers: outcome.headers, cache: 'MISS', cacheStatus: `dnscdn; fwd=${fwd}; fwd-status=${outcome.status}${stored}${collapsed}` });
      }
    }
  }

  /** Straight to the origin and back, nothing stored. Successful unsafe methods invalidate (RFC 9111 §4.4). */
  private async pass(req: EdgeRequest, reason: string): Promise<Delivery> {
    const safe = req.method === 'GET' || req.method === 'HEAD';
    const headers = toOriginHeaders(req.headers, { address: req.clientAddress, host: req.host }, this.o.via);
    let response: IncomingMessage;
    try {
      response = await this.o.origin.request({ method: req.method, path: req.path, headers, ...(req.body ? { body: req.body } : {}) });
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(502, String(err));
      return { kind: 'synth', status: e.status, message: `${e.status === 504 ? 'origin timed out' : 'origin unreachable'}: ${e.message}\n`, cacheStatus: 'dnscdn; fwd=request' };
    }
    const status = response.statusCode ?? 502;
    if (!safe && status >= 200 && status < 400) this.invalidate(req, response.headers);
    const fwd = safe ? 'request' : 'method';
    return { kind: 'pass', response, cache: 'PASS', cacheStatus: `dnscdn; fwd=${fwd}; fwd-status=${status}; detail=${reason}` };
  }

  /** §4.4: the target URI, and Location / Content-Location when they name the same host. */
  private invalidate(req: EdgeRequest, headers: IncomingHttpHeaders): void {
    this.o.cache.invalidate(req.host, req.path);
    for (const name of ['location', 'content-location'] as const) {
      const v = single(headers[name]);
      if (v === undefined) continue;
      try {
        const u = new URL(v, `http://${req.host}${req.path}`);
        if (u.host.toLowerCase() === req.host.toLowerCase()) this.o.cache.invalidate(req.host, u.pathname + u.search);
      } catch {
        // An unparsable Location invalidates nothing more.
      }
    }
  }
}

function revalidationResult(o: FetchOutcome): string {
  if (o.kind === 'not-modified') return '304';
  if (o.kind === 'response') return String(o.status);
  return o.kind;
}

function deliver(delivery: Delivery): Step {
  return { name: 'deliver', delivery };
}

function deliverObject(entry: CachedObject, cache: CacheOutcome, cacheStatus: string): Step {
  return deliver({ kind: 'object', entry, cache, cacheStatus });
}

function synth(status: number, message: string, cacheStatus: string): Step {
  return deliver({ kind: 'synth', status, message, cacheStatus });
}
