/**
 * Requests to the origin over a keep-alive connection pool. Failures are values for the pipeline to map:
 * no response headers within `timeoutMs` -> 504; refused, reset, or an unparsable response -> 502.
 * After the headers, the same timeout bounds silence on the socket (a stalled body errors the response stream).
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

export interface OriginRequest {
  method: string;
  path: string;
  headers: HeaderMap;
  /** A request body to stream (unsafe methods), or none. */
  body?: Readable;
}

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
        headers: r.headers,
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
        resolve(res);
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof HttpError ? err : new HttpError(502, `origin request failed: ${err.message}`));
      });
      if (r.body) r.body.pipe(req);
      else req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
