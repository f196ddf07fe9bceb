/**
 * HTTP/2 abuse limits of the edge's HTTPS listener, and the one guard node does not have itself.
 *
 * What node's http2 (nghttp2) enforces once told: `maxConcurrentStreams` and `maxHeaderListSize` are SETTINGS
 * advertised to the client (RFC 9113 §6.5.2) and refused beyond; `maxSessionInvalidFrames` and
 * `maxSessionRejectedStreams` close a session that keeps sending bad frames or streams; `maxSettings` bounds the
 * entries of one SETTINGS frame, `maxOutstandingPings` our own unanswered pings, and nghttp2's outbound-queue
 * limit closes a session flooding SETTINGS or PING frames whose ACKs it does not read.
 * What we add: rapid reset (CVE-2023-44487): a client opens streams and cancels them at once, so the server
 * starts work (an origin fetch) that no stream limit counts. Resets per connection are counted in a window, and
 * past the cap the session is ended with GOAWAY ENHANCE_YOUR_CALM, as nginx and Envoy do; other connections
 * are untouched.
 */
import http2 from 'node:http2';
import type { Http2LimitsConfig } from '../../config/types.js';
import { logger } from '../../log.js';

const log = logger('edge');

export interface Http2Limits {
  /** RFC 9113 §6.5.2 recommends no less than 100; nginx's default is 128. */
  maxConcurrentStreams: number;
  /** Same bound as the HTTP/1.1 header limit (431 there), so both protocols accept the same requests. */
  maxHeaderListBytes: number;
  maxResets: number;
  resetWindowMs: number;
}

/**
 * 100 resets in 10 s: a browser cancels a few streams when a page is left, far fewer than that; a rapid-reset
 * attack sends thousands a second.
 */
export function http2Limits(c: Http2LimitsConfig | undefined, maxHeaderBytes: number): Http2Limits {
  return {
    maxConcurrentStreams: c?.maxConcurrentStreams ?? 100,
    maxHeaderListBytes: c?.maxHeaderListBytes ?? maxHeaderBytes,
    maxResets: c?.maxResets ?? 100,
    resetWindowMs: c?.resetWindowMs ?? 10_000,
  };
}

/**
 * The size of a request's header list as RFC 9113 §6.5.2 counts it (RFC 7541 §4.1: name + value + 32 per
 * field). node advertises SETTINGS_MAX_HEADER_LIST_SIZE but does not refuse a larger list itself (measured on
 * node 20.20), so the listener checks it and answers 431, as HTTP/1.1 does beyond the same bound.
 */
export function headerListBytes(rawHeaders: readonly string[]): number {
  let bytes = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) bytes += rawHeaders[i]!.length + (rawHeaders[i + 1]?.length ?? 0) + 32;
  return bytes;
}

/** Options for `http2.createSecureServer` that node enforces. */
export function http2ServerOptions(l: Http2Limits): http2.SecureServerOptions {
  return {
    settings: { maxConcurrentStreams: l.maxConcurrentStreams, maxHeaderListSize: l.maxHeaderListBytes },
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
    maxSettings: 32,
    maxOutstandingPings: 10,
    // Streams beyond the SETTINGS limit are refused by nghttp2; the header pair count has its own cap.
    maxHeaderListPairs: 256,
  };
}

/**
 * Counts the streams a client reset (or had reset) on one session; past the cap the session ends.
 * The listeners are made once per session (a stream costs a listener slot, not a closure and a once-wrapper: this
 * runs on every request of the hit path). The session is held here because a closed stream no longer has it.
 */
export function guardResets(session: http2.ServerHttp2Session, l: Http2Limits, now: () => number): void {
  new ResetGuard(session, l, now);
}

class ResetGuard {
  private windowStart: number;
  private resets = 0;

  constructor(
    private readonly session: http2.ServerHttp2Session,
    private readonly limits: Http2Limits,
    private readonly now: () => number,
  ) {
    this.windowStart = now();
    const guard = this;
    function onStreamClose(this: http2.ServerHttp2Stream): void {
      // rstCode 0 (NO_ERROR) is a normal end; anything else is a cancelled or refused stream.
      if (this.rstCode !== http2.constants.NGHTTP2_NO_ERROR) guard.counted();
    }
    session.on('stream', (stream: http2.ServerHttp2Stream) => stream.on('close', onStreamClose));
  }

  private counted(): void {
    const session = this.session;
    if (session.destroyed) return;
    const t = this.now();
    if (t - this.windowStart > this.limits.resetWindowMs) {
      this.windowStart = t;
      this.resets = 0;
    }
    if (++this.resets > this.limits.maxResets) {
      log.warn('http2 session closed: too many stream resets', { resets: this.resets, windowMs: this.limits.resetWindowMs, client: session.socket?.remoteAddress });
      session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      session.destroy();
    }
  }
}
