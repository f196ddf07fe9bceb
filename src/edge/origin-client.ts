/**
 * Requests to the origin over a keep-alive connection pool. Failures are values for the pipeline to map:
 * no response headers within `timeoutMs` -> 504; refused, reset, or an unparsable response -> 502.
 * After the headers, the same timeout bounds silence on the socket (a stalled body errors the response stream).
 *
 * Framing. The request's framing is decided here and only here, from what is actually sent (RFC 9112 §6): no
 * body -> no Content-Length, Transfer-Encoding or Expect; a body of known length -> that Content-Length; a body of
 * unknown length -> chunked. Framing headers in `headers` are ignored. A pooled connection carries the next
 * request only if both framings were certain, so a connection is destroyed rather than reused when:
 * - the request body failed or stopped short (client went away, body limit): the origin waits for bytes that
 *   will never come, or would read the next request as the rest of this body;
 * - the response ended before the request body was all sent (an early 413/401): the origin may not read the rest,
 *   and whatever we still send would be parsed as the next request;
 * - the response was cut short or badly framed (node's parser destroys the socket itself; tested).
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import { HttpError } from '../errors.js';
import type { HeaderMap } from './headers.js';

export interface OriginClientOptions {
  /** `http://host:port` (a path prefix is not supported: paths are forwarded as requested). */
  origin: string;
  timeoutMs: number;
  /** Sockets per origin; bounds what a burst of misses can open. */
  maxSockets?: number;
  /** Observes the time to response headers, in seconds. */
  onLatency?: (seconds: number) => void;
}

export interface RequestBody {
  stream: Readable;
  /** Bytes the stream will deliver (the client's Content-Length), or undefined to send it chunked. */
  length: number | undefined;
}

export interface OriginRequest {
  method: string;
  path: string;
  /** End-to-end headers; any framing headers among them are replaced by the framing of `body`. */
  headers: HeaderMap;
  /** A request body to stream (unsafe methods), or none. */
  body?: RequestBody;
}

/** Headers that describe the request body's framing or ask about it (RFC 9112 §6, RFC 9110 §10.1.1). */
const FRAMING = ['content-length', 'transfer-encoding', 'expect'];

export class OriginClient {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly options: OriginClientOptions) {
    const url = new URL(options.origin);
    if (url.protocol !== 'http:') throw new Error(`origin must be an http:// URL, got ${options.origin}`);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || 80);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256, maxFreeSockets: 64, scheduling: 'lifo' });
  }

  /** Resolves with the response once its headers arrive; rejects with HttpError(502|504). */
  request(r: OriginRequest): Promise<http.IncomingMessage> {
    const started = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: this.host,
        port: this.port,
        method: r.method,
        path: r.path,
        headers: framedHeaders(r.headers, r.body),
        agent: this.agent,
        // The Host header comes from the client; node must not replace it with the origin's address.
        setHost: false,
      });
      const timer = setTimeout(() => {
        req.destroy(new HttpError(504, `origin did not answer within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      req.setTimeout(this.options.timeoutMs, () => req.destroy(new HttpError(504, 'origin connection idle too long')));
      req.on('response', (res) => {
        clearTimeout(timer);
        this.options.onLatency?.(Number(process.hrtime.bigint() - started) / 1e9);
        res.once('end', () => {
          if (!req.writableFinished) abandonUpload(req, r.body);
        });
        resolve(res);
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof HttpError ? err : new HttpError(502, `origin request failed: ${err.message}`));
      });
      if (r.body) sendBody(req, r.body);
      else req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function framedHeaders(headers: HeaderMap, body: RequestBody | undefined): HeaderMap {
  const out: HeaderMap = { ...headers };
  for (const h of FRAMING) delete out[h];
  // Without a length node sends the body chunked (and adds Transfer-Encoding itself).
  if (body?.length !== undefined) out['content-length'] = String(body.length);
  return out;
}

function sendBody(req: http.ClientRequest, body: RequestBody): void {
  const { stream } = body;
  // pipe() does not end the destination on a source error: the origin would wait for the rest of a body
  // announced by Content-Length (or a last chunk). Destroying the request destroys its socket.
  stream.once('error', (err) => req.destroy(new HttpError(502, `request body failed: ${err.message}`)));
  stream.pipe(req);
}

/**
 * The response is complete but our request body is not: stop sending, and drop the connection instead of
 * pooling it. The rest of the client's body is read and discarded, so the client's connection stays in sync.
 */
function abandonUpload(req: http.ClientRequest, body: RequestBody | undefined): void {
  if (body) {
    body.stream.unpipe(req);
    body.stream.resume();
  }
  req.destroy();
}
