/**
 * The single-origin Upstream: every request goes to one origin over a keep-alive connection pool. Failures are
 * values (upstream.ts): no response headers within `timeoutMs` -> timeout (504); refused or unreachable ->
 * connect-error (502); reset or an unparsable response -> broken (502). After the headers, the same timeout
 * bounds silence on the socket (a stalled body errors the response stream).
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
import https from 'node:https';
import { isIP } from 'node:net';
import { HttpError } from '../../errors.js';
import { linkCa, tlsFailureReason } from '../../http/link-tls.js';
import type { HeaderMap } from '../headers.js';
import type { FailureKind, RequestBody, Upstream, UpstreamRequest, UpstreamResult } from './upstream.js';

export interface SingleOriginOptions {
  /**
   * `http://host:port` or `https://name:port` (a path prefix is not supported: paths are forwarded as
   * requested). An https origin's certificate is checked against the deployment's CA (link-tls.ts) or Node's
   * public CAs, for the URL's host name, which is also the SNI sent (the client's Host header is not: an origin
   * reached as origin.example.net serves that name's certificate whatever site the edge is asked for).
   */
  origin: string;
  timeoutMs: number;
  /** Sockets per origin; bounds what a burst of misses can open. */
  maxSockets?: number;
}

/** Headers that describe the request body's framing or ask about it (RFC 9112 §6, RFC 9110 §10.1.1). */
const FRAMING = ['content-length', 'transfer-encoding', 'expect'];
/** Socket errors raised before a connection exists: the target is down or unreachable, not misbehaving. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);

/** Why we destroyed the request ourselves; anything else that fails it came from the socket or the parser. */
class GaveUp extends HttpError {
  constructor(
    readonly kind: FailureKind,
    status: number,
    message: string,
  ) {
    super(status, message);
  }
}

export class SingleOrigin implements Upstream {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly host: string;
  private readonly port: number;
  private readonly target: string;

  constructor(private readonly options: SingleOriginOptions) {
    const url = new URL(options.origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`origin must be an http:// or https:// URL, got ${options.origin}`);
    const secure = url.protocol === 'https:';
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || (secure ? 443 : 80));
    this.target = url.origin;
    const pool = { keepAlive: true, maxSockets: options.maxSockets ?? 256, maxFreeSockets: 64, scheduling: 'lifo' as const };
    this.transport = secure ? https : http;
    if (secure) {
      const ca = linkCa();
      // SNI and the name checked are the URL's host. Set explicitly: node's agent would take it from the Host
      // header, which is the client's site. '' for an IP literal: no SNI (RFC 6066 §3), the IP is checked.
      this.agent = new https.Agent({ ...pool, ...(ca ? { ca } : {}), servername: isIP(this.host) ? '' : this.host });
    } else this.agent = new http.Agent(pool);
  }

  /**
   * `headTimeoutMs`: a shorter wait for the response head (a pool's retry gets what is left of the first attempt's).
   * `firstByteTimeoutMs`: give up sooner if not one byte of an answer came by then (a `silent` timeout: the pool
   * retries it elsewhere); a server that did start answering gets the whole `headTimeoutMs`.
   */
  request(r: UpstreamRequest, headTimeoutMs: number = this.options.timeoutMs, firstByteTimeoutMs: number = headTimeoutMs): Promise<UpstreamResult> {
    const started = process.hrtime.bigint();
    const target = this.target;
    const latencySec = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    return new Promise((resolve) => {
      const req = this.transport.request({
        host: this.host,
        port: this.port,
        method: r.method,
        path: r.path,
        headers: framedHeaders(r.headers, r.body),
        agent: this.agent,
        // The Host header comes from the client; node must not replace it with the origin's address.
        setHost: false,
      });
      // Bytes the connection had read before this request (a pooled one carries earlier answers): more when the
      // head times out means the server did start answering.
      let readBefore = 0;
      req.once('socket', (socket) => (readBefore = socket.bytesRead));
      const nothingRead = (): boolean => (req.socket?.bytesRead ?? readBefore) === readBefore;
      let silent = false;
      const timer = setTimeout(() => {
        silent = nothingRead();
        req.destroy(new GaveUp('timeout', 504, `origin ${target} did not answer within ${headTimeoutMs} ms`));
      }, headTimeoutMs);
      const firstByte =
        firstByteTimeoutMs < headTimeoutMs
          ? setTimeout(() => {
              if (!nothingRead()) return;
              silent = true;
              req.destroy(new GaveUp('timeout', 504, `origin ${target} sent nothing within ${firstByteTimeoutMs} ms`));
            }, firstByteTimeoutMs)
          : undefined;
      req.setTimeout(this.options.timeoutMs, () => req.destroy(new GaveUp('timeout', 504, 'origin connection idle too long')));
      req.on('response', (res) => {
        clearTimeout(timer);
        clearTimeout(firstByte);
        res.once('end', () => {
          if (!req.writableFinished) abandonUpload(req, r.body);
        });
        resolve({ kind: 'response', status: res.statusCode ?? 502, response: res, target, latencySec: latencySec() });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        clearTimeout(firstByte);
        if (err instanceof GaveUp) return resolve({ kind: err.kind, error: err, target, latencySec: latencySec(), ...(err.kind === 'timeout' ? { silent } : {}) });
        const kind = err.code !== undefined && CONNECT_ERRORS.has(err.code) ? 'connect-error' : 'broken';
        const reason = tlsFailureReason(err.code, err.message) ?? err.message;
        resolve({ kind, error: new HttpError(502, `origin request failed: ${target}: ${reason}`), target, latencySec: latencySec() });
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
  stream.once('error', (err) => req.destroy(new GaveUp('aborted', 502, `request body failed: ${err.message}`)));
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
