/**
 * The edge's way to the content. The pipeline hands an Upstream a request; the Upstream picks where to send it
 * (today the one origin, single-origin.ts; later an origin pool, the ring owner of the key, or a shield, in the
 * spirit of Varnish's directors) and reports back how that went.
 *
 * Contract for every implementation:
 * - `request` never rejects: a failure is a value (`UpstreamFailure`), with the HttpError (502 or 504) the client
 *   gets when nothing stale can stand in. A miss, a timeout or a refused connection is never an exception.
 * - Every result carries its outcome: the target asked, the status or the kind of failure, and the latency to
 *   the response head. Pools feed it to their health and load accounting; observed.ts feeds it to metrics.
 * - The framing sent upstream describes exactly the bytes sent (RFC 9112 §6), whatever framing headers the
 *   caller passes; a connection whose framing is in doubt is never reused for another request.
 * - After the head, the response body is the caller's to read; its silence is bounded by the upstream's timeout
 *   (a stalled body errors the stream).
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { HttpError } from '../../errors.js';
import type { HeaderMap } from '../headers.js';

export interface RequestBody {
  stream: Readable;
  /** Bytes the stream will deliver (the client's Content-Length), or undefined to send it chunked. */
  length: number | undefined;
}

export interface UpstreamRequest {
  method: string;
  /** Path and query (origin-form). */
  path: string;
  /** End-to-end headers; any framing headers among them are replaced by the framing of `body`. */
  headers: HeaderMap;
  /** A request body to stream (unsafe methods), or none. */
  body?: RequestBody;
  /** The cache key of the object a fill is for (policy.ts `cacheKey`); absent on a pass. The `hash` policy and a peer ring place by it. */
  cacheKey?: string;
  /**
   * Edges this request already passed through (the authenticated hop header, ring/hops.ts); absent or empty
   * for a client's own request. A ring never forwards to one of its members a request that passed one.
   */
  hops?: readonly string[];
}

/** What every attempt reports, success or not. */
export interface UpstreamAttempt {
  /** Where the request went, as the implementation names it (`http://127.0.0.1:8000` for an origin). */
  target: string;
  /** Seconds from sending the request to the response head, or to the failure. */
  latencySec: number;
}

/**
 * Why an attempt got no response head. `connect-error`: no connection could be made (refused, unreachable);
 * `timeout`: no head within the timeout; `broken`: connected, then reset or answered with something that is not
 * HTTP; `aborted`: our side gave up (the client's upload failed), which says nothing about the target's health;
 * `unavailable`: no target was asked because every one is down (a pool's servers all failed their health checks
 * or are ejected): 503 with `retryAfterSec`, answered at once.
 */
export type FailureKind = 'connect-error' | 'timeout' | 'broken' | 'aborted' | 'unavailable';

export interface UpstreamResponse extends UpstreamAttempt {
  kind: 'response';
  status: number;
  response: IncomingMessage;
  /**
   * A sticky pool's cookie naming the server that answered. The caller adds it only to an answer that is neither
   * stored nor shared (a pass, or an uncacheable fill).
   */
  setCookie?: string;
  /**
   * The answer came from the ring peer that owns the key and keeps the copy (peer-ring.ts): this edge stores it
   * only as a hot local copy (ring/hot-copies.ts), not as an object of its own share.
   */
  fromPeer?: boolean;
  /**
   * How the peer's cache answered (its X-Cache: HIT, STALE, REVALIDATED or MISS): for this edge's client, the
   * outcome in the cluster, which is what a client asking "did this reach the origin?" wants to know.
   */
  peerCache?: string;
}

export interface UpstreamFailure extends UpstreamAttempt {
  kind: FailureKind;
  error: HttpError;
  /** Seconds until a target may be back (`unavailable`): sent as Retry-After (RFC 9110 §10.2.3). */
  retryAfterSec?: number;
  /** `timeout` only: not one byte of an answer arrived (a silent or frozen server, not one slow to finish its head). */
  silent?: boolean;
}

export type UpstreamResult = UpstreamResponse | UpstreamFailure;

/** The outcome part of a result, without the response stream: what observers (metrics, health) receive. */
export type UpstreamOutcome = UpstreamAttempt & ({ kind: 'response'; status: number } | { kind: FailureKind; status: number; message: string });

export interface Upstream {
  /** Sends the request to the target this upstream picks; resolves once the response head arrives or the attempt failed. */
  request(r: UpstreamRequest): Promise<UpstreamResult>;
  /** Drops pooled connections; requests after close fail. */
  close(): void;
}

/** The outcome of a result, for observers that must not hold the response. */
export function outcomeOf(r: UpstreamResult): UpstreamOutcome {
  if (r.kind === 'response') return { kind: 'response', status: r.status, target: r.target, latencySec: r.latencySec };
  return { kind: r.kind, status: r.error.status, message: r.error.message, target: r.target, latencySec: r.latencySec };
}

/**
 * The target a result names for the access log: the one asked, whether it answered or failed; undefined when none
 * was asked (`unavailable`: every server down; `aborted`: refused before sending, such as a loop).
 */
export function askedTarget(r: UpstreamResult): string | undefined {
  return r.kind === 'unavailable' || r.kind === 'aborted' ? undefined : r.target;
}
