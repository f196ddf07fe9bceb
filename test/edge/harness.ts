/**
 * Test fixtures for the edge: a real origin on loopback whose answers each test sets and which records every
 * request it gets, a manual clock, and a small HTTP client that returns status, headers and body.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startEdge, type EdgeOptions, type EdgeServer } from '../../src/edge/server.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export type OriginHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface TestOrigin {
  url: string;
  seen: SeenRequest[];
  /** Requests that reached the origin for this path (any method). */
  count(path: string): number;
  /** Sets the answer for a path (exact match on path + query). Unknown paths get 404 without caching headers. */
  on(path: string, handler: OriginHandler): void;
  close(): Promise<void>;
}

/** `now`: the origin's clock for its Date header (fixtures share the edge's manual clock, so Age starts at 0). */
export async function startOrigin(now?: () => number): Promise<TestOrigin> {
  const handlers = new Map<string, OriginHandler>();
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (now) res.setHeader('date', new Date(now()).toUTCString());
    const h = handlers.get(req.url ?? '');
    if (h) return h(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    count: (path) => seen.filter((s) => s.url === path).length,
    on: (path, handler) => handlers.set(path, handler),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An origin answer: fixed status, headers and body, with a 304 when If-None-Match matches the ETag. */
export function fixed(status: number, headers: Record<string, string | string[]>, body: string | Buffer = ''): OriginHandler {
  return (req, res) => {
    const etag = headers.etag ?? headers.ETag;
    if (typeof etag === 'string' && req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag, 'cache-control': String(headers['cache-control'] ?? '') });
      res.end();
      return;
    }
    res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
}

export interface Clock {
  now: () => number;
  advance(seconds: number): void;
}

export function manualClock(start = Date.now()): Clock {
  let t = start;
  return { now: () => t, advance: (s) => void (t += s * 1000) };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection. */
export function request(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = http.request({ host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, path, method: options.method ?? 'GET', headers: options.headers, agent: false, localAddress: options.localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface Fixture {
  origin: TestOrigin;
  edge: EdgeServer;
  clock: Clock;
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  close(): Promise<void>;
}

export const TOKEN = 'test-admin-token';

export async function startFixture(options: Partial<EdgeOptions> = {}): Promise<Fixture> {
  const clock = manualClock();
  const origin = await startOrigin(clock.now);
  const edge = await startEdge({ listen: '127.0.0.1:0', origin: origin.url, maxBytes: 1024 * 1024, adminToken: TOKEN, originTimeoutMs: 2000, now: clock.now, ...options });
  return {
    origin,
    edge,
    clock,
    get: (path, headers) => request(edge.url, path, headers ? { headers } : {}),
    close: async () => {
      await edge.close();
      await origin.close();
    },
  };
}

/** A sample's value from the edge's registry, e.g. metric(edge, 'dnscdn_edge_revalidations_total', { result: '304' }). */
export async function metric(edge: EdgeServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await edge.registry.getSingleMetric(name)?.get();
  if (!m) throw new Error(`no metric ${name}`);
  const v = m.values.find((s) => Object.entries(labels).every(([k, want]) => String(s.labels[k]) === want));
  return v?.value ?? 0;
}

/** Sends raw bytes on a new connection to 127.0.0.1:port and returns everything received until it closes. */
export function sendRaw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString('latin1')));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}
