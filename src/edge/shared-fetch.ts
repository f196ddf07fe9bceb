/**
 * One origin fetch that several clients share: the first miss (or revalidation) for a key starts it; concurrent
 * requests for the same key join it instead of going to the origin (request coalescing). The body is streamed to
 * every subscriber as it arrives (the first byte does not wait for the last) and buffered for storage; a client
 * that joins mid-body gets the buffered chunks replayed first. When the body is complete and the response was
 * storable, the object is stored; if the origin fails mid-body, subscribers get an error and nothing is stored.
 * A subscriber that goes away (client disconnect) only unsubscribes: the fetch carries on for the others.
 *
 * State. A fetch is `awaiting` (request sent, no head yet), then `streaming` (head received, body flowing; the
 * body is kept for storage and replay, or only relayed), then `complete` or `failed`. Whether a new client may
 * join, what a late subscriber gets and what is stored all follow from that one value. Deliveries see a fetch
 * only as a BodySource (body-source.ts); what is stored goes through EdgeCache.
 *
 * Backpressure. A slow client never makes the fetch buffer for it:
 * - while the body is being stored, the fetch holds every chunk anyway; a client whose socket is full is paused
 *   (nothing more is written to it) and resumes from its place in those chunks when its socket drains; once the
 *   body is complete it gets the rest as one view of the stored body (no copy). Per client: at most the socket's
 *   high-water mark plus one chunk beyond the shared body.
 * - when nothing is stored (not storable, or too large), the origin is paused until every slow client drains, as a
 *   pipe would; the slowest client sets the pace for the others sharing a too-large object. A client slower than
 *   the origin timeout (silence on the origin socket) loses its response, as on a pass.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../errors.js';
import type { BodySink, BodySource } from './body-source.js';
import type { EdgeCache } from './cache.js';
import type { CachedObject } from './entry.js';
import { decideStorage, staleIfErrorAllows, type Freshness, type StoreDecision } from './freshness.js';
import { single, type HeaderMap } from './headers.js';
import type { FillRequest } from './policy.js';
import type { HotCopies } from './ring/hot-copies.js';
import { parseVary, variantKey } from './store.js';
import { askedTarget, type Upstream } from './upstream/upstream.js';

export type FetchOutcome =
  /** Origin answered with a body. `shared`: other clients may receive it (it is storable, or storable but too big). */
  /**
   * `setCookie`: the origin pool's sticky cookie, only on a response that is not shared (its one client gets it).
   * `peerCache`: a ring peer's X-Cache outcome (HIT, STALE, ...), carried to this edge's client.
   */
  | { kind: 'response'; status: number; headers: HeaderMap; shared: boolean; storing: boolean; variantKey: string; vary: readonly string[]; notStorable?: string; setCookie?: string; peerCache?: string }
  /** Revalidation: 304 selected the stored response, which was refreshed. */
  | { kind: 'not-modified'; entry: CachedObject; status: number }
  /** Revalidation: a 304 that does not select our response (§4.3.4); callers start over without validators. */
  | { kind: 'retry' }
  /** `retryAfterSec`: every origin server is down (origin-pool.ts); the client's 503 says when to come back. */
  | { kind: 'error'; error: HttpError; retryAfterSec?: number };

export interface FetchContext {
  cache: EdgeCache;
  upstream: Upstream;
  now: () => number;
  /** Which answers from a ring peer (`fromPeer`) are kept here as hot copies; absent: none is kept. */
  hot?: HotCopies | undefined;
}

export interface FetchParams {
  key: string;
  primaryKey: string;
  host: string;
  path: string;
  /** The client request that triggered the fill, as the policy sees it. */
  fill: FillRequest;
  /** Headers for the origin request (already without the client's conditionals and Range). */
  originHeaders: HeaderMap;
  /** The stale entry being revalidated; its validators are added. */
  revalidating?: CachedObject;
  /** Edges the triggering request passed through (authenticated hop header), for the ring upstreams. */
  hops?: readonly string[] | undefined;
}

/** A body being kept for the store (and for replay to clients that join late). */
interface KeptBody {
  chunks: Buffer[];
  /** What is stored when the body completes. */
  key: string;
  vary: readonly string[];
  status: number;
  headers: HeaderMap;
  freshness: Freshness;
  /** A ring peer's answer kept as a hot local copy: charged against the hot share when it completes. */
  hotCopy: boolean;
}

type FetchState =
  /** The request is on its way; no response head yet. Anyone may join. */
  | { name: 'awaiting' }
  /**
   * The head is in and the body flows (`flowing` once its listeners are attached, a turn after the head). `kept`:
   * the chunks held for the store, dropped when the body outgrows the max object size. `shared`: other clients
   * may receive this response. `bytes` counts what arrived.
   */
  | { name: 'streaming'; response: IncomingMessage; shared: boolean; flowing: boolean; bytes: number; kept: KeptBody | undefined }
  /** The body ended. `body`: all of it when it was kept (or empty); undefined when it was only relayed. */
  | { name: 'complete'; body: Buffer | undefined }
  | { name: 'failed'; error: Error };

/** A subscriber's place in the kept body. */
interface Cursor {
  next: number;
  sent: number;
  paused: boolean;
}

const EMPTY = Buffer.alloc(0);

export class SharedFetch implements BodySource {
  readonly outcome: Promise<FetchOutcome>;
  /** The upstream this fetch asked (upstream.ts askedTarget), once it answered or failed: for the access log. */
  upstream: string | undefined;
  /** Resolves with the stored object once the body is complete (undefined if nothing was stored). */
  readonly completed: Promise<CachedObject | undefined>;
  private state: FetchState = { name: 'awaiting' };
  private readonly subscribers = new Map<BodySink, Cursor>();
  /** Relayed body: sinks that said they are full; the origin stays paused while any is. */
  private readonly slow = new Set<BodySink>();
  private resolveCompleted!: (e: CachedObject | undefined) => void;
  private requestTime = 0;

  constructor(
    private readonly ctx: FetchContext,
    readonly params: FetchParams,
    private readonly onSettled: (f: SharedFetch) => void,
  ) {
    this.completed = new Promise((r) => (this.resolveCompleted = r));
    this.outcome = this.run();
  }

  /** Whether a new client may still join: before the head, while the body is kept, or before a shared relay flows. */
  get joinable(): boolean {
    const s = this.state;
    if (s.name === 'awaiting') return true;
    if (s.name !== 'streaming') return false;
    return s.kept !== undefined || (s.shared && !s.flowing);
  }

  subscribe(sink: BodySink): boolean {
    const s = this.state;
    switch (s.name) {
      case 'failed':
        sink.fail(s.error);
        return true;
      case 'complete':
        if (s.body === undefined) return false;
        if (s.body.length > 0) sink.write(s.body);
        sink.end();
        return true;
      case 'streaming':
        if (s.kept === undefined && s.bytes > 0) return false;
        break;
      case 'awaiting':
        break;
    }
    const cursor: Cursor = { next: 0, sent: 0, paused: false };
    this.subscribers.set(sink, cursor);
    if (s.name === 'streaming' && s.kept !== undefined) this.feed(sink, cursor, s.kept.chunks);
    return true;
  }

  unsubscribe(sink: BodySink): void {
    this.subscribers.delete(sink);
    this.release(sink);
  }

  resume(sink: BodySink): void {
    const cursor = this.subscribers.get(sink);
    if (cursor === undefined) return;
    const s = this.state;
    if (s.name === 'streaming' && s.kept !== undefined) {
      cursor.paused = false;
      this.feed(sink, cursor, s.kept.chunks);
    } else this.release(sink);
  }

  private feed(sink: BodySink, cursor: Cursor, chunks: readonly Buffer[]): void {
    while (!cursor.paused && cursor.next < chunks.length) {
      const c = chunks[cursor.next++]!;
      cursor.sent += c.length;
      if (!sink.write(c)) cursor.paused = true;
    }
  }

  private release(sink: BodySink): void {
    if (this.slow.delete(sink) && this.slow.size === 0 && this.state.name === 'streaming') this.state.response.resume();
  }

  private async run(): Promise<FetchOutcome> {
    const { params, ctx } = this;
    const headers: HeaderMap = { ...params.originHeaders };
    const stale = params.revalidating;
    if (stale) {
      if (stale.etag !== undefined) headers['if-none-match'] = stale.etag;
      if (stale.lastModified !== undefined) headers['if-modified-since'] = stale.lastModified;
    }
    // §4.2.3 request_time: response_delay (the time the request took) counts towards the response's age.
    this.requestTime = ctx.now();
    const result = await ctx.upstream.request({ method: 'GET', path: params.path, headers, cacheKey: params.primaryKey, ...(params.hops ? { hops: params.hops } : {}) });
    this.upstream = askedTarget(result);
    if (result.kind !== 'response') {
      this.state = { name: 'failed', error: result.error };
      this.settle(undefined);
      return result.retryAfterSec === undefined ? { kind: 'error', error: result.error } : { kind: 'error', error: result.error, retryAfterSec: result.retryAfterSec };
    }
    const { response: res, status } = result;
    const resHeaders = res.headers as HeaderMap;
    if (status === 304 && stale) {
      res.resume();
      return this.freshen(stale, resHeaders);
    }
    // RFC 5861 §4: a 5xx that stale-if-error covers is answered with the stale copy, which it must not replace.
    const staleCovers = stale !== undefined && status >= 500 && staleIfErrorAllows(stale.freshness, ctx.now());
    const decision: StoreDecision = staleCovers ? { storable: false, reason: 'stale-if-error' } : decideStorage(params.fill, status, resHeaders, ctx.now, this.requestTime);
    const vary = parseVary(single(resHeaders.vary));
    const key = variantKey(params.primaryKey, vary, params.fill.headers);
    const declared = Number(single(resHeaders['content-length']) ?? NaN);
    // Buffer a body only if the store would keep it: not over the object bound, and, when its length is known
    // up front, admitted by the cache policy (a refused object is served as it streams and not held in memory,
    // and its Cache-Status does not claim `stored`). A chunked body is offered when it completes.
    const fits = Number.isNaN(declared) ? true : ctx.cache.wouldStore(key, declared);
    // The ring owner keeps a peer's answer; here it is kept only when it is hot (ring/hot-copies.ts).
    const hotCopy = result.fromPeer === true;
    const keep = decision.storable && fits && (!hotCopy || (ctx.hot?.wants(params.primaryKey) ?? false));
    const kept = keep ? { chunks: [], key, vary, status, headers: resHeaders, freshness: decision.freshness, hotCopy } : undefined;
    this.state = { name: 'streaming', response: res, shared: decision.storable, flowing: false, bytes: 0, kept };
    // Flow starts on the next turn of the event loop, after every waiter that awaited `outcome` has subscribed.
    setImmediate(() => this.pump(res));
    const outcome: FetchOutcome = { kind: 'response', status, headers: resHeaders, shared: decision.storable, storing: kept !== undefined, variantKey: key, vary };
    if (!decision.storable) outcome.notStorable = decision.reason;
    // A sticky cookie may go only where nothing is stored or shared: an uncacheable answer to its one client.
    if (!decision.storable && result.setCookie !== undefined) outcome.setCookie = result.setCookie;
    if (result.peerCache !== undefined) outcome.peerCache = result.peerCache;
    return outcome;
  }

  private pump(res: IncomingMessage): void {
    const s = this.state;
    if (s.name !== 'streaming') return;
    // The parser can fail the body in the same read as the head (bad first chunk): its 'close' is already gone.
    if (res.destroyed && !res.complete) return this.abort(new HttpError(502, 'origin response body is malformed'));
    s.flowing = true;
    res.on('data', (c: Buffer) => this.take(s, c));
    res.on('end', () => this.end(s));
    res.on('error', (err) => this.abort(err));
    res.on('close', () => {
      if (this.state.name === 'streaming') this.abort(new HttpError(502, 'origin closed the connection mid-body'));
    });
  }

  private take(s: Extract<FetchState, { name: 'streaming' }>, c: Buffer): void {
    s.bytes += c.length;
    const kept = s.kept;
    if (kept === undefined) return this.broadcast(s, c);
    kept.chunks.push(c);
    if (s.bytes <= this.ctx.cache.maxObjectBytes) {
      for (const [sink, cursor] of this.subscribers) this.feed(sink, cursor, kept.chunks);
      return;
    }
    // Too large to store after all (no or wrong Content-Length): hand each client what it has not had yet
    // (bounded by the max object size), drop the kept body, and go on relaying.
    s.kept = undefined;
    for (const [sink, cursor] of this.subscribers) {
      let full = cursor.paused;
      for (let i = cursor.next; i < kept.chunks.length; i++) full = !sink.write(kept.chunks[i]!) || full;
      if (full) this.slow.add(sink);
    }
    if (this.slow.size > 0) s.response.pause();
  }

  /** Relayed body: every client gets the chunk; any that is full pauses the origin. */
  private broadcast(s: Extract<FetchState, { name: 'streaming' }>, c: Buffer): void {
    for (const sink of this.subscribers.keys()) if (!sink.write(c)) this.slow.add(sink);
    if (this.slow.size > 0) s.response.pause();
  }

  private end(s: Extract<FetchState, { name: 'streaming' }>): void {
    let stored: CachedObject | undefined;
    let body: Buffer | undefined = s.bytes === 0 ? EMPTY : undefined;
    const kept = s.kept;
    if (kept !== undefined) {
      const p = this.params;
      const whole = kept.chunks.length === 1 ? kept.chunks[0]! : Buffer.concat(kept.chunks, s.bytes);
      body = whole;
      if (!kept.hotCopy || this.ctx.hot?.charge(kept.key, whole.length)) stored = this.ctx.cache.storeFetched({ key: kept.key, primaryKey: p.primaryKey, host: p.host, path: p.path, status: kept.status, headers: kept.headers, body: whole, freshness: kept.freshness, vary: kept.vary });
      // Paused clients get the rest as a view of the complete body; the chunk list goes with the state.
      for (const [sink, cursor] of this.subscribers) {
        if (cursor.sent < whole.length) sink.write(whole.subarray(cursor.sent));
      }
    }
    this.state = { name: 'complete', body };
    for (const sink of this.subscribers.keys()) sink.end();
    this.subscribers.clear();
    this.slow.clear();
    this.settle(stored);
  }

  private abort(err: Error): void {
    if (this.state.name === 'complete' || this.state.name === 'failed') return;
    this.state = { name: 'failed', error: err };
    for (const sink of this.subscribers.keys()) sink.fail(err);
    this.subscribers.clear();
    this.slow.clear();
    this.settle(undefined);
  }

  /** §4.3.4: a 304 freshens the stored response it selects (EdgeCache decides and stores). */
  private freshen(stale: CachedObject, notModified: HeaderMap): FetchOutcome {
    const result = this.ctx.cache.freshen(stale, notModified, this.params.fill, this.requestTime);
    this.state = { name: 'complete', body: undefined };
    if (result.kind === 'unselected') {
      this.settle(undefined);
      return { kind: 'retry' };
    }
    this.settle(result.entry);
    return { kind: 'not-modified', entry: result.entry, status: 304 };
  }

  private settle(stored: CachedObject | undefined): void {
    this.onSettled(this);
    this.resolveCompleted(stored);
  }
}
