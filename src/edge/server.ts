/**
 * The edge's HTTP/1.1 listener (node:http): it adapts each request for the lifecycle (pipeline.ts), writes the
 * delivery it returns (deliver.ts), serves the admin routes the lifecycle hands back, and holds the one catch
 * that turns errors into responses. Everything about a request's way through the cache, including the
 * synthetic 400/413/414 answers and framing refusals, is in pipeline.ts.
 *
 * node's parser answers what it cannot read before a request exists: headers over `maxHeaderBytes` -> 431,
 * malformed requests -> 400 (clientError below).
 * Reserved paths: `GET /healthz` (pipeline.ts recv), `GET /metrics`, everything under `/.dnscdn/`, and the PURGE method.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Registry } from 'prom-client';
import { HttpError } from '../errors.js';
import { logger } from '../log.js';
import { createRegistry, PROMETHEUS_CONTENT_TYPE } from '../metrics.js';
import { formatHostPort, parseHostPort, type HostPort } from '../net/address.js';
import { ADMIN_PREFIX, AdminRoutes, type AdminHandler, type AdminReply, type AdminRequest } from './admin.js';
import { EdgeCache } from './cache.js';
import { IncomingEdgeRequest } from './client-request.js';
import { writeDelivery, writeSynth } from './deliver.js';
import type { CachedObject } from './entry.js';
import { createEdgeMetrics, type EdgeMetrics } from './metrics.js';
import { EdgePipeline, type Delivery, type EdgeRequest, type StepName } from './pipeline.js';
import { CookieRule } from './policy.js';
import { EdgeStore } from './store.js';
import { observedUpstream } from './upstream/observed.js';
import { SingleOrigin } from './upstream/single-origin.js';

const log = logger('edge');

export interface EdgeOptions {
  /** `127.0.0.11:8080`, `[::1]:8080`, or a parsed address. Port 0 picks a free port. */
  listen: string | HostPort;
  /** `http://127.0.0.1:8000` */
  origin: string;
  /** Bytes the store may hold (bodies plus headers). */
  maxBytes: number;
  /** Largest object stored; larger responses pass through unstored. Default: min(8 MiB, maxBytes / 8). */
  maxObjectBytes?: number;
  /** Bearer token for PURGE and `/.dnscdn/` routes; without one they are refused. */
  adminToken?: string;
  /** Time to origin response headers, and the longest silence while reading its body. Default 10 s. */
  originTimeoutMs?: number;
  /** Edge name, used in Via and as a metrics label. Default `dnscdn`. */
  name?: string;
  /** The cache's clock in ms (tests inject one). */
  now?: () => number;
  /** Upper bound on a client's `max-stale` in seconds (shared cache protection). Default 60. */
  maxStaleSec?: number;
  /** Request header bytes before 431. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Request body bytes (passed methods) before 413. Default 16 MiB. */
  maxBodyBytes?: number;
  /**
   * Cookie names (with `*` wildcards, e.g. `_ga*`) that do not identify a user: a request carrying only these is
   * treated as cookie-less when deciding whether a heuristically fresh response may be shared (policy.ts).
   */
  ignoreCookies?: readonly string[];
  /** Observes the lifecycle steps each request visited (pipeline.ts StepName), like varnishlog; for tests and debugging. */
  onSteps?: (steps: readonly StepName[], req: EdgeRequest) => void;
}

export interface EdgeServer {
  readonly address: HostPort;
  /** `http://host:port` of the listener. */
  readonly url: string;
  readonly name: string;
  readonly cache: EdgeCache;
  readonly registry: Registry;
  readonly metrics: EdgeMetrics;
  /** Registers an admin handler under `/.dnscdn/` (bearer token checked before it runs). */
  addAdminRoute(method: string, path: string, handler: AdminHandler): void;
  close(): Promise<void>;
}

const DEFAULT_MAX_OBJECT_BYTES = 8 * 1024 * 1024;

export async function startEdge(options: EdgeOptions): Promise<EdgeServer> {
  const name = options.name ?? 'dnscdn';
  const via = `1.1 ${name}`;
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const registry = createRegistry({ labels: { edge: name } });
  let metrics: EdgeMetrics | undefined;
  const store = new EdgeStore<CachedObject>({
    maxBytes: options.maxBytes,
    maxObjectBytes: options.maxObjectBytes ?? Math.min(DEFAULT_MAX_OBJECT_BYTES, Math.floor(options.maxBytes / 8)),
    onEvict: () => metrics?.evictions.inc(),
  });
  metrics = createEdgeMetrics(registry, store);
  const m = metrics;
  const cache = new EdgeCache(store, now, via);
  const origin = new SingleOrigin({ origin: options.origin, timeoutMs: options.originTimeoutMs ?? 10_000 });
  const upstream = observedUpstream(origin, (o) => {
    if (o.kind === 'response') m.originLatency.observe(o.latencySec);
  });
  const cookies = new CookieRule(options.ignoreCookies);
  const pipeline = new EdgePipeline({
    cache,
    upstream,
    metrics: m,
    now,
    via,
    maxStaleSec: options.maxStaleSec ?? 60,
    cookies,
    maxBodyBytes,
    isAdminRequest: (method, path) => (method === 'GET' && path === '/metrics') || method === 'PURGE' || path.startsWith(ADMIN_PREFIX),
    onSteps: options.onSteps,
  });
  const admin = new AdminRoutes(options.adminToken);
  addBuiltinAdminRoutes(admin, cache);

  /** Connections whose request was refused for its framing: answered once, then closed. */
  const refusedSockets = new WeakSet<Socket>();
  const server = http.createServer({ maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024, keepAliveTimeout: 5000 }, (req, res) => {
    m.requests.inc({ method: knownMethod(req.method ?? 'GET') });
    try {
      const delivery = pipeline.handle(new IncomingEdgeRequest(req, res, maxBodyBytes, bodyTooLarge));
      if (delivery instanceof Promise) delivery.then((d) => respond(req, res, d)).catch((err: unknown) => fail(req, res, err));
      else respond(req, res, delivery);
    } catch (err) {
      fail(req, res, err);
    }
  });

  function respond(req: http.IncomingMessage, res: http.ServerResponse, d: Delivery): void {
    if (d.kind === 'admin') {
      handleAdmin(req, res).catch((err: unknown) => fail(req, res, err));
      return;
    }
    if (d.kind === 'synth' && d.close) {
      res.shouldKeepAlive = false;
      refusedSockets.add(req.socket);
    }
    writeDelivery(req, res, d, via, now());
  }

  /** `GET /metrics`, PURGE and `/.dnscdn/` routes (the lifecycle's recv hands them here). */
  async function handleAdmin(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const pathOnly = url.split('?', 1)[0]!;
    if (method === 'GET' && pathOnly === '/metrics') {
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    const auth = admin.authorize(req.headers);
    if (!auth.ok) {
      req.resume();
      if (auth.status === 401) res.setHeader('www-authenticate', 'Bearer realm="dnscdn"');
      return writeSynth(res, auth.status, `${auth.reason}\n`);
    }
    if (method === 'PURGE') {
      req.resume();
      const purged = cache.purgeUrl(url);
      log.info('purge', { path: url, purged });
      return writeReply(res, { status: 200, body: { purged } });
    }
    const handler = admin.find(method, pathOnly);
    if (!handler) {
      req.resume();
      return writeSynth(res, admin.hasPath(pathOnly) ? 405 : 404, admin.hasPath(pathOnly) ? 'method not allowed\n' : 'no such admin route\n');
    }
    const body = await readBounded(req, store.maxObjectBytes + 1024 * 1024);
    const request: AdminRequest = { method, path: pathOnly, query: new URL(url, 'http://edge').searchParams, headers: req.headers, body };
    writeReply(res, await handler(request));
  }

  // Node's parser rejects malformed requests and oversized headers before our handler; answer them, keep serving.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // A refused request already has its answer; its unreadable body must not produce a second one.
    if (refusedSockets.has(socket)) return void socket.end();
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'HPE_URI_TOO_LONG' ? 414 : 400;
    const text = http.STATUS_CODES[status] ?? 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${text.length + 1}\r\nConnection: close\r\n\r\n${text}\n`);
  });

  const listen = typeof options.listen === 'string' ? parseHostPort(options.listen) : options.listen;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const address = { host: addr.address, port: addr.port };
  log.info('edge listening', { name, listen: formatHostPort(address), origin: options.origin });
  return {
    address,
    url: `http://${formatHostPort(address)}`,
    name,
    cache,
    registry,
    metrics: m,
    addAdminRoute: (method, path, handler) => admin.add(method, path, handler),
    close: async () => {
      origin.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function addBuiltinAdminRoutes(admin: AdminRoutes, cache: EdgeCache): void {
  // POST /.dnscdn/purge {"path": "/a"} | {"prefix": "/img/"} | {"tag": "product-42"}
  admin.add('POST', '/.dnscdn/purge', (req) => {
    let spec: unknown;
    try {
      spec = JSON.parse(req.body.toString('utf8'));
    } catch {
      return { status: 400, body: { error: 'body must be JSON: {"path"|"prefix"|"tag": string}' } };
    }
    if (typeof spec !== 'object' || spec === null) return { status: 400, body: { error: 'expected a JSON object' } };
    const s = spec as Record<string, unknown>;
    if (typeof s.path === 'string') return { status: 200, body: { purged: cache.purgeUrl(s.path) } };
    if (typeof s.prefix === 'string') return { status: 200, body: { purged: cache.purgePrefix(s.prefix) } };
    if (typeof s.tag === 'string') return { status: 200, body: { purged: cache.purgeTag(s.tag) } };
    return { status: 400, body: { error: 'expected one of "path", "prefix", "tag"' } };
  });
  admin.add('GET', '/.dnscdn/objects', () => ({ status: 200, body: cache.list() }));
}

function writeReply(res: http.ServerResponse, reply: AdminReply): void {
  const isRaw = typeof reply.body === 'string' || Buffer.isBuffer(reply.body);
  const body = reply.body === undefined ? '' : isRaw ? (reply.body as string | Buffer) : `${JSON.stringify(reply.body)}\n`;
  res.writeHead(reply.status, { 'content-type': isRaw ? 'text/plain; charset=utf-8' : 'application/json', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(body)), ...reply.headers });
  res.end(body);
}

function readBounded(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        req.destroy();
        reject(new HttpError(413, 'admin request body too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The one catch: an HttpError becomes its status; anything else is a bug, logged, and answered 502. */
function fail(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
  const status = err instanceof HttpError ? err.status : 502;
  if (!(err instanceof HttpError)) log.error('request failed', { path: req.url, error: err instanceof Error ? err.message : String(err) });
  writeSynth(res, status, `${http.STATUS_CODES[status] ?? 'error'}\n`);
}

function bodyTooLarge(res: http.ServerResponse): void {
  writeSynth(res, 413, 'request body too large\n');
}

/** Metric label values come from a fixed set, so a client cannot grow the label space. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PURGE']);

function knownMethod(m: string): string {
  return KNOWN_METHODS.has(m) ? m : 'OTHER';
}
