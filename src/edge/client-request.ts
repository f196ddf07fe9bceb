/**
 * A client's request as the lifecycle sees it (pipeline.ts EdgeRequest), made from node's IncomingMessage. What
 * is costly is done only when a step asks: the client's address when a fetch needs X-Forwarded-For, the body when
 * a pass forwards it.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
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

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly maxBodyBytes: number,
    /** Answers 413 when a forwarded body outgrows `maxBodyBytes` (one function per server, not one per request). */
    private readonly tooLarge: (res: ServerResponse) => void,
  ) {
    this.method = req.method ?? 'GET';
    this.path = req.url ?? '/';
    this.host = req.headers.host ?? '';
    this.headers = req.headers;
  }

  get rawHeaders(): readonly string[] {
    return this.req.rawHeaders;
  }

  get clientAddress(): string {
    return this.req.socket.remoteAddress ?? '';
  }

  forwardBody(): RequestBody | undefined {
    return forwardedBody(this.req, this.method, this.maxBodyBytes, () => this.tooLarge(this.res));
  }

  discardBody(): void {
    // A request without a body has nothing to drain (node dumps any unread rest when the response ends); only one
    // that announces a body is read at once, so its client can finish sending while the fill runs.
    if (this.headers['content-length'] !== undefined || this.headers['transfer-encoding'] !== undefined) this.req.resume();
  }
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
function forwardedBody(req: IncomingMessage, method: string, limit: number, onTooLarge: () => void): RequestBody | undefined {
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
