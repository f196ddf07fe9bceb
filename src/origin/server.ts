import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Distributor } from '../distribution/distributor.js';
import { OperationFormatError, purgeTargetFromPattern } from '../distribution/operations.js';
import { AdminListener } from '../http/admin-listener.js';
import type { ServerTls } from '../http/link-tls.js';
import { parseJsonObject } from '../http/body.js';
import { ifRangeAllows, notModified } from '../http/conditional.js';
import { planRange } from '../http/range.js';
import { sendText } from '../http/reply.js';
import { HttpError } from '../errors.js';
import { logger } from '../log.js';
import { createRegistry } from '../metrics.js';
import type { HostPort } from '../net/address.js';
import { EtagCache } from './etags.js';
import type { Publisher } from './publisher.js';
import { describeFile, putFromContent, PushSourceError } from './representation.js';
import type { Representation } from './representation.js';
import { PathPolicy } from './rules.js';
import type { PathRule } from './rules.js';
import { realContentRoot, resolveContentPath } from './safe-path.js';

export interface OriginOptions {
  contentDir: string;
  listen: HostPort;
  /** The admin listener (metrics, push, purge, status, the distribution node's routes). Default `127.0.0.1:0`. */
  adminListen?: HostPort | undefined;
  rules?: PathRule[];
  defaultCacheControl?: string;
  /** Token for /.dnscdn/push, /purge, /status (and the in-process distribution node's routes). */
  token?: string | undefined;
  publisher?: Publisher | undefined;
  /** An in-process distribution node whose routes this server also answers. */
  distributor?: Distributor | undefined;
  /** The admin listener serves HTTPS with this certificate (http/link-tls.ts). */
  adminTls?: ServerTls | undefined;
}

const log = logger('origin');

/**
 * The origin: serves a content directory with strong ETags, Last-Modified, Content-Type, per-path Cache-Control
 * and Surrogate-Key, conditional requests (304) and single byte ranges, streaming the file from disk.
 * Its public port serves only content and /healthz. The admin listener serves /metrics and, with the bearer
 * token, /.dnscdn/push, /purge and /status (through a Publisher) and the in-process distribution node's routes.
 */
export class OriginServer {
  /** Content requests served (GET/HEAD of files, any status): the "origin saw no request" counter in tests. */
  contentRequests = 0;
  readonly registry: Registry;
  readonly etags = new EtagCache();
  readonly policy: PathPolicy;
  private readonly requests: Counter<'status'>;
  private readonly bytesSent: Counter;

  /** Set by start(), right after the constructor. */
  private adminListener!: AdminListener;

  private constructor(
    private readonly server: Server,
    readonly root: string,
    private readonly options: OriginOptions,
  ) {
    this.policy = new PathPolicy(options.rules ?? [], options.defaultCacheControl);
    this.registry = createRegistry({ labels: { role: 'origin' } });
    this.requests = new Counter({ name: 'dnscdn_origin_requests_total', help: 'Content requests by status', labelNames: ['status'], registers: [this.registry] });
    this.bytesSent = new Counter({ name: 'dnscdn_origin_body_bytes_total', help: 'Body bytes sent', registers: [this.registry] });
    options.distributor?.registerMetrics(this.registry);
  }

  static async start(options: OriginOptions): Promise<OriginServer> {
    const root = await realContentRoot(options.contentDir);
    const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 60_000 });
    const origin = new OriginServer(server, root, options);
    server.on('request', (req, res) => void origin.dispatch(req, res));
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    origin.adminListener = await AdminListener.start({
      listen: options.adminListen ?? { host: '127.0.0.1', port: 0 },
      token: options.publisher ? options.token : undefined,
      registry: origin.registry,
      role: 'origin',
      tls: options.adminTls,
    });
    origin.addAdminRoutes();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.listen.port, options.listen.host, () => resolve());
      });
    } catch (err) {
      await origin.adminListener.close();
      throw err;
    }
    log.debug('origin listening', { address: origin.url, admin: origin.adminUrl, content: root });
    return origin;
  }

  /** `http://host:port` of the admin listener. */
  get adminUrl(): string {
    return this.adminListener.url;
  }

  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  get url(): string {
    const a = this.address;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await Promise.all([new Promise<void>((resolve) => this.server.close(() => resolve())), this.adminListener.close()]);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const target = req.url ?? '/';
      const pathPart = target.startsWith('/') ? target.split('?', 1)[0]! : '';
      if (pathPart === '/healthz') return sendText(res, 200, 'ok\n');
      await this.serveContent(pathPart, req, res);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log.error('request failed', { url: req.url, error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) sendText(res, status, `${err instanceof Error && status !== 500 ? err.message : 'internal error'}\n`);
      else res.destroy();
    }
  }

  private async serveContent(pathPart: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.contentRequests++;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      this.count(405);
      return sendText(res, 405, 'method not allowed\n');
    }
    const found = await resolveContentPath(this.root, pathPart);
    if (!found.ok) {
      this.count(found.status);
      return sendText(res, found.status, `${found.reason}\n`);
    }
    const rep = await describeFile(found.file, found.urlPath, found.stats, this.etags, this.policy);
    for (const [k, v] of Object.entries(rep.headers)) res.setHeader(k, v);
    if (notModified(req.headers, rep.etag, rep.lastModified)) {
      this.count(304);
      res.removeHeader('content-type');
      res.removeHeader('accept-ranges');
      res.writeHead(304);
      return void res.end();
    }
    const plan = req.method === 'GET' && ifRangeAllows(req.headers, rep.etag, rep.lastModified) ? planRange(req.headers.range, rep.size) : { kind: 'full' as const };
    if (plan.kind === 'unsatisfiable') {
      this.count(416);
      res.setHeader('content-range', `bytes */${rep.size}`);
      return sendText(res, 416, 'range not satisfiable\n');
    }
    const [start, end] = plan.kind === 'partial' ? [plan.start, plan.end] : [0, rep.size - 1];
    const status = plan.kind === 'partial' ? 206 : 200;
    if (status === 206) res.setHeader('content-range', `bytes ${start}-${end}/${rep.size}`);
    res.setHeader('content-length', String(end - start + 1));
    this.count(status);
    res.writeHead(status);
    if (req.method === 'HEAD' || rep.size === 0) return void res.end();
    await this.stream(rep, start, end, res);
  }

  /** Streams straight from disk so a large file's first byte does not wait for its last. */
  private async stream(rep: Representation, start: number, end: number, res: ServerResponse): Promise<void> {
    const file = createReadStream(rep.file, { start, end });
    file.on('data', (chunk: string | Buffer) => this.bytesSent.inc(chunk.length));
    try {
      await pipeline(file, res);
    } catch {
      res.destroy(); // client went away or the file vanished mid-read: nothing else to do
    }
  }

  private count(status: number): void {
    this.requests.inc({ status: String(status) });
  }

  /** push, purge and status through the publisher; the in-process distribution node's own routes after them. */
  private addAdminRoutes(): void {
    const admin = this.adminListener;
    const publisher = (): Publisher => {
      if (!this.options.publisher) throw new HttpError(404, 'push is not enabled on this origin');
      return this.options.publisher;
    };
    admin.add('GET', '/.dnscdn/status', async () => ({ status: 200, body: await publisher().status() }));
    admin.add('POST', '/.dnscdn/push', async (req) => {
      const body = parseJsonObject(req.body);
      if (!Array.isArray(body.paths) || body.paths.length === 0 || body.paths.length > 10_000 || !body.paths.every((p) => typeof p === 'string')) {
        throw new HttpError(400, 'expected {"paths": ["/a", ...]}');
      }
      return { status: 200, body: { ops: await this.push(body.paths as string[], idempotencyKey(req.headers)) } };
    });
    admin.add('POST', '/.dnscdn/purge', async (req) => {
      const body = parseJsonObject(req.body);
      if (typeof body.target !== 'string') throw new HttpError(400, 'expected {"target": "/path" | "/prefix*" | "tag:NAME", "all"?: true}');
      const all = body.all === true;
      let target;
      try {
        target = purgeTargetFromPattern(body.target, all);
      } catch (err) {
        throw new HttpError(400, err instanceof Error ? err.message : 'bad purge target');
      }
      return { status: 200, body: { ops: await publisher().publish([{ op: { kind: 'purge', target } }], { allowAll: all, id: idempotencyKey(req.headers) }) } };
    });
    const distributor = this.options.distributor;
    if (distributor) admin.mount((req, res) => distributor.handle(req, res));
  }

  /** Publishes the current content of these paths (one journal batch). */
  async push(paths: string[], id?: string): Promise<Array<{ seq: number; kind: string; what: string }>> {
    const publisher = this.options.publisher;
    if (!publisher) throw new HttpError(404, 'push is not enabled on this origin');
    const items = [];
    for (const p of paths) {
      try {
        items.push(await putFromContent(this.root, p, this.etags, this.policy));
      } catch (err) {
        if (err instanceof PushSourceError) throw new HttpError(err.status, err.message);
        if (err instanceof OperationFormatError) throw new HttpError(400, err.message);
        throw err;
      }
    }
    return publisher.publish(items, { id });
  }
}

/**
 * `Idempotency-Key` of a push or purge: the NATS backend publishes with ids derived from it, so a client that
 * retries after losing the answer (the origin was killed between publish and reply) does not publish twice.
 */
function idempotencyKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const v = headers['idempotency-key'];
  if (typeof v !== 'string') return undefined;
  if (!/^[A-Za-z0-9_-]{8,128}$/.test(v)) throw new HttpError(400, 'Idempotency-Key: 8 to 128 letters, digits, _ or -');
  return v;
}
