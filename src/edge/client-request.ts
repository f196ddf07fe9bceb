/**
 * A client's request as the lifecycle sees it (pipeline.ts EdgeRequest), made from node's IncomingMessage
 * (HTTP/1.1, plain or TLS) or Http2ServerRequest: the lifecycle sees one request type whatever the protocol.
 * What is costly is done only when a step asks: the client's address when a fetch needs X-Forwarded-For, the
 * body when a pass forwards it, the TLS version when a log asks.
 *
 * HTTP/2 differences made invisible here (RFC 9113 §8.3): the target comes in `:authority` (taken as Host when
 * present, else the Host header), and the pseudo-headers (`:method`, `:path`, ...) are not headers. They stay in
 * node's header object, which is used as it is (a copy without them cost 0.24 us of a 1 KiB HTTP/2 hit's ~24 us,
 * profiled); a ':' cannot start a field name (RFC 9110 §5.1), so no lookup by name meets them, and the one code
 * that copies headers onward, endToEnd (headers.ts), leaves them out: they never reach the origin. A body is there unless HEADERS ended
 * the stream (there is no Content-Length or Transfer-Encoding to say so).
 * The scheme: HTTPS requests carry `X-Forwarded-Proto: https` in their headers, set here over whatever the
 * client sent, so an origin that answers differently per scheme says `Vary: X-Forwarded-Proto` and the cache keeps
 * one variant per scheme; otherwise both schemes share one entry (the key is Host + target, policy.ts).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { Transform, type TransformCallback } from 'node:stream';
import type { ClientMessage, NodeResponse } from './client-response.js';
import { HttpError } from '../errors.js';
import { single } from './headers.js';
import type { EdgeRequest } from './pipeline.js';
import { looksUp } from './policy.js';
import type { RequestBody } from './upstream/upstream.js';

export class IncomingEdgeRequest implements EdgeRequest {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly headers: IncomingHttpHeaders;
  readonly scheme: 'http' | 'https';

  constructor(
    private readonly req: ClientMessage,
    private readonly res: NodeResponse,
    private readonly maxBodyBytes: number,
    /** Answers 413 when a forwarded body outgrows `maxBodyBytes` (one function per server, not one per request). */
    private readonly tooLarge: (res: NodeResponse) => void,
    secure = false,
  ) {
    this.method = req.method ?? 'GET';
    this.path = req.url ?? '/';
    this.scheme = secure ? 'https' : 'http';
    if (isHttp2(req)) {
      this.headers = req.headers;
      // RFC 9113 §8.3.1: :authority, when present, is the target's authority (over any Host field).
      const authority = req.headers[':authority'];
      if (typeof authority === 'string' && authority !== '') this.headers.host = authority;
      this.headers['x-forwarded-proto'] = 'https';
    } else {
      this.headers = req.headers;
      // The plain port's hit path stays as it was: its headers are only touched when a client claimed a scheme.
      if (secure || req.headers['x-forwarded-proto'] !== undefined) this.headers['x-forwarded-proto'] = this.scheme;
    }
    this.host = this.headers.host ?? '';
  }

  /** `h2` or `h1` (HTTP/1.0 and 1.1), for logs. */
  get protocol(): 'h1' | 'h2' {
    return isHttp2(this.req) ? 'h2' : 'h1';
  }

  /** `TLSv1.3`, `TLSv1.2`, or undefined on the plain port. */
  get tlsVersion(): string | undefined {
    if (this.scheme !== 'https') return undefined;
    return (this.req.socket as TLSSocket).getProtocol?.() ?? undefined;
  }

  get rawHeaders(): readonly string[] {
    return this.req.rawHeaders;
  }

  get clientAddress(): string {
    return this.req.socket.remoteAddress ?? '';
  }

  forwardBody(): RequestBody | undefined {
    return forwardedBody(this.req, this.method, this.hasBody(), this.maxBodyBytes, () => this.tooLarge(this.res));
  }

  discardBody(): void {
    // A request without a body has nothing to drain (node dumps any unread rest when the response ends); only one
    // that announces a body is read at once, so its client can finish sending while the fill runs.
    if (this.hasBody()) this.req.resume();
  }

  private hasBody(): boolean {
    if (isHttp2(this.req)) return !this.req.stream.endAfterHeaders;
    return this.headers['content-length'] !== undefined || this.headers['transfer-encoding'] !== undefined;
  }
}

function isHttp2(req: ClientMessage): req is Http2ServerRequest {
  return req.httpVersionMajor === 2;
}

/**
 * What of the client's body goes to the origin. GET and HEAD: nothing. Their content "has no generally defined
 * semantics" and "cannot alter the meaning or target of the request" (RFC 9110 §9.3.1-2), and a cache miss is a
 * fill shared by every client, so the body is read (keeping the client's connection in sync) and dropped, and
 * so are its framing headers (upstream/single-origin.ts). Varnish does the same for looked-up requests (the miss
 * goes out as a bodiless GET); nginx re-sends the body it read with its own Content-Length. Both keep the
 * connection in sync; forwarding would make a shared fill depend on one client's body. We do not answer 400: the
 * request is well framed, and a client that sends such a body still gets the page it asked for.
 * Other methods: the body as framed by the client (RFC 9112 §6.3: neither Content-Length nor Transfer-Encoding
 * means no body), bounded by `maxBodyBytes`; a client that goes away mid-body fails the upload.
 */
function forwardedBody(req: IncomingMessage | Http2ServerRequest, method: string, hasBody: boolean, limit: number, onTooLarge: () => void): RequestBody | undefined {
  const declared = single(req.headers['content-length']);
  if (looksUp(method) || !hasBody) {
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
