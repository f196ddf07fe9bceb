/**
 * Closes the HTTPS listener's HTTP/1.1 connections on which no byte has moved, either way, for `idleMs`: an idle
 * keep-alive connection, a client that stopped reading its response, or one that stopped sending its request.
 *
 * node's per-socket timeout (`server.setTimeout`) gives the same rule by re-arming a timer on every read and every
 * write: for a keep-alive request, two timer-list insertions and two clock reads. Measured on 1 KiB HTTPS hits
 * (bench:edge setup, wrk on core 0, edge on core 1, load average ~1), in one edge process whose timeout was
 * switched off and on between 6 s runs, 8 pairs in each order (the later run of a pair gains from warm-up): with
 * the timeout run first, the run without it was 2.3-12 % faster (median 4.3 %); with it second, it was 3 % slower
 * to 1 % faster (median 1.6 % slower); about 3 % net. Here one sweep every `idleMs / 4` compares each
 * connection's byte counters with the previous sweep's, and the request path does nothing. A connection closes
 * between `idleMs` and `1.25 × idleMs` after its last byte moved.
 *
 * HTTP/2 sessions keep node's session timeout (https-listener.ts): their frames are read and written by nghttp2
 * under the JS socket, whose counters do not see them.
 */
import type { Socket } from 'node:net';

interface Activity {
  /** bytesRead + bytesWritten at the sweep that last saw them change. */
  moved: number;
  /** When that sweep ran (or the connection was added). */
  since: number;
}

/** Sweeps at least this often apart: a tiny idle time in a test must not become a busy timer. */
const MIN_SWEEP_MS = 10;

export class IdleConnections {
  private readonly connections = new Map<Socket, Activity>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    /** Also the HTTP/2 sessions' timeout (https-listener.ts): one idle time for the listener. */
    readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.sweep(), Math.max(MIN_SWEEP_MS, Math.floor(idleMs / 4)));
    this.timer.unref();
  }

  /** Watches a connection until it closes. */
  add(socket: Socket): void {
    this.connections.set(socket, { moved: bytesMoved(socket), since: this.now() });
    socket.once('close', () => this.connections.delete(socket));
  }

  /** One pass: connections whose counters stood still for `idleMs` are destroyed. */
  sweep(): void {
    const now = this.now();
    for (const [socket, activity] of this.connections) {
      const moved = bytesMoved(socket);
      if (moved !== activity.moved) {
        activity.moved = moved;
        activity.since = now;
      } else if (now - activity.since >= this.idleMs) {
        this.connections.delete(socket);
        socket.destroy();
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.connections.clear();
  }
}

/**
 * Bytes received plus bytes handed to the socket for sending. `bytesWritten` counts what the response wrote,
 * including what still waits in the socket's buffer, so a response that keeps being written counts as activity
 * and one stuck behind a client that reads nothing stops counting once its writer waits for 'drain'.
 */
function bytesMoved(socket: Socket): number {
  return socket.bytesRead + (socket.bytesWritten ?? 0);
}
