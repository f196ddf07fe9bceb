/**
 * The edge's HTTPS listener: on each of its addresses (a dual-stack edge has several) one `node:http2` secure
 * server that speaks HTTP/2 and HTTP/1.1 (ALPN `h2`, `http/1.1`, `allowHTTP1`), so both protocols reach the same
 * request handler with compat req/res objects (node binds one address per server).
 * Certificates come from ServedCertificates (SNI, reload); TLS 1.2 is the minimum; session tickets are on, with
 * a fresh ticket key every `ticketKeyRotationMs` and the previous key still accepted for one more period
 * (ticket-keys.ts), shared by every address; a handshake that does not finish in `handshakeTimeoutMs` is dropped
 * (node's default is 120 s).
 */
import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { MIN_TLS_VERSION } from './certificate-set.js';
import { guardResets, headerListBytes, http2ServerOptions, type Http2Limits } from './h2-limits.js';
import { IdleConnections } from './idle-connections.js';
import { sendText } from '../../http/reply.js';
import { OcspStapler } from './ocsp.js';
import { TicketKeys } from './ticket-keys.js';
import type { ServedCertificates } from './served-certificates.js';
import type { HostPort } from '../../net/address.js';
import { listenServer } from '../../net/listen.js';
import { logger } from '../../log.js';

const log = logger('edge');

/** 10 s: a real client finishes a handshake in a few round trips; a slowloris holding sockets does not. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** 1 h between ticket keys; a resumed session is then at most this old in key terms. */
export const DEFAULT_TICKET_ROTATION_MS = 3_600_000;
/**
 * An HTTP/2 session or HTTP/1.1 connection on which nothing moved for this long is closed (HTTP/1.1 by the sweep
 * of idle-connections.ts, HTTP/2 by node's session timeout). It is also what ends a connection whose client sent
 * a malformed frame: nghttp2 answers GOAWAY (PROTOCOL_ERROR, FRAME_SIZE_ERROR) and serves nothing more on it, but
 * node 20 keeps the socket open until the client closes or this timeout fires.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

export type EdgeRequestHandler = (req: IncomingMessage | http2.Http2ServerRequest, res: ServerResponse | http2.Http2ServerResponse) => void;

export interface HttpsListenerOptions {
  /** Every address to serve HTTPS on (at least one); port 0 picks a free port per address. */
  listen: readonly HostPort[];
  certificates: ServedCertificates;
  limits: Http2Limits;
  handshakeTimeoutMs?: number;
  ticketKeyRotationMs?: number;
  idleTimeoutMs?: number;
  /** HTTP/1.1 header bytes (431 beyond), as on the plain port. */
  maxHeaderBytes: number;
  onRequest: EdgeRequestHandler;
  /** HTTP/1.1 requests node's parser refused (the plain port's answer). */
  onClientError: (err: NodeJS.ErrnoException, socket: Socket) => void;
  now: () => number;
}

export interface HttpsListener {
  /** The first address's bound host and port. */
  readonly address: HostPort;
  /** Every bound address, in the order of `listen`. */
  readonly addresses: readonly HostPort[];
  /** One server per address, in the same order. */
  readonly servers: readonly http2.Http2SecureServer[];
  close(): Promise<void>;
}

export async function startHttpsListener(o: HttpsListenerOptions): Promise<HttpsListener> {
  if (o.listen.length === 0) throw new Error('the HTTPS listener needs at least one address');
  const tickets = new TicketKeys();
  const stapler = new OcspStapler();
  // HTTP/1.1 keep-alive sockets and HTTP/2 sessions of every address, ended on close (server.close waits for them otherwise).
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const servers: http2.Http2SecureServer[] = [];
  const addresses: HostPort[] = [];
  const rotation = setInterval(() => tickets.rotate(), o.ticketKeyRotationMs ?? DEFAULT_TICKET_ROTATION_MS);
  rotation.unref();
  const idle = new IdleConnections(o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  o.certificates.onDefaultChange = (c) => {
    for (const server of servers) {
      server.setSecureContext({ cert: c.cert, key: c.key, minVersion: MIN_TLS_VERSION });
      // setSecureContext replaces the context that held the ticket key hook.
      tickets.attach(server);
    }
  };
  const close = async (): Promise<void> => {
    clearInterval(rotation);
    idle.close();
    for (const s of sessions) s.destroy();
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))));
  };
  try {
    for (const listen of o.listen) {
      const server = createServer(o, stapler, sockets, sessions, idle);
      tickets.attach(server);
      servers.push(server);
      addresses.push(await listenServer(server, { port: listen.port, host: listen.host }));
    }
  } catch (err) {
    // One address that cannot bind must not leave the others held.
    await close();
    throw err;
  }
  return { address: addresses[0]!, addresses, servers, close };
}

/** One address's server: the same options, handlers and limits as every other address. */
function createServer(o: HttpsListenerOptions, stapler: OcspStapler, sockets: Set<Socket>, sessions: Set<http2.ServerHttp2Session>, idle: IdleConnections): http2.Http2SecureServer {
  const fallback = o.certificates.set?.fallback;
  const server = http2.createSecureServer({
    allowHTTP1: true,
    ALPNProtocols: ['h2', 'http/1.1'],
    minVersion: MIN_TLS_VERSION,
    SNICallback: o.certificates.sniCallback,
    ...(fallback ? { cert: fallback.cert, key: fallback.key } : {}),
    handshakeTimeout: o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    // Responses go out as soon as they are written, as on the plain port (node:http sets TCP_NODELAY there,
    // tls.Server does not): with Nagle, a response's last partial segment can wait for the client's delayed ACK.
    noDelay: true,
    ...http2ServerOptions(o.limits),
  });
  // HTTP/1.1 over this server runs node:http's connection code, which reads the header limit from the server.
  Object.assign(server, { maxHeaderSize: o.maxHeaderBytes });
  server.on('OCSPRequest', stapler.onRequest);
  server.on('request', (req: IncomingMessage | http2.Http2ServerRequest, res: ServerResponse | http2.Http2ServerResponse) => {
    if (req.httpVersionMajor === 2 && headerListBytes(req.rawHeaders) > o.limits.maxHeaderListBytes) {
      req.resume();
      return sendText(res, 431, 'Request Header Fields Too Large\n');
    }
    o.onRequest(req, res);
  });
  // http2's secure server reports failed handshakes (timeout included) as clientError and leaves the socket
  // open when someone listens; only HTTP/1.1 parser errors (HPE_*) get an HTTP answer, the rest are closed.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code?.startsWith('HPE_')) o.onClientError(err, socket);
    else socket.destroy();
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // HTTP/1.1 connections are swept for idleness; an HTTP/2 session has its own timeout (below).
    if (socket.alpnProtocol !== 'h2') idle.add(socket);
  });
  server.on('session', (session) => {
    sessions.add(session);
    // What server.setTimeout would arm (node's sessionOnTimeout): destroyed after the idle time without a frame.
    session.setTimeout(idle.idleMs, () => session.destroy());
    session.once('close', () => sessions.delete(session));
    guardResets(session, o.limits, o.now);
  });
  // A failed handshake (timeout, no shared version, garbage) concerns that socket only; node destroys it.
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => log.debug('tls handshake failed', { error: err.code ?? err.message }));
  server.on('sessionError', (err: Error) => log.debug('http2 session error', { error: err.message }));
  return server;
}
