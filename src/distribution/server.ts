import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError } from '../errors.js';
import { logger } from '../log.js';
import { createRegistry, PROMETHEUS_CONTENT_TYPE } from '../metrics.js';
import type { HostPort } from '../net/address.js';
import type { Distributor } from './distributor.js';

const log = logger('distribution');

/** The HTTP listener of a stand-alone distribution node (`dnscdn distributor`): its routes plus /healthz and /metrics. */
export async function listenDistributor(d: Distributor, listen: HostPort): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const registry = createRegistry({ labels: { role: 'distributor' } });
  d.registerMetrics(registry);
  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (req.url === '/healthz') return void res.end('ok\n');
        if (req.url === '/metrics') return void res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(await registry.metrics());
        if (!(await d.handle(req, res))) throw new HttpError(404, 'not found');
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        if (status === 500) log.error('request failed', { url: req.url, error: err instanceof Error ? err.message : String(err) });
        if (res.headersSent) return void res.destroy();
        const text = `${status === 500 ? 'internal error' : (err as Error).message}\n`;
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  log.info('distribution node listening', { address: url });
  return {
    server,
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
