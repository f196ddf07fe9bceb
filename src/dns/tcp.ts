/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): 2-byte length framing, several queries per connection
 * answered as they complete (RFC 7766 §6.2.1.1, pipelining), and bounds on what one client can hold:
 * the frame size, queries in flight, unsent reply bytes, and time.
 *
 * Time is bounded by one deadline whose meaning follows the connection's state, so that a client
 * trickling bytes (slowloris) cannot keep a connection by sending one byte now and then:
 *   - idle (nothing buffered, nothing in flight): `idleTimeoutMs` from opening or from the last reply
 *     (RFC 7766 §6.2.3: the server may close idle connections; it should not wait long);
 *   - reading a query: `frameTimeoutMs` from the query's first byte (its length prefix) to its last,
 *     however the bytes are spread;
 *   - queries in flight and nothing buffered: no deadline (the resolver times out on its own).
 * A connection that completes no query thus lives at most idleTimeoutMs + frameTimeoutMs.
 *
 * A half-close from the client (SHUT_WR after its last query, RFC 7766 §6.2.1 lets a client do that)
 * does not drop replies still being resolved: they are sent, then our side is closed. This needs the
 * socket to come from a server created with `allowHalfOpen: true`.
 */
import type { Socket } from 'node:net';
import { frameForTcp } from './wire.js';

export interface TcpLimits {
  /**
   * Close a connection that has been idle this long: no query buffered or in flight since it opened or
   * since its last reply. Bytes of an unfinished query do not restart it (frameTimeoutMs runs then).
   * Knot's tcp-idle-timeout is 10 s as well; RFC 7766 §6.2.3 asks for seconds, not minutes.
   */
  idleTimeoutMs: number;
  /**
   * A query must arrive whole within this time of its first byte. Knot's tcp-io-timeout is 500 ms;
   * 2 s leaves room for a few retransmissions on a lossy path, and a query is rarely more than one segment.
   */
  frameTimeoutMs: number;
  /** A query larger than this is not a query: close (an attacker's 65535 prefix never gets buffered). */
  maxQueryBytes: number;
  /** Stop reading while this many queries of one connection are unanswered. */
  maxInFlight: number;
  /** Close when the client does not read its replies and this many bytes wait. */
  maxPendingWriteBytes: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = { idleTimeoutMs: 10_000, frameTimeoutMs: 2_000, maxQueryBytes: 4096, maxInFlight: 32, maxPendingWriteBytes: 1 << 20 };

/** Why the server closed a connection (metric label values). */
export const TCP_CLOSE_REASONS = ['idle', 'frame_timeout', 'bad_length', 'write_backlog'] as const;
export type TcpCloseReason = (typeof TCP_CLOSE_REASONS)[number];
/** Plain counters, bumped here and read by the metrics at scrape time. */
export type TcpCloseCounts = Record<TcpCloseReason, number>;

export function newTcpCloseCounts(): TcpCloseCounts {
  return { idle: 0, frame_timeout: 0, bad_length: 0, write_backlog: 0 };
}

/** A reply, or several for a zone transfer (RFC 5936 §2.2), or undefined for none. */
export type FrameHandler = (frame: Buffer) => Buffer | Buffer[] | undefined | Promise<Buffer | Buffer[] | undefined>;

/** The connection's one timer: restarting the same kind of deadline reuses the timer (no allocation per query). */
class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private kind: TcpCloseReason | undefined;

  constructor(private readonly expire: (reason: TcpCloseReason) => void) {}

  get current(): TcpCloseReason | undefined {
    return this.kind;
  }

  /** (Re)starts the deadline: `reason` is what the close is counted as when it expires. */
  start(reason: TcpCloseReason, ms: number): void {
    if (this.timer && this.kind === reason) {
      this.timer.refresh();
      return;
    }
    this.clear();
    this.kind = reason;
    this.timer = setTimeout(() => this.expire(reason), ms);
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.kind = undefined;
  }
}

/** Serves one connection until it closes; closes it made are counted in `closes`. */
export function serveTcpConnection(socket: Socket, limits: TcpLimits, onFrame: FrameHandler, closes: TcpCloseCounts = newTcpCloseCounts()): void {
  let pending: Buffer = Buffer.alloc(0);
  let inFlight = 0;
  /** The client sent FIN: no more queries; close our side once the last reply is written. */
  let peerEnded = false;
  /** Inside the data handler, which sets the deadline once per chunk rather than once per reply. */
  let reading = false;
  const close = (reason: TcpCloseReason): void => {
    if (socket.destroyed) return;
    closes[reason]++;
    socket.destroy();
  };
  const deadline = new Deadline(close);
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.once('close', () => deadline.clear());

  /** Sets the deadline for the state the connection is now in (see the module comment). */
  const track = (queryStartedNow: boolean): void => {
    if (pending.length > 0 && !socket.isPaused()) {
      if (queryStartedNow || deadline.current !== 'frame_timeout') deadline.start('frame_timeout', limits.frameTimeoutMs);
    } else if (inFlight === 0) {
      deadline.start('idle', limits.idleTimeoutMs);
    } else {
      deadline.clear();
    }
  };
  const endIfDone = (): void => {
    if (peerEnded && inFlight === 0 && !socket.writableEnded) socket.end();
  };

  const send = (reply: Buffer | Buffer[] | undefined): void => {
    inFlight--;
    if (Array.isArray(reply)) {
      // A zone transfer to an ACL-allowed secondary: the whole stream is queued (bounded by the zone's size).
      for (const message of reply) if (!socket.destroyed) socket.write(frameForTcp(message));
    } else if (reply && !socket.destroyed) {
      socket.write(frameForTcp(reply));
      if (socket.writableLength > limits.maxPendingWriteBytes) close('write_backlog');
    }
    if (socket.destroyed || reading) return;
    if (socket.isPaused() && inFlight < limits.maxInFlight) socket.resume();
    track(false);
    endIfDone();
  };

  socket.on('data', (chunk: Buffer) => {
    const hadPartialQuery = pending.length > 0;
    let completed = 0;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    reading = true;
    while (pending.length >= 2) {
      const size = pending.readUInt16BE(0);
      if (size > limits.maxQueryBytes || size === 0) {
        close('bad_length'); // a zero-length frame holds no message (RFC 1035 §4.2.2)
        return;
      }
      if (pending.length < size + 2) break;
      const frame = pending.subarray(2, size + 2);
      pending = pending.subarray(size + 2);
      completed++;
      inFlight++;
      // The pipeline's boundary answers every throw and rejection (pipeline.ts): no catch needed here.
      const result = onFrame(Buffer.from(frame));
      if (result instanceof Promise) result.then(send, () => send(undefined));
      else send(result);
      if (socket.destroyed) return;
    }
    reading = false;
    if (pending.length > 0) pending = Buffer.from(pending); // do not pin the (possibly large) chunk we sliced from
    if (inFlight >= limits.maxInFlight) socket.pause();
    track(!hadPartialQuery || completed > 0);
  });

  socket.on('end', () => {
    peerEnded = true;
    pending = Buffer.alloc(0); // an unfinished query can never be completed now
    track(false);
    endIfDone();
  });

  track(true);
}
