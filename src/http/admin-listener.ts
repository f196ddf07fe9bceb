/**
 * A role's admin listener, apart from its public port: `GET /metrics` and `GET /healthz` for monitoring, and
 * the operator and link APIs (push, purge, status, replica, journal) behind one bearer token. Loopback by
 * default (the deployment file or `--admin-listen` moves it), so the public port serves only content and
 * `/healthz`, and a scrape or a purge never competes with client traffic on it.
 *
 * Contract:
 * - `/metrics` and `/healthz` need no token (as DNS's admin listener on 127.0.0.1:9153, and as Prometheus
 *   scrapes by default); every other request must present the token first (bearer.ts: 401 missing or wrong,
 *   403 no token configured), before its body is read;
 * - a route is `METHOD /path` or `METHOD *` (any path, e.g. the edge's PURGE); routes that stream their own
 *   answer are mounted as raw handlers and tried in order after the table;
 * - a request body is read whole, up to `maxBodyBytes` (413 past it);
 * - a thrown HttpError becomes its status; anything else 500, logged, and the listener keeps serving.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { MetricsSource } from '../cluster/metrics.js';
import { HttpError } from '../errors.js';
import { logger } from '../log.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import { BEARER_CHALLENGE, BearerCheck } from './bearer.js';
import { readRequestBody } from './body.js';
import type { ServerTls } from './link-tls.js';
import type { HeaderMap } from './header-value.js';
import { sendJson, sendText } from './reply.js';

export const ADMIN_PREFIX = '/.dnscdn/';

export interface AdminRequest {
  method: string;
  /** Path without the query, e.g. `/.dnscdn/purge`. */
  path: string;
  /** The request target as sent (path and query). */
  target: string;
  query: URLSearchParams;
  headers: HeaderMap;
  /** The request body, read completely (bounded by `maxBodyBytes`). */
  body: Buffer;
}

export interface AdminReply {
  status: number;
  /** Sent as JSON unless it is a string (plain text). */
  body?: unknown;
  headers?: Record<string, string>;
}

export type AdminHandler = (req: AdminRequest) => AdminReply | Promise<AdminReply>;

/** A handler that writes its own answer (a stream, custom headers); returns false for requests not its own. */
export type RawAdminHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;

export interface AdminListenerOptions {
  listen: HostPort;
  /** Bearer token for everything but /metrics and /healthz; without one those routes answer 403. */
  token: string | undefined;
  /** `/metrics`: the role's registry, or its workers' aggregate (cluster/metrics.ts). */
  registry: MetricsSource;
  /** Role label for logs: `edge london`, `origin`, `distributor`. */
  role: string;
  /** Largest request body a table route reads (default 1 MiB). */
  maxBodyBytes?: number;
  /** Serve HTTPS with this certificate (the deployment's `tls.admin`), so the token never crosses a network in clear. */
  tls?: ServerTls | undefined;
  /** Bind in this process even as a node:cluster worker (a worker's own listener, never shared). Default false. */
  exclusive?: boolean;
}

const log = logger('admin');

export class AdminListener {
  private readonly routes = new Map<string, AdminHandler>();
  private readonly raw: RawAdminHandler[] = [];
  private readonly auth: BearerCheck;

  private constructor(
    private readonly server: http.Server,
    private readonly options: AdminListenerOptions,
  ) {
    this.auth = new BearerCheck(options.token);
  }

  static async start(options: AdminListenerOptions): Promise<AdminListener> {
    // The same header limits as the public listeners; an admin request never needs more.
    const limits = { maxHeaderSize: 16 * 1024, requestTimeout: 60_000 };
    // TLS 1.2 at least (issue 15's floor for every listener); Node's default ciphers.
    const server = options.tls ? https.createServer({ ...limits, cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }) : http.createServer(limits);
    const admin = new AdminListener(server, options);
    server.on('request', (req, res) => void admin.dispatch(req, res));
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: options.listen.port, host: options.listen.host, exclusive: options.exclusive ?? false }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    log.debug('admin listening', { role: options.role, address: admin.url });
    return admin;
  }

  get address(): HostPort {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** `http://host:port` of the listener, or `https://` with TLS. */
  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://${formatHostPort(this.address)}`;
  }

  /** Registers `handler` for `method path` (`*` for any path); a second registration replaces the first. */
  add(method: string, path: string, handler: AdminHandler): void {
    this.routes.set(`${method.toUpperCase()} ${path}`, handler);
  }

  /** Adds a handler that answers requests itself; tried, in order, for what the table does not route. */
  mount(handler: RawAdminHandler): void {
    this.raw.push(handler);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const path = target.split('?', 1)[0]!;
    try {
      if (path === '/healthz' && (method === 'GET' || method === 'HEAD')) return sendText(res, 200, 'ok\n');
      if (path === '/metrics' && (method === 'GET' || method === 'HEAD')) {
        const text = await this.options.registry.metrics();
        return void res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' }).end(method === 'HEAD' ? undefined : text);
      }
      const auth = this.auth.authorize(req.headers);
      if (!auth.ok) {
        req.resume(); // the body of a refused request is never read into memory
        return sendText(res, auth.status, `${auth.reason}\n`, auth.status === 401 ? { ...BEARER_CHALLENGE } : {});
      }
      const handler = this.routes.get(`${method} ${path}`) ?? this.routes.get(`${method} *`);
      if (handler) {
        const body = await readRequestBody(req, this.options.maxBodyBytes ?? 1024 * 1024);
        const query = new URL(target, 'http://admin.invalid').searchParams;
        return writeReply(res, await handler({ method, path, target, query, headers: req.headers, body }));
      }
      for (const h of this.raw) if (await h(req, res)) return;
      req.resume();
      if (this.hasPath(path)) throw new HttpError(405, 'method not allowed');
      throw new HttpError(404, 'no such admin route');
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log.error('admin request failed', { role: this.options.role, path, error: err instanceof Error ? err.message : String(err) });
      if (res.headersSent) return void res.destroy();
      sendText(res, status, `${status === 500 ? 'internal error' : (err as Error).message}\n`);
    }
  }

  private hasPath(path: string): boolean {
    for (const k of this.routes.keys()) if (k.slice(k.indexOf(' ') + 1) === path) return true;
    return false;
  }
}

function writeReply(res: http.ServerResponse, reply: AdminReply): void {
  if (typeof reply.body === 'string') return sendText(res, reply.status, reply.body, reply.headers);
  if (reply.body === undefined) return sendText(res, reply.status, '', reply.headers);
  sendJson(res, reply.status, reply.body, reply.headers);
}
