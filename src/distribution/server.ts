import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdminListener } from '../http/admin-listener.js';
import type { ServerTls } from '../http/link-tls.js';
import { sendText } from '../http/reply.js';
import { logger } from '../log.js';
import { createRegistry } from '../metrics.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import type { Distributor } from './distributor.js';

const log = logger('distribution');

export interface DistributorListeners {
  server: Server;
  /** Public: `/healthz` only. */
  url: string;
  /** Admin: `/metrics` and, with the token, publish, journal, status and replica. */
  adminUrl: string;
  close(): Promise<void>;
}

/**
 * The listeners of a stand-alone distribution node (`dnscdn distributor`): a public one that answers only
 * `/healthz` (for a load balancer or a probe), and the admin listener that carries its whole API.
 */
export async function listenDistributor(d: Distributor, listen: HostPort, admin: { listen?: HostPort; token: string; tls?: ServerTls | undefined }): Promise<DistributorListeners> {
  const registry = createRegistry({ labels: { role: 'distributor' } });
  d.registerMetrics(registry);
  const adminListener = await AdminListener.start({ listen: admin.listen ?? { host: '127.0.0.1', port: 0 }, token: admin.token, registry, role: 'distributor', tls: admin.tls });
  adminListener.mount((req, res) => d.handle(req, res));
  const server = createServer((req, res) => {
    req.resume();
    if ((req.url ?? '').split('?', 1)[0] === '/healthz') return sendText(res, 200, 'ok\n');
    sendText(res, 404, 'not found: the distributor API is on its admin listener\n');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => resolve());
    });
  } catch (err) {
    await adminListener.close();
    throw err;
  }
  const a = server.address() as AddressInfo;
  const url = `http://${formatHostPort({ host: a.address, port: a.port })}`;
  log.debug('distribution node listening', { address: url, admin: adminListener.url });
  return {
    server,
    url,
    adminUrl: adminListener.url,
    close: async () => {
      server.closeAllConnections();
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), adminListener.close()]);
    },
  };
}
