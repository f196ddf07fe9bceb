/**
 * The DNS server's optional admin listener: GET /metrics (Prometheus text) and GET /healthz, over HTTPS when the
 * deployment gives admin listeners a certificate (root `tls.admin`, as every other role's admin listener,
 * http/admin-listener.ts; TLS 1.2 at least).
 * It serves only those two paths (and the extra routes it is given: the dashboard) and reads no request body,
 * so a client cannot make it hold anything.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { ServerTls } from '../http/link-tls.js';
import type { MetricsSource } from '../cluster/metrics.js';
import { logger } from '../log.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics.js';

const log = logger('dns.metrics');

export interface MetricsListener {
  readonly address: HostPort;
  /** `http://host:port`, or `https://` with TLS. */
  readonly url: string;
  close(): Promise<void>;
}

/** More routes on the listener (the dashboard): serves the request and returns true, or returns false. */
export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;


/** `health()` is the /healthz body; it answers 200 as long as the process serves DNS. */
export async function listenMetrics(at: HostPort, registry: MetricsSource, health: () => Record<string, unknown>, extra?: () => ExtraRoutes | undefined, tls?: ServerTls): Promise<MetricsListener> {
  const handler: RequestListener = (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    } else if (extra?.()?.(req, res, path ?? '')) {
      // served by the extra routes
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(text),
        (err: unknown) => {
          log.error('metrics collection failed', { error: String(err) });
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
        },
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify({ status: 'ok', ...health() })}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, handler) : createServer(handler);
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const address = bound && typeof bound === 'object' ? { host: at.host, port: bound.port } : at;
  log.debug('dns metrics listening', { address: formatHostPort(address), tls: tls !== undefined });
  return {
    address,
    url: `${tls ? 'https' : 'http'}://${formatHostPort(address)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
