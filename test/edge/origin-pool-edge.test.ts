/**
 * The origin pool behind a real edge: 503 + Retry-After when every server is down (stale-if-error first), sticky
 * sessions for what passes, per-server metrics, and an edge listening on IPv4 and IPv6 at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { originPoolOf } from '../../src/config/origin-pool.js';
import type { OriginPoolConfig } from '../../src/config/types.js';
import { startEdge, type EdgeOptions, type EdgeServer } from '../../src/edge/server.js';
import { refusingUrl } from '../net/loopback.js';
import { manualClock, metric, request, startOrigin } from './harness.js';
import { startNamedOrigins, type NamedOrigin } from './pool-origins.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function edgeWith(origin: OriginPoolConfig, extra: Partial<EdgeOptions> = {}): Promise<EdgeServer> {
  const edge = await startEdge({ listen: '127.0.0.1:0', origin, maxBytes: 1024 * 1024, originTimeoutMs: 2000, ...extra });
  cleanup.push(() => edge.close());
  return edge;
}

async function origins(...names: string[]): Promise<NamedOrigin[]> {
  const list = await startNamedOrigins(names);
  cleanup.push(() => Promise.all(list.map((o) => o.close())));
  return list;
}

/** `srv=<id>` from a response's Set-Cookie, or undefined. */
function stickyValue(setCookie: string[] | undefined): string | undefined {
  const c = (setCookie ?? []).find((v) => v.startsWith('srv='));
  return c?.slice(4, c.indexOf(';'));
}

describe('every origin server down', () => {
  it('answers 503 with Retry-After at once (not 502), and the edge keeps serving', async () => {
    const pool = originPoolOf([refusingUrl(), refusingUrl()]);
    pool.passive = { maxFails: 1, ejectMs: 20_000 };
    const edge = await edgeWith(pool);
    // First request: both servers refuse (tried, then retried): a failed attempt, 502; both are now ejected.
    expect((await request(edge.url, '/a')).status).toBe(502);
    const r = await request(edge.url, '/a');
    expect(r.status).toBe(503);
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(19);
    expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(20);
    expect(r.body).toMatch(/^origin unavailable: every origin server is down/);
    // A pass gets the same.
    const post = await request(edge.url, '/form', { method: 'POST', body: 'x=1', headers: { 'content-type': 'text/plain' } });
    expect(post.status).toBe(503);
    expect(post.headers['retry-after']).toBeDefined();
    expect((await request(edge.url, '/healthz')).status).toBe(200);
  });

  it('serves a stale copy when stale-if-error allows it, instead of the 503', async () => {
    const clock = manualClock();
    const origin = await startOrigin(clock.now);
    cleanup.push(() => origin.close());
    origin.on('/page', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=1, stale-if-error=60', 'content-length': '4' });
      res.end('good');
    });
    const pool = originPoolOf([origin.url]);
    pool.passive = { maxFails: 1, ejectMs: 60_000 };
    const edge = await edgeWith(pool, { now: clock.now });
    expect((await request(edge.url, '/page', { headers: { host: 'cdn.test' } })).body).toBe('good');
    await origin.close();
    clock.advance(10);
    // Refused (502 inside) and now ejected; then the pool is down (503 inside): stale both times.
    for (let i = 0; i < 2; i++) {
      const r = await request(edge.url, '/page', { headers: { host: 'cdn.test' } });
      expect([r.status, r.body, r.headers['x-cache']]).toEqual([200, 'good', 'STALE']);
    }
    expect(edge.originPool.status()[0]!.available).toBe(false);
    expect((await request(edge.url, '/other', { headers: { host: 'cdn.test' } })).status).toBe(503);
  });
});

describe('sticky sessions', () => {
  async function stickyEdge(): Promise<{ edge: EdgeServer; a: NamedOrigin; b: NamedOrigin; pool: OriginPoolConfig }> {
    const [a, b] = await origins('a', 'b');
    const pool = originPoolOf([a!.url, b!.url]);
    pool.servers[0]!.id = 'app-a';
    pool.servers[1]!.id = 'app-b';
    pool.sticky = { cookie: 'srv' };
    pool.passive = { maxFails: 1, ejectMs: 60_000 };
    return { edge: await edgeWith(pool), a: a!, b: b!, pool };
  }

  it('pins passed requests to the server that answered the first, by config id, and never forwards the cookie', async () => {
    const { edge, a, b } = await stickyEdge();
    const first = await request(edge.url, '/login', { method: 'POST', body: 'u=1', headers: { cookie: 'session=42' } });
    const id = stickyValue(first.headers['set-cookie']);
    expect(id).toBe(first.body.trim() === 'a' ? 'app-a' : 'app-b');
    expect(first.headers['set-cookie']!.find((c) => c.startsWith('srv='))).toBe(`srv=${id}; Path=/; HttpOnly; SameSite=Lax`);
    const pinned = first.body.trim();
    // Round-robin alone would alternate; the cookie keeps every passed request on one server.
    for (const method of ['POST', 'PUT', 'PATCH']) {
      const r = await request(edge.url, '/account', { method, body: 'x', headers: { cookie: `session=42; srv=${id}` } });
      expect(r.body.trim()).toBe(pinned);
      expect(r.headers['set-cookie']).toBeUndefined(); // already pinned there: nothing to set
    }
    // A GET with credentials passes too when the pool is sticky, and is pinned.
    const auth = await request(edge.url, '/me', { headers: { authorization: 'Bearer t', cookie: `srv=${id}` } });
    expect([auth.body.trim(), auth.headers['x-cache']]).toEqual([pinned, 'PASS']);
    const server = pinned === 'a' ? a : b;
    const other = pinned === 'a' ? b : a;
    expect(server.seen.length).toBe(5);
    expect(other.seen.length).toBe(0);
    // The origin sees the application's cookies, never the edge's.
    expect(server.cookies).toEqual(['session=42', 'session=42', 'session=42', 'session=42', undefined]);
  });

  it('moves a session, with a new cookie, when its server dies', async () => {
    const { edge, a, b } = await stickyEdge();
    const first = await request(edge.url, '/login', { method: 'POST', body: 'u=1' });
    const id = stickyValue(first.headers['set-cookie'])!;
    const [dead, alive] = first.body.trim() === 'a' ? [a, b] : [b, a];
    await dead.close();
    // POST is not retried: the one that finds the server dead fails, and the server is ejected.
    const failed = await request(edge.url, '/account', { method: 'POST', body: 'x', headers: { cookie: `srv=${id}` } });
    expect(failed.status).toBe(502);
    const moved = await request(edge.url, '/account', { method: 'POST', body: 'x', headers: { cookie: `srv=${id}` } });
    expect(moved.body.trim()).toBe(alive.name);
    const newId = stickyValue(moved.headers['set-cookie']);
    expect(newId).toBe(`app-${alive.name}`);
    const again = await request(edge.url, '/account', { method: 'POST', body: 'x', headers: { cookie: `srv=${newId}` } });
    expect([again.body.trim(), again.headers['set-cookie']]).toEqual([alive.name, undefined]);
  });

  it('pins an uncacheable GET and gives its one client the cookie; a shared copy never carries it', async () => {
    const { edge, a, b } = await stickyEdge(); // the named origins answer no-store
    const first = await request(edge.url, '/cart');
    expect(first.headers['cache-status']).toMatch(/fwd=miss; fwd-status=200; detail=/);
    const id = stickyValue(first.headers['set-cookie'])!;
    const pinned = first.body.trim();
    expect(id).toBe(`app-${pinned}`);
    for (let i = 0; i < 3; i++) {
      const r = await request(edge.url, '/cart', { headers: { cookie: `srv=${id}` } });
      expect([r.body.trim(), r.headers['set-cookie']]).toEqual([pinned, undefined]);
    }
    expect((pinned === 'a' ? a : b).seen.length).toBe(4);
  });

  it('a cacheable GET is stored and served without the cookie, whoever carries one', async () => {
    const origin = await startOrigin();
    cleanup.push(() => origin.close());
    origin.on('/style.css', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '2' });
      res.end('ok');
    });
    const pool = originPoolOf([origin.url]);
    pool.sticky = { cookie: 'srv' };
    const edge = await edgeWith(pool);
    // No cookie yet: the pool names the server, but a storable answer must not carry it.
    const miss = await request(edge.url, '/style.css');
    expect([miss.headers['x-cache'], miss.headers['set-cookie']]).toEqual(['MISS', undefined]);
    const hit = await request(edge.url, '/style.css', { headers: { cookie: 'srv=whatever' } });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(origin.seen.length).toBe(1);
    // With the cookie, the fill's origin request goes without it.
    await request(edge.url, '/style.css?v=2', { headers: { cookie: `srv=${pool.servers[0]!.id}; theme=dark` } });
    expect(origin.seen.map((s) => s.headers.cookie)).toEqual([undefined, 'theme=dark']);
  });

  it('names a server without an id by an HMAC of its URL, never its address', async () => {
    const [a] = await origins('a');
    const pool = originPoolOf([a!.url]);
    pool.sticky = { cookie: 'srv' };
    const edge = await edgeWith(pool);
    const r = await request(edge.url, '/x', { method: 'POST', body: '' });
    const id = stickyValue(r.headers['set-cookie'])!;
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(r.headers['set-cookie']!.join()).not.toContain('127.0.0.1');
  });
});

describe('per-server metrics', () => {
  it('counts requests, errors, ejections and up per origin server', async () => {
    const [a] = await origins('a');
    const dead = refusingUrl();
    const pool = originPoolOf([dead, a!.url]);
    pool.passive = { maxFails: 1, ejectMs: 60_000 };
    const edge = await edgeWith(pool);
    for (let i = 0; i < 4; i++) expect((await request(edge.url, `/n${i}`)).body).toBe('a\n');
    expect(await metric(edge, 'dnscdn_edge_origin_requests_total', { server: dead })).toBe(1);
    expect(await metric(edge, 'dnscdn_edge_origin_errors_total', { server: dead, kind: 'connect-error' })).toBe(1);
    expect(await metric(edge, 'dnscdn_edge_origin_ejections_total', { server: dead })).toBe(1);
    expect(await metric(edge, 'dnscdn_edge_origin_requests_total', { server: a!.url })).toBe(4);
    expect(await metric(edge, 'dnscdn_edge_origin_up', { server: dead })).toBe(0);
    expect(await metric(edge, 'dnscdn_edge_origin_up', { server: a!.url })).toBe(1);
    const text = await edge.registry.metrics();
    expect(text).toMatch(new RegExp(`dnscdn_edge_origin_server_latency_seconds_count\\{role="edge",edge="dnscdn",server="${a!.url}"\\} 4`));
  });
});

describe('an edge with several addresses', () => {
  it('listens on IPv4 and IPv6 at once, one cache behind both', async () => {
    const origin = await startOrigin();
    cleanup.push(() => origin.close());
    origin.on('/both', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '4' });
      res.end('both');
    });
    const edge = await edgeWith(originPoolOf([origin.url]), { listen: ['127.0.0.1:0', '[::1]:0'] });
    expect(edge.addresses.map((a) => a.host)).toEqual(['127.0.0.1', '::1']);
    const v4 = await request(`http://127.0.0.1:${edge.addresses[0]!.port}`, '/both', { headers: { host: 'cdn.test' } });
    const v6 = await request(`http://[::1]:${edge.addresses[1]!.port}`, '/both', { headers: { host: 'cdn.test' } });
    expect([v4.headers['x-cache'], v6.headers['x-cache'], v6.body]).toEqual(['MISS', 'HIT', 'both']);
  });
});
