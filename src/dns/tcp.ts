/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): 2-byte length framing, several queries per connection
 * answered as they complete (RFC 7766 §6.2.1.1, pipelining), an idle timeout, and bounds on what one
 * client can hold: the frame size, queries in flight and unsent reply bytes. A slow or half-open
 * client costs at most one partial frame until the idle timeout closes it.
 */
import type { Socket } from 'node:net';
import { frameForTcp } from './wire.js';

export interface TcpLimits {
  /** Close a connection idle this long (RFC 7766 §6.2.3 suggests seconds, not minutes). */
  idleTimeoutMs: number;
  /** A query larger than this is not a query: close (an attacker's 65535 prefix never gets buffered). */
  maxQueryBytes: number;
  /** Stop reading while this many queries of one connection are unanswered. */
  maxInFlight: number;
  /** Close when the client does not read its replies and this many bytes wait. */
  maxPendingWriteBytes: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = { idleTimeoutMs: 10_000, maxQueryBytes: 4096, maxInFlight: 32, maxPendingWriteBytes: 1 << 20 };

/** A reply, or several for a zone transfer (RFC 5936 §2.2), or undefined for none. */
export type FrameHandler = (frame: Buffer) => Buffer | Buffer[] | undefined | Promise<Buffer | undefined>;

/** Serves one connection until it closes. */
export function serveTcpConnection(socket: Socket, limits: TcpLimits, onFrame: FrameHandler): void {
  let pending: Buffer = Buffer.alloc(0);
  let inFlight = 0;
  socket.setNoDelay(true);
  socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());

  const send = (reply: Buffer | Buffer[] | undefined): void => {
    inFlight--;
    if (Array.isArray(reply)) {
      // A zone transfer to an ACL-allowed secondary: the whole stream is queued (bounded by the zone's size).
      for (const message of reply) if (!socket.destroyed) socket.write(frameForTcp(message));
    } else if (reply && !socket.destroyed) {
      socket.write(frameForTcp(reply));
      if (socket.writableLength > limits.maxPendingWriteBytes) socket.destroy();
    }
    if (socket.isPaused() && inFlight < limits.maxInFlight) socket.resume();
  };

  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const size = pending.readUInt16BE(0);
      if (size > limits.maxQueryBytes || size === 0) {
        socket.destroy();
        return;
      }
      if (pending.length < size + 2) break;
      const frame = pending.subarray(2, size + 2);
      pending = pending.subarray(size + 2);
      inFlight++;
      let result: ReturnType<FrameHandler>;
      try {
        result = onFrame(Buffer.from(frame));
      } catch {
        result = undefined; // the pipeline never throws; if it did, this query goes unanswered, the connection lives
      }
      if (result instanceof Promise) result.then(send, () => send(undefined));
      else send(result);
    }
    if (pending.length > 0) pending = Buffer.from(pending); // do not pin the (possibly large) chunk we sliced from
    if (inFlight >= limits.maxInFlight) socket.pause();
  });
}
