/**
 * How the DNS workers share a UDP port (issue 13 item 3):
 *   - 'reuseport': each worker binds its own socket with SO_REUSEPORT and the kernel spreads datagrams
 *     over them (Node >= 22.12 has `reusePort` on dgram). Measured on a 16-core machine (issue 13): this
 *     keeps scaling past 4 workers (426k q/s with 8) where a shared socket flattens near 300k q/s.
 *   - 'shared': node:cluster's primary binds the socket and hands the same handle to every worker, whose
 *     reads compete on one queue. The only choice on Node 20.
 * TCP is always distributed by the primary (cluster's round-robin accept).
 */
import { createSocket, type Socket, type SocketOptions } from 'node:dgram';

export type UdpSocketMode = 'reuseport' | 'shared';

/** dgram's option from Node 22.12 on; @types/node 20 does not know it. */
export type ReusePortSocketOptions = SocketOptions & { reusePort?: boolean };

/**
 * Asks the runtime rather than its version: two sockets with `reusePort` on one port of 127.0.0.1.
 * Where the option is unknown Node ignores it and the second bind fails with EADDRINUSE.
 */
export async function detectUdpSocketMode(): Promise<UdpSocketMode> {
  const options: ReusePortSocketOptions = { type: 'udp4', reusePort: true };
  const first = createSocket(options);
  const second = createSocket(options);
  try {
    const port = await bind(first, 0);
    await bind(second, port);
    return 'reuseport';
  } catch {
    return 'shared';
  } finally {
    for (const s of [first, second]) {
      try {
        s.close();
      } catch {
        // never bound, or already closed by the failed bind
      }
    }
  }
}

function bind(socket: Socket, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    // exclusive: in a cluster worker (tests run the probe anywhere) bind here, not through the primary.
    socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => {
      socket.off('error', reject);
      resolve(socket.address().port);
    });
  });
}
