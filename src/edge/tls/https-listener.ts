/**
 * The edge's HTTPS listener: one `node:http2` secure server that speaks HTTP/2 and HTTP/1.1 (ALPN `h2`,
 * `http/1.1`, `allowHTTP1`), so both protocols reach the same request handler with compat req/res objects.
 * Certificates come from ServedCertificates (SNI, reload); TLS 1.2 is the minimum; session tickets are on, with
 * a fresh ticket key every `ticketKeyRotationMs` (node holds one key at a time, so a ticket older than the last
 * rotation falls back to a full handshake: that is the price of forward secrecy for resumed sessions); a
 * handshake that does not finish in `handshakeTimeoutMs` is dropped (node's default is 120 s).
 */
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MIN_TLS_VERSION } from './certificate-set.js';
import { guardResets, headerListBytes, http2ServerOptions, type Http2Limits } from './h2-limits.js';
import { sendText } from '../../http/reply.js';
import { OcspStapler } from './ocsp.js';
import type { ServedCertificates } from './served-certificates.js';
import type { HostPort } from '../../net/address.js';
import { logger } from '../../log.js';

const log = logger('edge');

/** 10 s: a real client finishes a handshake in a few round trips; a slowloris holding sockets does not. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** 1 h between ticket keys; a resumed session is then at most this old in key terms. */
export const DEFAULT_TICKET_ROTATION_MS = 3_600_000;
/**
 * An idle HTTP/2 session or HTTP/1.1 keep-alive connection is closed after this. It is also what ends a
 * connection whose client sent a malformed frame: nghttp2 answers GOAWAY (PROTOCOL_ERROR, FRAME_SIZE_ERROR) and
 * serves nothing more on it, but node 20 keeps the socket open until the client closes or this timeout fires.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

export type EdgeRequestHandler = (req: IncomingMessage | http2.Http2ServerRequest, res: ServerResponse | http2.Http2ServerResponse) => void;

export interface HttpsListenerOptions {
  listen: HostPort;
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
  readonly address: HostPort;
  readonly server: http2.Http2SecureServer;
  close(): Promise<void>;
}

export async function startHttpsListener(o: HttpsListenerOptions): Promise<HttpsListener> {
  const fallback = o.certificates.set?.fallback;
  const server = http2.createSecureServer({
    allowHTTP1: true,
    ALPNProtocols: ['h2', 'http/1.1'],
    minVersion: MIN_TLS_VERSION,
    SNICallback: o.certificates.sniCallback,
    ...(fallback ? { cert: fallback.cert, key: fallback.key } : {}),
    handshakeTimeout: o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    ...http2ServerOptions(o.limits),
  });
  o.certificates.onDefaultChange = (c) => server.setSecureContext({ cert: c.cert, key: c.key, minVersion: MIN_TLS_VERSION });
  // HTTP/1.1 over this server runs node:http's connection code, which reads the header limit from the server.
  Object.assign(server, { maxHeaderSize: o.maxHeaderBytes });
  server.setTimeout(o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  server.on('OCSPRequest', new OcspStapler().onRequest);
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
  // HTTP/1.1 keep-alive sockets and HTTP/2 sessions, ended on close (server.close waits for them otherwise).
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    guardResets(session, o.limits, o.now);
  });
  // A failed handshake (timeout, no shared version, garbage) concerns that socket only; node destroys it.
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => log.debug('tls handshake failed', { error: err.code ?? err.message }));
  server.on('sessionError', (err: Error) => log.debug('http2 session error', { error: err.message }));
  const rotation = setInterval(() => server.setTicketKeys(randomBytes(48)), o.ticketKeyRotationMs ?? DEFAULT_TICKET_ROTATION_MS);
  rotation.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listen.port, o.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: { host: addr.address, port: addr.port },
    server,
    close: async () => {
      clearInterval(rotation);
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
