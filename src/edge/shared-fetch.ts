/**
 * One origin fetch that several clients share: the first miss (or revalidation) for a key starts it; concurrent
 * requests for the same key join it instead of going to the origin (request coalescing). The body is streamed to
 * every subscriber as it arrives (the first byte does not wait for the last) and buffered for storage; a client
 * that joins mid-body gets the buffered chunks replayed first. When the body is complete and the response was
 * storable, the object is stored; if the origin fails mid-body, subscribers get an error and nothing is stored.
 * A subscriber that goes away (client disconnect) only unsubscribes: the fetch carries on for the others.
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
import { createCachedObject, mergeNotModified, notModifiedSelects, type CachedObject } from './entry.js';
import { decideStorage, staleIfErrorAllows, type StoreDecision } from './freshness.js';
import { single, type HeaderMap } from './headers.js';
import type { OriginClient } from './origin-client.js';
import type { FillRequest } from './policy.js';
import { variantKey, type EdgeStore } from './store.js';

/** Where a fetch writes the body for one client. */
export interface FetchSink {
  /** Takes the chunk; false means the client is slow: call `resume(sink)` when it drains. */
  write(b: Buffer): boolean;
  end(): void;
  fail(err: Error): void;
}

/** A subscriber's place in the buffered body. */
interface Cursor {
  next: number;
  sent: number;
  paused: boolean;
}

export type FetchOutcome =
  /** Origin answered with a body. `shared`: other clients may receive it (it is storable, or storable but too big). */
  | { kind: 'response'; status: number; headers: HeaderMap; shared: boolean; storing: boolean; variantKey: string; vary: readonly string[]; notStorable?: string }
  /** Revalidation: 304 selected the stored response, which was refreshed. */
  | { kind: 'not-modified'; entry: CachedObject; status: number }
  /** Revalidation: a 304 that does not select our response (§4.3.4); callers start over without validators. */
  | { kind: 'retry' }
  | { kind: 'error'; error: HttpError };

export interface FetchContext {
  store: EdgeStore<CachedObject>;
  origin: OriginClient;
  now: () => number;
  via: string;
  /** Called when an object is stored or refreshed (metrics). */
  onStored?: (entry: CachedObject) => void;
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
}

export class SharedFetch {
  readonly outcome: Promise<FetchOutcome>;
  /** Resolves with the stored object once the body is complete (undefined if nothing was stored). */
  readonly completed: Promise<CachedObject | undefined>;
  /** Whether a new client may still join (false once the buffer for replay is gone or the fetch ended). */
  joinable = true;
  private readonly subscribers = new Map<FetchSink, Cursor>();
  /** Unbuffered mode: sinks that said they are full; the origin stays paused while any is. */
  private readonly slow = new Set<FetchSink>();
  private chunks: Buffer[] = [];
  private bytes = 0;
  private buffering = false;
  private body: Buffer | undefined;
  private response: IncomingMessage | undefined;
  private ended = false;
  private failure: Error | undefined;
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

  /**
   * Receives the body from its first byte (replayed) onward. Returns false when that is no longer possible
   * (buffer dropped because the object is too large to store): the caller fetches on its own.
   */
  subscribe(sink: FetchSink): boolean {
    if (this.failure) {
      sink.fail(this.failure);
      return true;
    }
    if (this.body !== undefined) {
      sink.write(this.body);
      sink.end();
      return true;
    }
    if (!this.buffering && this.bytes > 0) return false;
    if (this.ended) {
      sink.end();
      return true;
    }
    const cursor: Cursor = { next: 0, sent: 0, paused: false };
    this.subscribers.set(sink, cursor);
    this.feed(sink, cursor);
    return true;
  }

  unsubscribe(sink: FetchSink): void {
    this.subscribers.delete(sink);
    this.release(sink);
  }

  /** The client's socket drained: send it what it missed (buffered) or let the origin flow again (unbuffered). */
  resume(sink: FetchSink): void {
    const cursor = this.subscribers.get(sink);
    if (cursor === undefined) return;
    if (this.buffering) {
      cursor.paused = false;
      this.feed(sink, cursor);
    } else this.release(sink);
  }

  private feed(sink: FetchSink, cursor: Cursor): void {
    while (!cursor.paused && cursor.next < this.chunks.length) {
      const c = this.chunks[cursor.next++]!;
      cursor.sent += c.length;
      if (!sink.write(c)) cursor.paused = true;
    }
  }

  private release(sink: FetchSink): void {
    if (this.slow.delete(sink) && this.slow.size === 0) this.response?.resume();
  }

  /** Unbuffered: every client gets the chunk; any that is full pauses the origin. */
  private broadcast(c: Buffer): void {
    for (const sink of this.subscribers.keys()) if (!sink.write(c)) this.slow.add(sink);
    if (this.slow.size > 0) this.response?.pause();
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
    let res: IncomingMessage;
    try {
      res = await ctx.origin.request({ method: 'GET', path: params.path, headers });
    } catch (err) {
      this.settle(undefined);
      return { kind: 'error', error: err instanceof HttpError ? err : new HttpError(502, String(err)) };
    }
    const status = res.statusCode ?? 502;
    const resHeaders = res.headers as HeaderMap;
    if (status === 304 && stale) {
      res.resume();
      return this.refresh(stale, resHeaders);
    }
    // RFC 5861 §4: a 5xx that stale-if-error covers is answered with the stale copy, which it must not replace.
    const staleCovers = stale !== undefined && status >= 500 && staleIfErrorAllows(stale.freshness, ctx.now());
    const decision: StoreDecision = staleCovers ? { storable: false, reason: 'stale-if-error' } : decideStorage(params.fill, status, resHeaders, ctx.now, this.requestTime);
    const vary = parseVary(single(resHeaders.vary));
    const key = variantKey(params.primaryKey, vary, params.fill.headers);
    const declared = Number(single(resHeaders['content-length']) ?? NaN);
    const fits = !(declared > ctx.store.maxObjectBytes);
    const storing = decision.storable && fits;
    if (!storing) this.joinable = decision.storable; // a too-big but storable response is shared by those already waiting
    // Flow starts on the next turn of the event loop, after every waiter that awaited `outcome` has subscribed.
    setImmediate(() => this.pump(res, storing ? decision : undefined, key, vary, status, resHeaders));
    const outcome: FetchOutcome = { kind: 'response', status, headers: resHeaders, shared: decision.storable, storing, variantKey: key, vary };
    if (!decision.storable) outcome.notStorable = decision.reason;
    return outcome;
  }

  private pump(res: IncomingMessage, decision: StoreDecision | undefined, key: string, vary: readonly string[], status: number, headers: HeaderMap): void {
    this.response = res;
    // The parser can fail the body in the same read as the head (bad first chunk): its 'close' is already gone.
    if (res.destroyed && !res.complete) return this.abort(new HttpError(502, 'origin response body is malformed'));
    this.buffering = decision !== undefined;
    if (!this.buffering) this.joinable = false;
    res.on('data', (c: Buffer) => {
      this.bytes += c.length;
      if (!this.buffering) return this.broadcast(c);
      this.chunks.push(c);
      if (this.bytes <= this.ctx.store.maxObjectBytes) {
        for (const [sink, cursor] of this.subscribers) this.feed(sink, cursor);
        return;
      }
      // Too large to store after all (no or wrong Content-Length): hand each client what it has not had yet
      // (bounded by the max object size), drop the buffer, and go on unbuffered.
      this.buffering = false;
      this.joinable = false;
      for (const [sink, cursor] of this.subscribers) {
        let full = cursor.paused;
        for (let i = cursor.next; i < this.chunks.length; i++) full = !sink.write(this.chunks[i]!) || full;
        if (full) this.slow.add(sink);
      }
      this.chunks = [];
      if (this.slow.size > 0) res.pause();
    });
    res.on('end', () => {
      this.ended = true;
      let stored: CachedObject | undefined;
      if (this.buffering && decision?.storable) {
        const p = this.params;
        const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
        const entry = createCachedObject({ key, primaryKey: p.primaryKey, host: p.host, path: p.path, status, headers, body, freshness: decision.freshness, vary, via: this.ctx.via });
        if (this.ctx.store.set(entry) === 'stored') {
          stored = entry;
          this.ctx.onStored?.(entry);
        }
        this.body = body;
        // Paused clients get the rest as a view of the complete body; the chunk list can go.
        for (const [sink, cursor] of this.subscribers) {
          if (cursor.sent < body.length) sink.write(body.subarray(cursor.sent));
        }
        this.chunks = [];
      }
      for (const sink of this.subscribers.keys()) sink.end();
      this.subscribers.clear();
      this.slow.clear();
      this.response = undefined;
      this.settle(stored);
    });
    res.on('error', (err) => this.abort(err));
    res.on('close', () => {
      if (!this.ended) this.abort(new HttpError(502, 'origin closed the connection mid-body'));
    });
  }

  private abort(err: Error): void {
    if (this.failure || this.ended) return;
    this.failure = err;
    this.chunks = [];
    for (const sink of this.subscribers.keys()) sink.fail(err);
    this.subscribers.clear();
    this.slow.clear();
    this.response = undefined;
    this.settle(undefined);
  }

  /** §4.3.4: a 304 freshens the stored response it selects; the body stays. */
  private refresh(stale: CachedObject, notModified: HeaderMap): FetchOutcome {
    if (!notModifiedSelects(stale, notModified, this.ctx.store.variantCount(stale.primaryKey))) {
      // It selects nothing we may update with it (§4.3.4): drop our copy and fetch it whole.
      this.ctx.store.delete(stale.key);
      this.settle(undefined);
      return { kind: 'retry' };
    }
    const headers = mergeNotModified(stale.headers, notModified);
    // The stored body came from a fill the policy let everyone share; a 304 that selects it (same validator)
    // says the cookie user's representation is that one. So the Cookie rule, which is about storing a body
    // fetched for one user, does not apply: without this, every logged-in revalidation dropped a shared copy.
    const decision = decideStorage({ ...this.params.fill, userCookie: false }, stale.status, headers, this.ctx.now, this.requestTime);
    const p = this.params;
    const fresh = decision.storable
      ? decision.freshness
      : { ...stale.freshness, responseTime: this.ctx.now(), initialAgeSec: 0, freshUntil: this.ctx.now() };
    const entry = createCachedObject({
      key: stale.key,
      primaryKey: p.primaryKey,
      host: stale.host,
      path: stale.path,
      status: stale.status,
      headers,
      body: stale.body,
      freshness: fresh,
      vary: stale.vary,
      via: this.ctx.via,
      seq: stale.seq,
    });
    if (decision.storable) {
      this.ctx.store.set(entry);
      this.ctx.onStored?.(entry);
    } else this.ctx.store.delete(stale.key);
    this.ended = true;
    this.settle(entry);
    return { kind: 'not-modified', entry, status: 304 };
  }

  private settle(stored: CachedObject | undefined): void {
    this.joinable = false;
    this.onSettled(this);
    this.resolveCompleted(stored);
  }
}

export function parseVary(v: string | undefined): string[] {
  if (v === undefined) return [];
  return [...new Set(v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''))].sort();
}
