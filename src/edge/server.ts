/**
 * The edge's HTTP/1.1 listener (node:http): request limits, health and metrics, admin routes, and the one
 * catch that turns errors into responses. Everything about caching is in pipeline.ts.
 *
 * Limits: headers over `maxHeaderBytes` -> 431, malformed requests -> 400 (node's parser, via clientError, and
 * request-framing.ts for what node lets through: a repeated Host, a Transfer-Encoding other than chunked),
 * request targets over 8 KiB -> 414, request bodies over `maxBodyBytes` -> 413.
 * Reserved on this public port: `GET /healthz`, and the PURGE method only from `purgeAllow` networks with the
 * admin token (Varnish's ACL-guarded purge). `/metrics` and the `/.dnscdn/` APIs live on the admin listener
 * (http/admin-listener.ts); a `/.dnscdn/` path here is 404 and never reaches the origin.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import type { Registry } from 'prom-client';
import { HttpError } from '../errors.js';
import { logger } from '../log.js';
import { ADMIN_PREFIX, AdminListener, type AdminHandler } from '../http/admin-listener.js';
import { BEARER_CHALLENGE } from '../http/bearer.js';
import { parseJsonObject } from '../http/body.js';
import { sendJson } from '../http/reply.js';
import { createRegistry } from '../metrics.js';
import { formatHostPort, parseHostPort, type HostPort } from '../net/address.js';
import { EdgeCache } from './cache.js';
import { writeDelivery, writeFastHit, writeSynth } from './deliver.js';
import type { CachedObject } from './entry.js';
import { single } from './headers.js';
import { createEdgeMetrics, type EdgeMetrics } from './metrics.js';
import { OriginClient, type RequestBody } from './origin-client.js';
import { EdgePipeline, type EdgeRequest } from './pipeline.js';
import { CookieRule, looksUp } from './policy.js';
import { PublicPurge } from './public-purge.js';
import { refuseFraming } from './request-framing.js';
import { EdgeStore } from './store.js';
import type { CachePolicyName } from './eviction/names.js';

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
  /** Which objects the store keeps (eviction/names.ts). Default: DEFAULT_CACHE_POLICY. */
  cachePolicy?: CachePolicyName;
  /** Bearer token for the admin listener's routes and a public PURGE; without one they are refused. */
  adminToken?: string;
  /** The admin listener (metrics, purge, replica): loopback by default. Default `127.0.0.1:0`. */
  adminListen?: string | HostPort;
  /**
   * Networks (CIDR) whose PURGE requests the public port accepts, with the admin token as well. Default none:
   * PURGE is then only served by the admin listener.
   */
  purgeAllow?: readonly string[];
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
}

export interface EdgeServer {
  readonly address: HostPort;
  /** `http://host:port` of the listener. */
  readonly url: string;
  readonly name: string;
  readonly cache: EdgeCache;
  readonly registry: Registry;
  readonly metrics: EdgeMetrics;
  /** `http://host:port` of the admin listener (`/metrics`, `/.dnscdn/*`). */
  readonly adminUrl: string;
  /** Registers a handler on the admin listener (bearer token checked before it runs). */
  addAdminRoute(method: string, path: string, handler: AdminHandler): void;
  close(): Promise<void>;
}

const MAX_URL_BYTES = 8192;
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
    policy: options.cachePolicy,
  });
  metrics = createEdgeMetrics(registry, store);
  const m = metrics;
  const cache = new EdgeCache(store, now, via);
  const origin = new OriginClient({ origin: options.origin, timeoutMs: options.originTimeoutMs ?? 10_000, onLatency: (s) => m.originLatency.observe(s) });
  const cookies = new CookieRule(options.ignoreCookies);
  const pipeline = new EdgePipeline({ cache, origin, metrics: m, now, via, maxStaleSec: options.maxStaleSec ?? 60, cookies });
  const adminListen = options.adminListen === undefined ? { host: '127.0.0.1', port: 0 } : typeof options.adminListen === 'string' ? parseHostPort(options.adminListen) : options.adminListen;
  // Bounded by the largest pushed batch the replica route accepts: one object plus its framing.
  const admin = await AdminListener.start({ listen: adminListen, token: options.adminToken, registry, role: `edge ${name}`, maxBodyBytes: store.maxObjectBytes + 1024 * 1024 });
  addBuiltinAdminRoutes(admin, cache);
  const publicPurge = new PublicPurge(options.purgeAllow ?? [], options.adminToken);

  /** Connections whose request was refused for its framing: answered once, then closed. */
  const refusedSockets = new WeakSet<Socket>();
  const server = http.createServer({ maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024, keepAliveTimeout: 5000 }, (req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const host = req.headers.host ?? '';
    const refused = refuseFraming(req);
    if (refused !== undefined) {
      m.requests.inc({ method: knownMethod(method) });
      res.shouldKeepAlive = false;
      refusedSockets.add(req.socket);
      writeSynth(res, refused.status, refused.message);
      return;
    }
    // Then the fast path, alone: no counters beyond one increment, no header objects built.
    const hit = pipeline.fastHit(method, host, url, req.headers);
    if (hit !== undefined) {
      m.requests.inc({ method });
      m.hits.inc();
      writeFastHit(res, hit, now());
      return;
    }
    m.requests.inc({ method: knownMethod(method) });
    handle(req, res, method, url, host).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 502;
      if (!(err instanceof HttpError)) log.error('request failed', { path: url, error: err instanceof Error ? err.message : String(err) });
      writeSynth(res, status, `${http.STATUS_CODES[status] ?? 'error'}\n`);
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, method: string, url: string, host: string): Promise<void> {
    if (url.length > MAX_URL_BYTES) return writeSynth(res, 414, 'request target too long\n');
    if (!url.startsWith('/')) return writeSynth(res, 400, 'origin-form request target required\n');
    if (host === '' || /[\s/\\@]/.test(host)) return writeSynth(res, 400, 'bad Host header\n');
    const pathOnly = url.split('?', 1)[0]!;
    if (method === 'GET' && pathOnly === '/healthz') return writeSynth(res, 200, 'ok\n');
    if (method === 'PURGE') return handlePublicPurge(req, res, url);
    if (pathOnly.startsWith(ADMIN_PREFIX)) {
      req.resume();
      return writeSynth(res, 404, 'admin endpoints are served on the admin listener\n');
    }
    const declared = Number(single(req.headers['content-length']) ?? 0);
    if (declared > maxBodyBytes) return writeSynth(res, 413, 'request body too large\n');
    const edgeReq: EdgeRequest = {
      method,
      path: url,
      host,
      headers: req.headers,
      clientAddress: req.socket.remoteAddress ?? '',
      body: forwardedBody(req, method, maxBodyBytes, () => writeSynth(res, 413, 'request body too large\n')),
    };
    const delivery = await pipeline.handle(edgeReq);
    m.responses.inc({ cache: delivery.kind === 'synth' ? 'SYNTH' : delivery.cache });
    writeDelivery(req, res, delivery, via, now());
  }

  function handlePublicPurge(req: http.IncomingMessage, res: http.ServerResponse, url: string): void {
    req.resume();
    const verdict = publicPurge.authorize(req.socket.remoteAddress ?? '', req.headers);
    if (!verdict.ok) {
      if (verdict.status === 401) res.setHeader('www-authenticate', BEARER_CHALLENGE['www-authenticate']);
      return writeSynth(res, verdict.status, `${verdict.reason}\n`);
    }
    const purged = cache.purgeUrl(url);
    log.info('purge', { path: url, purged, from: req.socket.remoteAddress });
    sendJson(res, 200, { purged });
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
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await admin.close(); // a public port that cannot bind must not leave the admin port held
    throw err;
  }
  const addr = server.address() as AddressInfo;
  const address = { host: addr.address, port: addr.port };
  log.info('edge listening', { name, listen: formatHostPort(address), admin: admin.url, origin: options.origin });
  return {
    address,
    url: `http://${formatHostPort(address)}`,
    name,
    cache,
    registry,
    metrics: m,
    adminUrl: admin.url,
    addAdminRoute: (method, path, handler) => admin.add(method, path, handler),
    close: async () => {
      origin.close();
      server.closeAllConnections();
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), admin.close()]);
    },
  };
}

function addBuiltinAdminRoutes(admin: AdminListener, cache: EdgeCache): void {
  // PURGE /path with the token: the admin listener's form of a URL purge (no allow-list needed on it).
  admin.add('PURGE', '*', (req) => {
    const purged = cache.purgeUrl(req.target);
    log.info('purge', { path: req.target, purged });
    return { status: 200, body: { purged } };
  });
  // POST /.dnscdn/purge {"path": "/a"} | {"prefix": "/img/"} | {"tag": "product-42"}
  admin.add('POST', '/.dnscdn/purge', (req) => {
    const s = parseJsonObject(req.body);
    if (typeof s.path === 'string') return { status: 200, body: { purged: cache.purgeUrl(s.path) } };
    if (typeof s.prefix === 'string') return { status: 200, body: { purged: cache.purgePrefix(s.prefix) } };
    if (typeof s.tag === 'string') return { status: 200, body: { purged: cache.purgeTag(s.tag) } };
    return { status: 400, body: { error: 'expected one of "path", "prefix", "tag"' } };
  });
  admin.add('GET', '/.dnscdn/objects', () => ({ status: 200, body: cache.list() }));
}

/**
 * What of the client's body goes to the origin. GET and HEAD: nothing. Their content "has no generally defined
 * semantics" and "cannot alter the meaning or target of the request" (RFC 9110 §9.3.1-2), and a cache miss is a
 * fill shared by every client, so the body is read (keeping the client's connection in sync) and dropped, and
 * so are its framing headers (origin-client.ts). Varnish does the same for looked-up requests (the miss goes out
 * as a bodiless GET); nginx re-sends the body it read with its own Content-Length. Both keep the connection in
 * sync; forwarding would make a shared fill depend on one client's body. We do not answer 400: the request is
 * well framed, and a client that sends such a body still gets the page it asked for.
 * Other methods: the body as framed by the client (RFC 9112 §6.3: neither Content-Length nor Transfer-Encoding
 * means no body), bounded by `maxBodyBytes`; a client that goes away mid-body fails the upload.
 */
function forwardedBody(req: http.IncomingMessage, method: string, limit: number, onTooLarge: () => void): RequestBody | undefined {
  const declared = single(req.headers['content-length']);
  if (looksUp(method) || (declared === undefined && req.headers['transfer-encoding'] === undefined)) {
    req.resume();
    return undefined;
  }
  const limited = new BodyLimit(limit, onTooLarge);
  req.once('error', (err) => limited.destroy(err));
  return { stream: req.pipe(limited), length: declared === undefined ? undefined : Number(declared) };
}

/** Counts body bytes on their way to the origin; past the limit the client gets 413 and the upload stops. */
class BodyLimit extends Transform {
  private seen = 0;
  constructor(
    private readonly limit: number,
    private readonly onExceeded: () => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      this.onExceeded();
      cb(new HttpError(413, 'request body too large'));
      return;
    }
    cb(null, chunk);
  }
}

/** Metric label values come from a fixed set, so a client cannot grow the label space. */
function knownMethod(m: string): string {
  return ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PURGE'].includes(m) ? m : 'OTHER';
}
