/**
 * The edge's HTTP/1.1 listener (node:http): it adapts each request for the lifecycle (pipeline.ts), writes the
 * delivery it returns (deliver.ts), serves the admin routes the lifecycle hands back, and holds the one catch
 * that turns errors into responses. Everything about a request's way through the cache, including the
 * synthetic 400/413/414 answers and framing refusals, is in pipeline.ts.
 *
 * node's parser answers what it cannot read before a request exists: headers over `maxHeaderBytes` -> 431,
 * malformed requests -> 400 (clientError below).
 * Reserved on this public port: `GET /healthz` (pipeline.ts recv), and the PURGE method only from `purgeAllow`
 * networks with the admin token (Varnish's ACL-guarded purge). `/metrics` and the `/.dnscdn/` APIs live on the
 * admin listener (http/admin-listener.ts); a `/.dnscdn/` path here is 404 and never reaches the origin, and
 * `/metrics` here is an ordinary content path.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TlsCertificateFiles, Http2LimitsConfig } from '../config/types.js';
import { asClientResponse, type ClientMessage, type NodeResponse } from './client-response.js';
import { NO_ADDED_HEADERS, type HeaderMapAlias } from './deliver.js';
import { ChallengeDirectory } from './tls/challenges.js';
import { http2Limits } from './tls/h2-limits.js';
import { startHttpsListener, type HttpsListener } from './tls/https-listener.js';
import { ServedCertificates } from './tls/served-certificates.js';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { HttpError } from '../errors.js';
import { logger } from '../log.js';
import { ADMIN_PREFIX, AdminListener, type AdminHandler } from '../http/admin-listener.js';
import { BEARER_CHALLENGE } from '../http/bearer.js';
import type { ServerTls } from '../http/link-tls.js';
import { parseJsonObject } from '../http/body.js';
import { sendJson } from '../http/reply.js';
import { createRegistry } from '../metrics.js';
import { formatHostPort, parseHostPort, type HostPort } from '../net/address.js';
import { listenServer } from '../net/listen.js';
import { AccessLog, type AccessLogOptions, type AccessRecord } from './access-log.js';
import { EdgeCache } from './cache.js';
import { DEFAULT_COMPRESSION, EdgeCompression, type CompressionOptions } from './compression.js';
import { IncomingEdgeRequest } from './client-request.js';
import { writeDelivery, writeSynth } from './deliver.js';
import type { CachedObject } from './entry.js';
import { createEdgeMetrics, createOriginServerMetrics, type EdgeMetrics } from './metrics.js';
import { cacheLabel, EdgePipeline, outcomeIndex, type Delivery, type StepName, type EdgeRequest } from './pipeline.js';
import { CookieRule } from './policy.js';
import { PublicPurge } from './public-purge.js';
import { EdgeStore, type StoreListing } from './store.js';
import { SYNTH_OUTCOME } from './traffic.js';
import type { CachePolicyName } from '../config/cache-policies.js';
import type { PurgeTarget } from '../distribution/operations.js';
import { buildRings, type EdgeRingOptions, type EdgeRings } from './ring/ring-setup.js';
import { observedUpstream } from './upstream/observed.js';
import { OriginPool } from './upstream/origin-pool.js';
import { originPoolOf } from '../config/origin-pool.js';
import type { OriginPoolConfig } from '../config/types.js';

const log = logger('edge');

export interface EdgeOptions {
  /**
   * `127.0.0.11:8080`, `[::1]:8080`, or a parsed address; or several (a dual-stack edge listens on each of its
   * addresses). Port 0 picks a free port (per address).
   */
  listen: string | HostPort | ReadonlyArray<string | HostPort>;
  /** `http://127.0.0.1:8000` (a pool of one), or an origin pool (upstream/origin-pool.ts). */
  origin: string | OriginPoolConfig;
  /** Bytes the store may hold (bodies plus headers). */
  maxBytes: number;
  /** Largest object stored; larger responses pass through unstored. Default: min(8 MiB, maxBytes / 8). */
  maxObjectBytes?: number;
  /** Mean object size expected, to size the cache policy's fixed tables (eviction/capacity.ts). */
  expectedObjectBytes?: number;
  /** Which objects the store keeps (config/cache-policies.ts). Default: DEFAULT_CACHE_POLICY. */
  cachePolicy?: CachePolicyName;
  /** Bearer token for the admin listener's routes and a public PURGE; without one they are refused. */
  adminToken?: string;
  /** The admin listener (metrics, purge, replica): loopback by default. Default `127.0.0.1:0`. */
  adminListen?: string | HostPort;
  /** Bind the admin listener in this process only (a node:cluster worker other than worker 0). */
  adminExclusive?: boolean;
  /** Applies a purge received here to the host's other workers too; resolves with how many objects went there. */
  purgeElsewhere?: (t: PurgeTarget) => Promise<number>;
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
  /** HTTPS and HTTP/2 beside the plain port (tls/https-listener.ts). */
  tls?: EdgeTlsOptions;
  /** ACME HTTP-01 answers are served from this folder on both ports (tls/challenges.ts). */
  acmeChallengeDir?: string;
  /** Observes the lifecycle steps each request visited (pipeline.ts StepName), like varnishlog; for tests and debugging. */
  onSteps?: (steps: readonly StepName[], req: EdgeRequest) => void;
  /** Brotli/gzip variants of stored objects (compression.ts). Default DEFAULT_COMPRESSION; `false` = off. */
  compression?: CompressionOptions | false;
  /** The admin listener serves HTTPS with this certificate (http/link-tls.ts); absent = HTTP. */
  adminTls?: ServerTls;
  /** One line per request to a file or stderr (access-log.ts); absent = none. */
  accessLog?: AccessLogOptions;
  /** Cluster peers, shield and worker ring (ring/ring-setup.ts); absent: every miss goes to the origin. */
  ring?: EdgeRingOptions;
  /**
   * A second listener, on this process alone, where the other workers of the host reach this one (peer fill over
   * loopback); the public port is shared by all workers through node:cluster. Default: none.
   */
  peerListen?: HostPort;
}

export interface EdgeTlsOptions {
  /** Like EdgeOptions.listen: one address or several (a dual-stack edge serves HTTPS on each). */
  listen: string | HostPort | ReadonlyArray<string | HostPort>;
  /** Served by SNI; may be empty while the first ACME certificate is awaited. */
  certificates: TlsCertificateFiles[];
  default?: TlsCertificateFiles;
  /** The plain port answers 308 to https:// on this listener's port (not /healthz, not ACME challenges). */
  redirectHttp?: boolean;
  /** Strict-Transport-Security max-age (seconds) on HTTPS answers. */
  hstsMaxAgeSec?: number;
  handshakeTimeoutMs?: number;
  ticketKeyRotationMs?: number;
  /** Idle HTTP/2 sessions and keep-alive connections close after this (default 120 s). */
  idleTimeoutMs?: number;
  http2?: Http2LimitsConfig;
  /** The port clients are sent to by the redirect, when it differs from the bound one (a port forward). Default: the bound port. */
  publicPort?: number;
}

export interface EdgeServer {
  /** The first listener's bound address. */
  readonly address: HostPort;
  /** Every listener's bound address, in the order of `listen`. */
  readonly addresses: readonly HostPort[];
  /** `http://host:port` of the first listener. */
  readonly url: string;
  /** The origin pool (its servers and whether each may be picked now). */
  readonly originPool: OriginPool;
  readonly name: string;
  readonly cache: EdgeCache;
  readonly registry: Registry;
  readonly metrics: EdgeMetrics;
  /** `https://host:port` of the HTTPS listener's first address, when there is one. */
  readonly httpsUrl: string | undefined;
  /** `https://host:port` of every HTTPS address, in the order of `tls.listen`; empty without TLS. */
  readonly httpsUrls: readonly string[];
  /** The certificates the HTTPS listener serves (ACME adds to them). */
  readonly certificates: ServedCertificates | undefined;
  /** `http://host:port` of the admin listener (`/metrics`, `/.dnscdn/*`). */
  readonly adminUrl: string;
  /** Registers a handler on the admin listener (bearer token checked before it runs). */
  addAdminRoute(method: string, path: string, handler: AdminHandler): void;
  /** Reopens the access log's file (SIGHUP after logrotate moved it); nothing without an access log. */
  reopenAccessLog(): Promise<void>;
  /** The rings this edge is a member of; undefined when it has none. */
  readonly rings: EdgeRings | undefined;
  /** `http://127.0.0.1:port` of the worker's own peer listener, when `peerListen` was given. */
  readonly peerUrl: string | undefined;
  close(): Promise<void>;
}

const DEFAULT_MAX_OBJECT_BYTES = 8 * 1024 * 1024;

export async function startEdge(options: EdgeOptions): Promise<EdgeServer> {
  const name = options.name ?? 'dnscdn';
  const via = `1.1 ${name}`;
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const registry = createRegistry({ labels: { role: 'edge', edge: name } });
  let metrics: EdgeMetrics | undefined;
  const store = new EdgeStore<CachedObject>({
    maxBytes: options.maxBytes,
    maxObjectBytes: maxObjectBytesOf(options),
    onEvict: () => metrics?.evictions.inc(),
    policy: options.cachePolicy,
    expectedObjectBytes: options.expectedObjectBytes,
  });
  metrics = createEdgeMetrics(registry, store);
  const m = metrics;
  const cache = new EdgeCache(store, now, via);
  const originTimeoutMs = options.originTimeoutMs ?? 10_000;
  const poolConfig = typeof options.origin === 'string' ? originPoolOf([options.origin]) : options.origin;
  // The gauge reads the pool on each scrape, long after it exists.
  const pool: OriginPool = new OriginPool({ pool: poolConfig, timeoutMs: originTimeoutMs, observer: createOriginServerMetrics(registry, () => pool.status()) });
  const compression = options.compression === false ? undefined : new EdgeCompression(cache, options.compression ?? DEFAULT_COMPRESSION, via, (coding) => m.compressions.inc({ coding }));
  if (compression) {
    cache.compressible = (status, headers, length) => compression.compressible(status, headers, length);
    cache.freshened = (stale, fresh) => compression.refresh(stale, fresh);
  }
  const rings = options.ring ? buildRings(options.ring, { origin: pool, registry, originTimeoutMs, storeBytes: options.maxBytes, holds: (key) => store.peek(key) !== undefined }) : undefined;
  const upstream = observedUpstream(rings?.upstream ?? pool, (o) => {
    if (o.kind === 'response') m.originLatency.observe(o.latencySec);
  });
  // The sticky cookie is the edge's routing state: it must not make a response private (policy.ts), and the
  // pool never forwards it.
  const sticky = poolConfig.sticky?.cookie;
  const cookies = new CookieRule(sticky === undefined ? options.ignoreCookies : [...(options.ignoreCookies ?? []), sticky]);
  const challenges = options.acmeChallengeDir === undefined ? undefined : new ChallengeDirectory(options.acmeChallengeDir);
  // Certificates load before anything binds: a bad file refuses the start with the file and the reason.
  const certificates = options.tls ? new ServedCertificates(options.tls.certificates, options.tls.default) : undefined;
  const httpsListen = options.tls === undefined ? undefined : hostPorts(options.tls.listen);
  const pipeline = new EdgePipeline({
    cache,
    upstream,
    metrics: m,
    now,
    via,
    maxStaleSec: options.maxStaleSec ?? 60,
    cookies,
    maxBodyBytes,
    // Only what the public port must answer itself: a guarded PURGE and the 404 for admin paths.
    isAdminRequest: (method, path) => method === 'PURGE' || path.startsWith(ADMIN_PREFIX),
    onSteps: options.onSteps,
    passCredentials: sticky !== undefined,
    compression,
    hops: rings?.signer,
    hot: rings?.hot,
    acmeChallenge: challenges ? (token) => challenges.get(token) : undefined,
    // The port is known once bound (port 0 in tests): set below.
    httpsRedirectPort: undefined,
  });
  const admin = await AdminListener.start({ listen: adminAddressOf(options), token: options.adminToken, registry, role: `edge ${name}`, maxBodyBytes: adminBodyLimit(store.maxObjectBytes), tls: options.adminTls, exclusive: options.adminExclusive ?? false });
  const purge = async (t: PurgeTarget): Promise<number> => cache.purge(t) + (options.purgeElsewhere ? await options.purgeElsewhere(t) : 0);
  addCacheAdminRoutes(admin, { purge, list: () => cache.list() });
  const publicPurge = new PublicPurge(options.purgeAllow ?? [], options.adminToken);
  const accessLog = options.accessLog ? new AccessLog(options.accessLog) : undefined;

  /** Connections whose request was refused for its framing: answered once, then closed. */
  const refusedSockets = new WeakSet<Socket>();
  const maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
  // RFC 6797 §7.2: HSTS only on secure transport, so only the HTTPS listener adds it.
  const hsts = options.tls?.hstsMaxAgeSec === undefined ? NO_ADDED_HEADERS : { 'strict-transport-security': `max-age=${options.tls.hstsMaxAgeSec}` };

  /** Every listener, both protocols: one lifecycle. `added`: headers the listener puts on every answer. */
  function handle(req: ClientMessage, res: NodeResponse, secure: boolean, added: HeaderMapAlias): void {
    // A double from a monotonic clock: no allocation on the hit path (process.hrtime.bigint() would allocate).
    const started = performance.now();
    const record = accessLog?.begin(req, res);
    try {
      const delivery = pipeline.handle(new IncomingEdgeRequest(req, res, maxBodyBytes, bodyTooLarge, secure));
      if (delivery instanceof Promise) delivery.then((d) => respond(req, res, d, added, record, started)).catch((err: unknown) => failCounted(req, res, err, started));
      else respond(req, res, delivery, added, record, started);
    } catch (err) {
      failCounted(req, res, err, started);
    }
  }
  const peerServer = options.peerListen ? http.createServer({ maxHeaderSize: maxHeaderBytes, keepAliveTimeout: 5000 }, (req, res) => handle(req, res, false, NO_ADDED_HEADERS)) : undefined;

  function respond(req: ClientMessage, res: NodeResponse, d: Delivery, added: HeaderMapAlias, record: AccessRecord | undefined, started: number): void {
    if (record) noteDelivery(record, d);
    if (d.kind === 'synth' && d.probe === true) {
      m.traffic.probes++;
      writeDelivery(req, asClientResponse(res), d, via, now(), added);
      return;
    }
    respondTo(req, res, d, added);
    count(req, res, outcomeIndex(d), started);
  }

  function failCounted(req: ClientMessage, res: NodeResponse, err: unknown, started: number): void {
    fail(req, res, err);
    count(req, res, SYNTH_OUTCOME, started);
  }

  /** Records the response once it is complete: at once for answers written in one go (hits), else when it closes. */
  function count(req: ClientMessage, res: NodeResponse, outcome: number, started: number): void {
    if (res.writableEnded) m.traffic.record(outcome, req.method, res.statusCode, (performance.now() - started) / 1000);
    else res.once('close', () => m.traffic.record(outcome, req.method, res.statusCode, (performance.now() - started) / 1000));
  }

  function respondTo(req: ClientMessage, res: NodeResponse, d: Delivery, added: HeaderMapAlias): void {
    if (d.kind === 'admin') {
      handleAdmin(req, res).catch((err: unknown) => fail(req, res, err));
      return;
    }
    if (d.kind === 'synth' && d.close && res instanceof http.ServerResponse) {
      res.shouldKeepAlive = false;
      refusedSockets.add(res.socket!);
    }
    writeDelivery(req, asClientResponse(res), d, via, now(), added);
  }

  /** `GET /metrics`, PURGE and `/.dnscdn/` routes (the lifecycle's recv hands them here). */
  async function handleAdmin(req: ClientMessage, res: NodeResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const pathOnly = url.split('?', 1)[0]!;
    if (method === 'PURGE') return handlePublicPurge(req, res, url);
    req.resume();
    if (pathOnly.startsWith(ADMIN_PREFIX)) return writeSynth(asClientResponse(res), 404, 'admin endpoints are served on the admin listener\n');
    return writeSynth(asClientResponse(res), 404, 'not found\n');
  }

  async function handlePublicPurge(req: ClientMessage, res: NodeResponse, url: string): Promise<void> {
    req.resume();
    const verdict = publicPurge.authorize(req.socket.remoteAddress ?? '', req.headers);
    if (!verdict.ok) {
      if (verdict.status === 401) res.setHeader('www-authenticate', BEARER_CHALLENGE['www-authenticate']);
      return writeSynth(asClientResponse(res), verdict.status, `${verdict.reason}\n`);
    }
    const purged = await purge({ type: 'url', path: url });
    log.info('purge', { path: url, purged, from: req.socket.remoteAddress });
    sendJson(res, 200, { purged });
  }

  // Node's parser rejects malformed requests and oversized headers before our handler; answer them, keep serving.
  function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    // A refused request already has its answer; its unreadable body must not produce a second one.
    if (refusedSockets.has(socket)) return void socket.end();
    if (!socket.writable) return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'HPE_URI_TOO_LONG' ? 414 : 400;
    const text = http.STATUS_CODES[status] ?? 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${text.length + 1}\r\nConnection: close\r\n\r\n${text}\n`);
  }
  peerServer?.on('clientError', answerClientError);

  // One node server per address (a node server binds one): same handler, same pipeline and cache.
  const servers: http.Server[] = [];
  const addresses: HostPort[] = [];
  try {
    for (const listen of hostPorts(options.listen)) {
      const server = http.createServer({ maxHeaderSize: maxHeaderBytes, keepAliveTimeout: 5000 }, (req, res) => handle(req, res, false, NO_ADDED_HEADERS));
      server.on('clientError', answerClientError);
      server.on('connection', (socket: Socket) => m.traffic.trackConnection(socket));
      servers.push(server);
      addresses.push(await listenServer(server, { port: listen.port, host: listen.host }));
    }
    // exclusive: in a node:cluster worker, port 0 must be this worker's own port, not one shared by all workers.
    if (peerServer && options.peerListen) await listenServer(peerServer, { host: options.peerListen.host, port: options.peerListen.port, exclusive: true });
  } catch (err) {
    // A public address that cannot bind must not leave the others or the admin port held.
    await Promise.all(servers.map((sv) => new Promise<void>((r) => sv.close(() => r()))));
    peerServer?.close();
    await admin.close();
    rings?.close();
    pool.close();
    throw err;
  }
  const peerAddr = peerServer?.address() as AddressInfo | undefined;
  let https: HttpsListener | undefined;
  if (options.tls && certificates && httpsListen) {
    try {
      https = await startHttpsListener({
        listen: httpsListen,
        certificates,
        limits: http2Limits(options.tls.http2, maxHeaderBytes),
        maxHeaderBytes,
        onRequest: (req, res) => handle(req, res, true, hsts),
        onClientError: answerClientError,
        now: Date.now,
        ...(options.tls.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.tls.handshakeTimeoutMs } : {}),
        ...(options.tls.ticketKeyRotationMs !== undefined ? { ticketKeyRotationMs: options.tls.ticketKeyRotationMs } : {}),
        ...(options.tls.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.tls.idleTimeoutMs } : {}),
      });
    } catch (err) {
      for (const sv of servers) sv.closeAllConnections();
      await Promise.all(servers.map((sv) => new Promise<void>((r) => sv.close(() => r()))));
      await admin.close();
      pool.close();
      throw err;
    }
    certificates.watch();
    if (options.tls.redirectHttp) pipeline.redirectToHttps(options.tls.publicPort ?? https.address.port);
  }
  const address = addresses[0]!;
  const httpsUrls = https ? https.addresses.map((a) => `https://${formatHostPort(a)}`) : [];
  const httpsUrl = httpsUrls[0];
  // At debug: the command's announcement (src/log.ts announceListening) is the role's one start-up line.
  log.debug('edge listening', {
    name,
    listen: addresses.map(formatHostPort).join(' '),
    ...(httpsUrl ? { https: httpsUrls.join(' ') } : {}),
    admin: admin.url,
    origin: poolConfig.servers.map((sv) => sv.url).join(' '),
  });
  return {
    address,
    addresses,
    originPool: pool,
    url: `http://${formatHostPort(address)}`,
    httpsUrl,
    httpsUrls,
    certificates,
    name,
    cache,
    registry,
    metrics: m,
    adminUrl: admin.url,
    addAdminRoute: (method, path, handler) => admin.add(method, path, handler),
    reopenAccessLog: async () => accessLog?.reopen(),
    rings,
    peerUrl: peerAddr ? `http://${formatHostPort({ host: peerAddr.address, port: peerAddr.port })}` : undefined,
    close: async () => {
      pool.close();
      rings?.close();
      certificates?.close();
      peerServer?.closeAllConnections();
      for (const sv of servers) sv.closeAllConnections();
      await Promise.all([...servers.map((sv) => new Promise<void>((resolve) => sv.close(() => resolve()))), admin.close(), https?.close(), ...(peerServer ? [new Promise<void>((resolve) => peerServer.close(() => resolve()))] : [])]);
      await accessLog?.close();
    },
  };
}

/** The largest object the store keeps: `maxObjectBytes`, else min(8 MiB, maxBytes / 8). */
export function maxObjectBytesOf(options: Pick<EdgeOptions, 'maxBytes' | 'maxObjectBytes'>): number {
  return options.maxObjectBytes ?? Math.min(DEFAULT_MAX_OBJECT_BYTES, Math.floor(options.maxBytes / 8));
}

/** Where the admin listener binds: `adminListen`, else loopback on any port. */
export function adminAddressOf(options: Pick<EdgeOptions, 'adminListen'>): HostPort {
  const a = options.adminListen;
  return a === undefined ? { host: '127.0.0.1', port: 0 } : typeof a === 'string' ? parseHostPort(a) : a;
}

/** An admin request body is bounded by the largest pushed batch the replica route accepts: one object plus its framing. */
export function adminBodyLimit(maxObjectBytes: number): number {
  return maxObjectBytes + 1024 * 1024;
}

/** What the admin purge and listing routes act on: this process's cache, or (an edge primary) every worker's. */
export interface CacheAdmin {
  /** Resolves with the number of objects purged. */
  purge(t: PurgeTarget): Promise<number>;
  list(): StoreListing[] | Promise<StoreListing[]>;
}

export function addCacheAdminRoutes(admin: AdminListener, cache: CacheAdmin): void {
  const purge = (t: PurgeTarget): Promise<number> => cache.purge(t);
  // PURGE /path with the token: the admin listener's form of a URL purge (no allow-list needed on it).
  admin.add('PURGE', '*', async (req) => {
    const purged = await purge({ type: 'url', path: req.target });
    log.info('purge', { path: req.target, purged });
    return { status: 200, body: { purged } };
  });
  // POST /.dnscdn/purge {"path": "/a"} | {"prefix": "/img/"} | {"tag": "product-42"}
  admin.add('POST', '/.dnscdn/purge', async (req) => {
    const s = parseJsonObject(req.body);
    if (typeof s.path === 'string') return { status: 200, body: { purged: await purge({ type: 'url', path: s.path }) } };
    if (typeof s.prefix === 'string') return { status: 200, body: { purged: await purge({ type: 'prefix', prefix: s.prefix }) } };
    if (typeof s.tag === 'string') return { status: 200, body: { purged: await purge({ type: 'tag', tag: s.tag }) } };
    return { status: 400, body: { error: 'expected one of "path", "prefix", "tag"' } };
  });
  admin.add('GET', '/.dnscdn/objects', async () => ({ status: 200, body: await cache.list() }));
}

/**
 * The access log's cache outcome and upstream: the origin server or ring peer this request's fetch asked (nginx's
 * `$upstream_addr`), whether it answered or failed; `-` for answers from the cache or made here.
 */
function noteDelivery(record: AccessRecord, d: Delivery): void {
  record.outcome = cacheLabel(d);
  if (d.kind !== 'hit' && d.kind !== 'admin' && d.upstream !== undefined) record.upstream = d.upstream;
}

/** The one catch: an HttpError becomes its status; anything else is a bug, logged, and answered 502. */
function fail(req: ClientMessage, res: NodeResponse, err: unknown): void {
  const status = err instanceof HttpError ? err.status : 502;
  if (!(err instanceof HttpError)) log.error('request failed', { path: req.url, error: err instanceof Error ? err.message : String(err) });
  writeSynth(asClientResponse(res), status, `${http.STATUS_CODES[status] ?? 'error'}\n`);
}

function bodyTooLarge(res: NodeResponse): void {
  writeSynth(asClientResponse(res), 413, 'request body too large\n');
}

/** `listen` options as parsed addresses: one or several, text or parsed. */
function hostPorts(listen: string | HostPort | ReadonlyArray<string | HostPort>): HostPort[] {
  const list = (Array.isArray(listen) ? listen : [listen]) as ReadonlyArray<string | HostPort>;
  return list.map((l) => (typeof l === 'string' ? parseHostPort(l) : l));
}

