/**
 * Binding a node server (net, http, https, http2 all extend net.Server) as a promise: resolves with the
 * address actually bound (port 0 becomes the kernel's choice), rejects with the bind error (EADDRINUSE,
 * EACCES) instead of leaving it to an 'error' event nobody awaits.
 */
import type { AddressInfo, ListenOptions, Server } from 'node:net';
import type { HostPort } from './address.js';

export function listenServer(server: Server, options: ListenOptions): Promise<HostPort> {
  return new Promise<HostPort>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      resolve({ host: bound.address, port: bound.port });
    });
  });
}
