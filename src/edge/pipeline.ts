/**
 * The edge's request lifecycle, one state machine from the request to the answer, in the spirit of Varnish's
 * cache_req_fsm.c:
 *
 *   recv -> hash -> lookup -> hit ---------------------------------------------> deliver
 *                          \-> miss -------> fetch -> deliver (streamed while it arrives) | pass | synth
 *                          \-> revalidate -> fetch -> deliver (304 freshened | new body | stale-if-error) | synth
 *                          \-> synth (only-if-cached and nothing usable)
 *        \-> pass -> fetch -> deliver (straight from the origin, nothing stored) | synth
 *        \-> synth (400/413/414 and framing refusals; /healthz)
 *
 * Each step is a value and returns the next; the loop is capped. The steps that wait (fetch) return a promise;
 * the others run synchronously, so a fresh hit (recv -> hash -> lookup -> hit -> deliver) costs no promise and
 * no timer: its delivery is the stored object's precomputed head and body (entry.ts). The machine never writes
 * to the socket: it returns a `Delivery` that the server writes (deliver.ts). What is looked up, shared, keyed
 * and stored is decided in policy.ts; freshness in freshness.ts; storage goes through cache.ts; the origin is
 * reached through an Upstream (upstream/upstream.ts). 431 and other requests node's parser cannot read never
 * become requests: server.ts answers them from node's clientError.
 */
import type { IncomingMessage, IncomingHttpHeaders } from 'node:http';
import { HttpError } from '../errors.js';
import { logger } from '../log.js';
import type { BodySource } from './body-source.js';
import type { EdgeCache } from './cache.js';
import type { CachedObject } from './entry.js';
import { evaluateRequest, requestControls, staleIfErrorAllows, type RequestControls } from './freshness.js';
import { single, toOriginHeaders, type HeaderMap } from './headers.js';
import type { EdgeCompression } from './compression.js';
import type { EdgeMetrics } from './metrics.js';
import { cacheKey, fillHeaders, looksUp, sharesFill, type CookieRule, type FillRequest } from './policy.js';
import { refuseFraming } from './request-framing.js';
import { HOP_HEADER, type HopSigner } from './ring/hops.js';
import type { HotCopies } from './ring/hot-copies.js';
import { SharedFetch, type FetchContext, type FetchOutcome } from './shared-fetch.js';
import { variantKey } from './store.js';
import { OUTCOMES, SYNTH_OUTCOME, type Outcome } from './traffic.js';
import { askedTarget, type RequestBody, type Upstream } from './upstream/upstream.js';

const log = logger('edge');

/** A client request as the lifecycle sees it (server.ts adapts node's IncomingMessage, client-request.ts). */
export interface EdgeRequest {
  readonly method: string;
  /** The request target as received (origin-form: path and query). */
  readonly path: string;
  /** The Host header, '' when absent. */
  readonly host: string;
  readonly headers: IncomingHttpHeaders;
  /** Header lines as received, `[name, value, ...]` (repeats that `headers` folds away are visible here). */
  readonly rawHeaders: readonly string[];
  readonly clientAddress: string;
  /** `https` on the TLS listener (HTTP/1.1 or HTTP/2 alike). */
  readonly scheme: 'http' | 'https';
  /** `h1` or `h2`: what the client spoke, for logs (the lifecycle itself does not branch on it). */
  readonly protocol: 'h1' | 'h2';
  /** The TLS version of the connection (`TLSv1.3`), undefined on the plain port; for logs. */
  readonly tlsVersion: string | undefined;
  /** The body to forward on a pass: as framed by the client, bounded (past the bound the client gets 413). */
  forwardBody(): RequestBody | undefined;
  /** A looked-up request's body is read and dropped (RFC 9110 §9.3.1: it cannot change a GET's meaning). */
  discardBody(): void;
}

/** X-Cache for people; Cache-Status (RFC 9211) carries the details. */
export type CacheOutcome = 'HIT' | 'MISS' | 'STALE' | 'REVALIDATED' | 'PASS';

export type Delivery =
  /** A fresh hit that the stored object's precomputed head answers as it is (a plain GET). */
  | { kind: 'hit'; entry: CachedObject }
  /**
   * A stored object, with what this request adds: 304, Range, HEAD, a stale or revalidated Cache-Status.
   * `upstream` (here and below): the upstream this request's fetch asked (its URL, upstream.ts askedTarget), for
   * the access log; absent when the answer involved none.
   */
  | { kind: 'object'; entry: CachedObject; cache: CacheOutcome; cacheStatus: string; upstream?: string }
  | { kind: 'stream'; body: BodySource; status: number; headers: HeaderMap; cache: CacheOutcome; cacheStatus: string; upstream?: string }
  /** `setCookie`: the origin pool's sticky cookie, added to what the origin sent. */
  | { kind: 'pass'; response: IncomingMessage; cache: CacheOutcome; cacheStatus: string; setCookie?: string; upstream?: string }
  /**
   * An answer made here. `close`: the request's framing is in doubt, so the connection ends after it.
   * `retryAfterSec`: a 503 because every origin server is down, with Retry-After. `location`: a redirect's target.
   * `probe`: the answer to a health check (`GET /healthz`), which the metrics do not count as a client request.
   */
  | { kind: 'synth'; status: number; message: string; cacheStatus?: string; close?: boolean; retryAfterSec?: number; location?: string; probe?: boolean; upstream?: string }
  /** A reserved admin path (metrics, PURGE, /.dnscdn/): the server's admin routes answer it, not the cache. */
  | { kind: 'admin' };

type Step =
  | { name: 'recv' }
  | { name: 'hash' }
  | { name: 'lookup'; primaryKey: string }
  | { name: 'hit'; entry: CachedObject; usable: 'fresh' | 'stale-accepted' | 'stale-while-revalidate' }
  | { name: 'miss'; key: string; primaryKey: string }
  | { name: 'revalidate'; key: string; primaryKey: string; entry: CachedObject }
  | { name: 'pass'; reason: string }
  | { name: 'fetch'; from: 'shared'; fetch: SharedFetch; owner: boolean; stale: CachedObject | undefined }
  | { name: 'fetch'; from: 'pass'; reason: string }
  | { name: 'deliver'; delivery: Delivery }
  /** `probe`: the answer to a health check (`GET /healthz`), which the metrics do not count as a client request. */
  | { name: 'synth'; status: number; message: string; cacheStatus?: string; close?: boolean; retryAfterSec?: number; location?: string; probe?: boolean; upstream?: string };

export type StepName = Step['name'];

/** One request's way through the machine. */
interface Transaction {
  readonly req: EdgeRequest;
  /** The request's cache directives, read at the first lookup. */
  controls: Readonly<RequestControls> | undefined;
  /** Times a revalidation started over (a 304 that selected nothing). */
  restarts: number;
  /** The steps visited, kept only when someone observes them. */
  readonly trace: StepName[] | undefined;
  /** Edges this request was forwarded by (authenticated hop header, ring/hops.ts); undefined for a client's request. */
  hops: readonly string[] | undefined;
}

/** Steps per request: recv, hash, lookup, revalidate, fetch, one restart of those, pass, fetch, deliver fit well under it. */
const MAX_STEPS = 16;
/** In-flight fetches tracked for coalescing; beyond it requests fetch on their own (bounded, never queued). */
const MAX_IN_FLIGHT = 10_000;
/** Request targets longer than this get 414 (RFC 9112 §3: "at least 8000 octets" should be supported). */
const MAX_URL_BYTES = 8192;
/** A Host with whitespace, a slash, a backslash or userinfo cannot name a host (RFC 9110 §7.2, RFC 3986 §3.2.2). */
const BAD_HOST = /[\s/\\@]/;
const HASH: Step = { name: 'hash' };
const RECV: Step = { name: 'recv' };
const HEALTHZ: Step = { name: 'synth', status: 200, message: 'ok\n', probe: true };

export interface PipelineOptions {
  cache: EdgeCache;
  upstream: Upstream;
  metrics: EdgeMetrics;
  now: () => number;
  via: string;
  /** Upper bound on a client's max-stale, in seconds. */
  maxStaleSec: number;
  /** Which request cookies make a response private unless it says otherwise (policy.ts). */
  cookies: CookieRule;
  /** Declared request bodies larger than this get 413 in recv. */
  maxBodyBytes: number;
  /** Is this method and path (no query) one of the server's admin routes? Those are reserved, never cached. */
  isAdminRequest: (method: string, path: string) => boolean;
  /**
   * Requests with credentials pass instead of making a private fill: set when the origin pool is sticky, so that a
   * logged-in GET is pinned to its server (only a pass may carry the sticky Set-Cookie, origin-pool.ts).
   */
  passCredentials?: boolean;
  /** Brotli/gzip variants of stored objects (compression.ts); absent = every answer as the origin coded it. */
  compression?: EdgeCompression | undefined;
  /** Observes the steps each request visited, in order, like varnishlog's VCL_call lines (tests, debugging). */
  onSteps?: ((steps: readonly StepName[], req: EdgeRequest) => void) | undefined;
  /** Reads the hop header of requests forwarded by other edges (clusters, shields, workers); absent: none is trusted. */
  hops?: HopSigner | undefined;
  /** Which ring peers' answers this edge keeps as hot copies (ring/hot-copies.ts). */
  hot?: HotCopies | undefined;
  /** ACME HTTP-01 (RFC 8555 §8.3): the key authorization for a token, if one is pending (tls/challenges.ts). */
  acmeChallenge?: ((token: string) => string | undefined) | undefined;
  /** Plain-HTTP requests are redirected (308) to HTTPS on this port, except /healthz and ACME challenges. */
  httpsRedirectPort?: number | undefined;
}

/** RFC 8555 §8.3: the path an HTTP-01 validation fetches; the token is base64url (§8.1). */
const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
const ACME_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export class EdgePipeline {
  private readonly inFlight = new Map<string, SharedFetch>();
  private readonly fetchContext: FetchContext;

  constructor(private readonly o: PipelineOptions) {
    this.fetchContext = { cache: o.cache, upstream: o.upstream, now: o.now, hot: o.hot };
  }

  /** From now on, plain-HTTP requests get 308 to this HTTPS port (known once the listener is bound). */
  redirectToHttps(port: number): void {
    this.o.httpsRedirectPort = port;
  }

  /**
   * Runs the machine for one request. Returns the delivery itself when no step had to wait (hits, synthetic
   * answers), else a promise of it. A throw (a bug) is for the server's one catch to turn into 502.
   */
  handle(req: EdgeRequest): Delivery | Promise<Delivery> {
    const t: Transaction = { req, controls: undefined, restarts: 0, trace: this.o.onSteps ? [] : undefined, hops: undefined };
    return this.advance(t, RECV, 0);
  }

  private advance(t: Transaction, from: Step, done: number): Delivery | Promise<Delivery> {
    let step = from;
    for (let i = done; i < MAX_STEPS; i++) {
      t.trace?.push(step.name);
      if (step.name === 'deliver') return this.finish(t, step.delivery);
      if (step.name === 'synth') return this.finish(t, synthDelivery(step));
      const next = this.step(t, step);
      if (next instanceof Promise) return next.then((s) => this.advance(t, s, i + 1));
      step = next;
    }
    throw new HttpError(500, 'request pipeline did not finish');
  }

  private finish(t: Transaction, d: Delivery): Delivery {
    if (t.trace) this.o.onSteps?.(t.trace, t.req);
    return d;
  }

  /** The step table: each step's work, and the step it leads to. */
  private step(t: Transaction, step: Exclude<Step, { name: 'deliver' | 'synth' }>): Step | Promise<Step> {
    switch (step.name) {
      case 'recv':
        return this.recv(t);
      case 'hash':
        return { name: 'lookup', primaryKey: cacheKey(t.req.host, t.req.path) };
      case 'lookup':
        return this.lookup(t, step.primaryKey);
      case 'hit':
        return this.encodedHit(t, step.entry, step.usable);
      case 'miss':
        this.o.metrics.misses.inc();
        return this.startFetch(t, step.key, step.primaryKey, undefined);
      case 'revalidate':
        return this.startFetch(t, step.key, step.primaryKey, step.entry);
      case 'pass':
        return { name: 'fetch', from: 'pass', reason: step.reason };
      case 'fetch':
        if (step.from === 'pass') return this.passFetch(t.req, step.reason);
        return step.fetch.outcome.then((outcome): Step | Promise<Step> => {
          if (outcome.kind !== 'retry') return this.afterFetch(t.req, step, outcome);
          return ++t.restarts > 1 ? { name: 'pass', reason: 'restart' } : HASH;
        });
    }
  }

  /**
   * recv: answers what must not reach the cache (framing refusals, 414, 400, /healthz, 413), hands reserved
   * admin paths to the server, and decides between lookup and pass (policy.ts).
   */
  private recv(t: Transaction): Step {
    const { req } = t;
    const refused = refuseFraming(req.headers, req.rawHeaders);
    if (refused !== undefined) return { name: 'synth', status: refused.status, message: refused.message, close: true };
    const url = req.path;
    if (url.length > MAX_URL_BYTES) return { name: 'synth', status: 414, message: 'request target too long\n' };
    if (!url.startsWith('/')) return { name: 'synth', status: 400, message: 'origin-form request target required\n' };
    if (req.host === '' || BAD_HOST.test(req.host)) return { name: 'synth', status: 400, message: 'bad Host header\n' };
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (req.method === 'GET' && path === '/healthz') return HEALTHZ;
    if (this.o.acmeChallenge && path.startsWith(ACME_CHALLENGE_PREFIX)) return this.acmeAnswer(path.slice(ACME_CHALLENGE_PREFIX.length));
    if (this.o.httpsRedirectPort !== undefined && req.scheme === 'http') {
      return { name: 'synth', status: 308, message: 'use HTTPS\n', location: httpsLocation(req.host, this.o.httpsRedirectPort, url) };
    }
    if (this.o.isAdminRequest(req.method, path)) return { name: 'deliver', delivery: { kind: 'admin' } };
    // A client's request has no hop header: one property read, nothing more, on the hit path.
    if (req.headers[HOP_HEADER] !== undefined && this.o.hops !== undefined) {
      const verdict = this.o.hops.read(req.headers, req.method, req.host, url);
      if (verdict.kind === 'loop') return { name: 'synth', status: 508, message: `loop detected: forwarded by ${verdict.hops.join(', ')}\n` };
      if (verdict.kind === 'peer') t.hops = verdict.hops;
    }
    if (Number(single(req.headers['content-length']) ?? 0) > this.o.maxBodyBytes) return { name: 'synth', status: 413, message: 'request body too large\n' };
    if (!looksUp(req.method)) return { name: 'pass', reason: 'method' };
    if (this.o.passCredentials === true && req.headers.authorization !== undefined) return { name: 'pass', reason: 'authorization' };
    req.discardBody();
    return HASH;
  }

  /** ACME HTTP-01: the key authorization as text/plain (§8.3), never cached, never sent to the origin. */
  private acmeAnswer(token: string): Step {
    const answer = ACME_TOKEN.test(token) ? this.o.acmeChallenge?.(token) : undefined;
    if (answer === undefined) return { name: 'synth', status: 404, message: 'no such ACME challenge\n' };
    return { name: 'synth', status: 200, message: answer };
  }

  /** lookup: the stored variant for this request (cache.ts), and whether it may be used as it is (freshness.ts). */
  private lookup(t: Transaction, primaryKey: string): Step {
    const { req } = t;
    const { key, entry } = this.o.cache.lookup(primaryKey, req.path, req.headers);
    const rc = (t.controls ??= requestControls(req.headers, this.o.maxStaleSec));
    if (entry === undefined) {
      if (rc.onlyIfCached) return { name: 'synth', status: 504, message: 'not cached (only-if-cached)\n', cacheStatus: 'dnscdn; fwd=miss' };
      return { name: 'miss', key, primaryKey };
    }
    const usable = evaluateRequest(entry.freshness, rc, this.o.now());
    if (usable !== 'revalidate') return { name: 'hit', entry, usable };
    if (rc.onlyIfCached) return { name: 'synth', status: 504, message: 'stored response is stale (only-if-cached)\n', cacheStatus: 'dnscdn; fwd=stale' };
    return { name: 'revalidate', key, primaryKey, entry };
  }

  /**
   * hit, for a client that accepts br or gzip: the stored encoded variant of the object, made now (once, shared by
   * concurrent requests) when missing (compression.ts). Identity when nothing applies or too many encodings run.
   */
  private encodedHit(t: Transaction, entry: CachedObject, usable: Extract<Step, { name: 'hit' }>['usable']): Step | Promise<Step> {
    const { req } = t;
    const c = this.o.compression;
    const accept = req.headers['accept-encoding'];
    if (c === undefined || accept === undefined) return this.hit(t, entry, entry, usable);
    const coding = c.codingFor(accept, entry);
    if (coding === 'identity') return this.hit(t, entry, entry, usable);
    const stored = c.stored(entry, coding);
    if (stored !== undefined) return this.hit(t, entry, stored, usable);
    const job = c.encode(entry, coding);
    if (job === undefined) return this.hit(t, entry, entry, usable);
    return job.then(
      (encoded) => this.hit(t, entry, encoded ?? entry, usable),
      (err: unknown) => {
        log.warn('compression failed', { path: entry.path, coding, error: err instanceof Error ? err.message : String(err) });
        return this.hit(t, entry, entry, usable);
      },
    );
  }

  /**
   * The stored encoded variant of `entry` that this request accepts, when there is one (a revalidated object's
   * variants are carried over, compression.ts refresh); else `entry`. Nothing is compressed here.
   */
  private storedEncoding(req: EdgeRequest, entry: CachedObject): CachedObject {
    const c = this.o.compression;
    const accept = req.headers['accept-encoding'];
    if (c === undefined || accept === undefined) return entry;
    const coding = c.codingFor(accept, entry);
    return coding === 'identity' ? entry : (c.stored(entry, coding) ?? entry);
  }

  /**
   * hit: a usable stored response (`served`: the object itself or its encoded variant); a stale one within
   * stale-while-revalidate also starts a background revalidation of the object.
   */
  private hit(t: Transaction, object: CachedObject, entry: CachedObject, usable: Extract<Step, { name: 'hit' }>['usable']): Step {
    const { req } = t;
    this.o.metrics.hits.inc();
    if (usable === 'fresh' && answersAsStored(req, entry)) return { name: 'deliver', delivery: { kind: 'hit', entry } };
    const ttl = Math.round((entry.freshness.freshUntil - this.o.now()) / 1000);
    switch (usable) {
      case 'fresh':
        return deliverObject(entry, 'HIT', `dnscdn; hit; ttl=${ttl}`);
      case 'stale-accepted':
        this.o.metrics.staleServed.inc();
        return deliverObject(entry, 'STALE', `dnscdn; hit; ttl=${ttl}; detail=max-stale`);
      case 'stale-while-revalidate':
        this.o.metrics.staleServed.inc();
        this.revalidateInBackground(t, object);
        return deliverObject(entry, 'STALE', `dnscdn; hit; ttl=${ttl}; detail=stale-while-revalidate`);
    }
  }

  /** miss / revalidate: joins the in-flight fetch for this key, or starts one (unless policy.ts says this request may not share). */
  private startFetch(t: Transaction, key: string, primaryKey: string, stale: CachedObject | undefined): Step {
    const { req } = t;
    const privateFill = !sharesFill(req.headers);
    const current = privateFill ? undefined : this.inFlight.get(key);
    if (current?.joinable) {
      this.o.metrics.coalescedWaiters.inc();
      return { name: 'fetch', from: 'shared', fetch: current, owner: false, stale };
    }
    const fetch = this.newFetch(t, key, primaryKey, stale, !privateFill);
    return { name: 'fetch', from: 'shared', fetch, owner: true, stale };
  }

  private newFetch(t: Transaction, key: string, primaryKey: string, stale: CachedObject | undefined, register: boolean): SharedFetch {
    const { req } = t;
    const originHeaders = fillHeaders(toOriginHeaders(req.headers, { address: req.clientAddress, host: req.host, scheme: req.scheme }, this.o.via));
    const fill: FillRequest = { method: 'GET', url: req.path, headers: { ...req.headers } as HeaderMap, userCookie: this.o.cookies.identifiesUser(req.headers.cookie) };
    const params = { key, primaryKey, host: req.host, path: req.path, fill, originHeaders, hops: t.hops, ...(stale ? { revalidating: stale } : {}) };
    const track = register && this.inFlight.size < MAX_IN_FLIGHT;
    const fetch = new SharedFetch(this.fetchContext, params, (f) => {
      if (this.inFlight.get(key) === f) this.inFlight.delete(key);
    });
    if (track) this.inFlight.set(key, fetch);
    if (stale) void fetch.outcome.then((o) => this.o.metrics.revalidations.inc({ result: revalidationResult(o) }));
    return fetch;
  }

  /** RFC 5861 §3: one background revalidation per key; the stale copy is served meanwhile. */
  private revalidateInBackground(t: Transaction, entry: CachedObject): void {
    if (this.inFlight.get(entry.key)?.joinable) return;
    // The triggering request selected this variant, so its headers are the right ones to revalidate with.
    const fetch = this.newFetch(t, entry.key, entry.primaryKey, entry, true);
    void fetch.outcome.then((o) => {
      if (o.kind === 'error') log.debug('background revalidation failed', { path: entry.path, status: o.error.status });
    });
  }

  /** fetch (shared), once the origin answered: what this client gets. */
  private async afterFetch(req: EdgeRequest, step: Extract<Step, { from: 'shared' }>, outcome: Exclude<FetchOutcome, { kind: 'retry' }>): Promise<Step> {
    const { stale, owner } = step;
    const now = this.o.now();
    const collapsed = owner ? '' : '; collapsed';
    const upstream = step.fetch.upstream;
    switch (outcome.kind) {
      case 'error':
        if (stale && staleIfErrorAllows(stale.freshness, now)) {
          this.o.metrics.staleServed.inc();
          return deliverObject(stale, 'STALE', `dnscdn; fwd=stale; detail=stale-if-error`, upstream);
        }
        return upstreamFailure(outcome.error, outcome.retryAfterSec, 'dnscdn; fwd=miss', upstream);
      case 'not-modified':
        return deliverObject(this.storedEncoding(req, outcome.entry), 'REVALIDATED', `dnscdn; fwd=stale; fwd-status=304${collapsed}`, upstream);
      case 'response': {
        if (stale && outcome.status >= 500 && staleIfErrorAllows(stale.freshness, now)) {
          this.o.metrics.staleServed.inc();
          return deliverObject(stale, 'STALE', `dnscdn; fwd=stale; fwd-status=${outcome.status}; detail=stale-if-error`, upstream);
        }
        const fwd = stale ? 'stale' : 'miss';
        if (!outcome.shared) {
          // Not storable (private, Set-Cookie, no-store...): only the client that fetched it may see it.
          if (!owner) return { name: 'pass', reason: 'not-shareable' };
          // RFC 9211 §2.8 detail: why it was not stored (policy.ts and freshness.ts name the reasons).
          const detail = outcome.notStorable === undefined ? '' : `; detail=${outcome.notStorable}`;
          return deliverStream(step.fetch, outcome, `dnscdn; fwd=${fwd}; fwd-status=${outcome.status}${detail}`, upstream);
        }
        if (!owner && variantKey(step.fetch.params.primaryKey, outcome.vary, req.headers) !== outcome.variantKey) {
          return { name: 'pass', reason: 'other-variant' };
        }
        if (req.headers.range !== undefined && req.method === 'GET') {
          // Ranges are cut from the complete stored object; fill first, then answer 206 from it.
          const stored = await step.fetch.completed;
          if (stored) return deliverObject(stored, 'MISS', `dnscdn; fwd=${fwd}; fwd-status=${outcome.status}; stored${collapsed}`, upstream);
          return { name: 'pass', reason: 'range-unstored' };
        }
        if (req.method === 'HEAD' && outcome.storing && outcome.headers['content-length'] === undefined) {
          // A chunked body has no length until it ends; HEAD waits for the fill so Content-Length is the real one.
          const complete = await step.fetch.completed;
          if (complete) return deliverObject(complete, 'MISS', `dnscdn; fwd=${fwd}; fwd-status=${outcome.status}; stored${collapsed}`, upstream);
        }
        const stored = outcome.storing ? '; stored' : '';
        return deliverStream(step.fetch, outcome, `dnscdn; fwd=${fwd}; fwd-status=${outcome.status}${stored}${collapsed}`, upstream);
      }
    }
  }

  /** fetch (pass): straight to the origin and back, nothing stored. Successful unsafe methods invalidate (RFC 9111 §4.4). */
  private async passFetch(req: EdgeRequest, reason: string): Promise<Step> {
    const safe = req.method === 'GET' || req.method === 'HEAD';
    const headers = toOriginHeaders(req.headers, { address: req.clientAddress, host: req.host, scheme: req.scheme }, this.o.via);
    const body = req.forwardBody();
    const result = await this.o.upstream.request({ method: req.method, path: req.path, headers, ...(body ? { body } : {}) });
    if (result.kind !== 'response') return upstreamFailure(result.error, result.retryAfterSec, 'dnscdn; fwd=request', askedTarget(result));
    const { status, response } = result;
    if (!safe && status >= 200 && status < 400) this.invalidate(req, response.headers);
    const fwd = safe ? 'request' : 'method';
    const delivery: Delivery = { kind: 'pass', response, cache: 'PASS', cacheStatus: `dnscdn; fwd=${fwd}; fwd-status=${status}; detail=${reason}`, upstream: result.target };
    if (result.setCookie !== undefined) delivery.setCookie = result.setCookie;
    return { name: 'deliver', delivery };
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

/**
 * Can the stored object's precomputed head answer this request as it is? A GET without the headers that change
 * the answer (conditionals, Range) or its Cache-Status (request directives, Authorization), for an object stored
 * without Vary. Then the hit is one precomputed head and the body (the test of the former `fastHit`, so answers are
 * byte for byte those of before).
 */
function answersAsStored(req: EdgeRequest, entry: CachedObject): boolean {
  const h = req.headers;
  return (
    req.method === 'GET' &&
    entry.vary.length === 0 &&
    h['cache-control'] === undefined &&
    h.pragma === undefined &&
    h.range === undefined &&
    h['if-none-match'] === undefined &&
    h['if-modified-since'] === undefined &&
    h.authorization === undefined
  );
}

/** The access log's label: X-Cache, or SYNTH for answers made here. */
export function cacheLabel(d: Delivery): Outcome {
  return OUTCOMES[outcomeIndex(d)]!;
}

/** The delivery's index in traffic.ts OUTCOMES (its X-Cache value, or SYNTH for answers made here). */
export function outcomeIndex(d: Delivery): number {
  switch (d.kind) {
    case 'hit':
      return 0;
    case 'synth':
    case 'admin':
      return SYNTH_OUTCOME;
    default:
      return OUTCOMES.indexOf(d.cache);
  }
}

/** The same host and target on the HTTPS port (RFC 9110 §15.4.9: 308 keeps the method and body). */
function httpsLocation(host: string, port: number, target: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.lastIndexOf(':') < 0 ? host.length : host.lastIndexOf(':');
  const name = host.slice(0, end > 0 ? end : host.length);
  return `https://${name}${port === 443 ? '' : `:${port}`}${target}`;
}

function upstreamFailureText(e: HttpError): string {
  if (e.status === 508) return `loop detected: ${e.message}\n`;
  return `${e.status === 504 ? 'origin timed out' : e.status === 503 ? 'origin unavailable' : 'origin unreachable'}: ${e.message}\n`;
}

/** The synthetic answer to a failed upstream request: its status (502, 503, 504), and Retry-After with a 503. */
function upstreamFailure(e: HttpError, retryAfterSec: number | undefined, cacheStatus: string, upstream: string | undefined): Step {
  const step: Step = { name: 'synth', status: e.status, message: upstreamFailureText(e), cacheStatus, upstream };
  if (retryAfterSec !== undefined) step.retryAfterSec = retryAfterSec;
  return step;
}

function revalidationResult(o: FetchOutcome): string {
  if (o.kind === 'not-modified') return '304';
  if (o.kind === 'response') return String(o.status);
  return o.kind;
}

function deliverObject(entry: CachedObject, cache: CacheOutcome, cacheStatus: string, upstream?: string): Step {
  return { name: 'deliver', delivery: { kind: 'object', entry, cache, cacheStatus, upstream } };
}

/** X-Cache values a ring peer's answer may carry through to the client (deliverStream). */
const PEER_OUTCOMES: ReadonlySet<string> = new Set<CacheOutcome>(['HIT', 'STALE', 'REVALIDATED']);

/**
 * A fetched answer. One that a ring peer answered from its store keeps the peer's outcome (HIT, STALE,
 * REVALIDATED: the cluster had it, no origin was asked for this client), with `detail=peer` in Cache-Status
 * (RFC 9211 §2.8); anything else is this edge's MISS.
 */
function deliverStream(body: BodySource, outcome: Extract<FetchOutcome, { kind: 'response' }>, cacheStatus: string, upstream: string | undefined): Step {
  // The sticky cookie (an unshared answer only, shared-fetch.ts) goes beside the origin's own cookies.
  const headers = outcome.setCookie === undefined ? outcome.headers : { ...outcome.headers, 'set-cookie': [...[outcome.headers['set-cookie'] ?? []].flat(), outcome.setCookie] };
  const peer = outcome.peerCache !== undefined && PEER_OUTCOMES.has(outcome.peerCache) ? (outcome.peerCache as CacheOutcome) : undefined;
  const cache: CacheOutcome = peer ?? 'MISS';
  const status = peer === undefined ? cacheStatus : `${cacheStatus}; detail=peer-${peer.toLowerCase()}`;
  return { name: 'deliver', delivery: { kind: 'stream', body, status: outcome.status, headers, cache, cacheStatus: status, upstream } };
}

function synthDelivery(s: Extract<Step, { name: 'synth' }>): Delivery {
  const d: Delivery = { kind: 'synth', status: s.status, message: s.message };
  if (s.cacheStatus !== undefined) d.cacheStatus = s.cacheStatus;
  if (s.close) d.close = true;
  if (s.retryAfterSec !== undefined) d.retryAfterSec = s.retryAfterSec;
  if (s.location !== undefined) d.location = s.location;
  if (s.probe) d.probe = true;
  if (s.upstream !== undefined) d.upstream = s.upstream;
  return d;
}
