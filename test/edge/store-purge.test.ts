import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EdgeStore, replayAccess } from '../../src/edge/store.js';
import { fixed, metric, request, startFixture, TOKEN, type Fixture } from './harness.js';

describe('EdgeStore without HTTP (bench interface)', () => {
  it('never holds more than maxBytes and evicts least recently used first', () => {
    const evicted: string[] = [];
    const store = new EdgeStore({ maxBytes: 1000, maxObjectBytes: 400, policy: 'lru', onEvict: (e) => evicted.push(e.key) });
    for (const k of ['a', 'b', 'c']) expect(replayAccess(store, k, 300)).toBe(false);
    expect(replayAccess(store, 'a', 300)).toBe(true); // a is now most recent; b is the oldest
    replayAccess(store, 'd', 300);
    expect(evicted).toEqual(['b']);
    replayAccess(store, 'e', 300);
    expect(evicted).toEqual(['b', 'c']);
    expect(store.bytes).toBeLessThanOrEqual(1000);
    expect(store.keys()).toEqual(['e', 'd', 'a']);
    expect(replayAccess(store, 'huge', 401)).toBe(false);
    expect(store.peek('huge')).toBeUndefined();
    expect(store.evictions).toBe(2);
  });

  it('a pushed entry with a lower seq never replaces a newer one', () => {
    const store = new EdgeStore({ maxBytes: 1000 });
    const entry = (seq: number) => ({ key: 'k', primaryKey: 'k', path: '/k', size: 10, vary: [], tags: [], seq });
    expect(store.set(entry(5))).toBe('stored');
    expect(store.set(entry(3))).toBe('older-seq');
    expect(store.peek('k')!.seq).toBe(5);
    expect(store.set(entry(6))).toBe('stored');
  });
});

describe('edge memory bound and purge', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await startFixture({ maxBytes: 8000, maxObjectBytes: 3000 });
  });
  afterEach(async () => {
    await f.close();
  });

  it('fills past --max-bytes with the lru policy: total stays bounded, oldest go first, evictions are counted', async () => {
    // LRU order is what this asserts; test/edge/eviction/ covers the bound and admission of every policy.
    await f.close();
    f = await startFixture({ maxBytes: 8000, maxObjectBytes: 3000, cachePolicy: 'lru' });
    for (let i = 0; i < 6; i++) f.origin.on(`/o${i}`, fixed(200, { 'cache-control': 'max-age=60' }, 'x'.repeat(2000)));
    for (let i = 0; i < 6; i++) await f.get(`/o${i}`);
    const stored = f.edge.cache.store;
    expect(stored.bytes).toBeLessThanOrEqual(8000);
    expect(stored.objects).toBe(3);
    expect(stored.list().map((e) => e.path)).toEqual(['/o5', '/o4', '/o3']);
    expect(await metric(f.edge, 'dnscdn_edge_evictions_total')).toBe(3);
    expect(await metric(f.edge, 'dnscdn_edge_stored_bytes')).toBe(stored.bytes);
  });

  it('objects above the max object size pass through unstored, streamed whole', async () => {
    f.origin.on('/big', fixed(200, { 'cache-control': 'max-age=60' }, 'y'.repeat(5000)));
    f.origin.on('/big-chunked', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      for (let i = 0; i < 5; i++) res.write('z'.repeat(1000));
      res.end();
    });
    for (const p of ['/big', '/big-chunked']) {
      expect((await f.get(p)).body.length).toBe(5000);
      expect((await f.get(p)).headers['x-cache']).toBe('MISS');
      expect(f.origin.count(p)).toBe(2);
    }
    expect(f.edge.cache.store.objects).toBe(0);
  });

  it('PURGE on the admin listener with the bearer token removes every variant; a missing or wrong one gets 401 and nothing changes', async () => {
    f.origin.on('/p', (req, res) => fixed(200, { 'cache-control': 'max-age=60', vary: 'accept-language' }, `lang ${req.headers['accept-language']}`)(req, res));
    await f.get('/p', { 'accept-language': 'en' });
    await f.get('/p', { 'accept-language': 'fr' });
    expect(f.edge.cache.store.objects).toBe(2);
    const none = await request(f.edge.adminUrl, '/p', { method: 'PURGE' });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const wrong = await request(f.edge.adminUrl, '/p', { method: 'PURGE', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).not.toContain('nope');
    expect(f.edge.cache.store.objects).toBe(2);
    const ok = await request(f.edge.adminUrl, '/p', { method: 'PURGE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ purged: 2 });
    expect(f.edge.cache.store.objects).toBe(0);
    expect((await f.get('/p', { 'accept-language': 'en' })).headers['x-cache']).toBe('MISS');
  });

  it('admin purge by prefix and by Surrogate-Key / Cache-Tag; custom admin routes need the token', async () => {
    f.origin.on('/img/a', fixed(200, { 'cache-control': 'max-age=60', 'surrogate-key': 'product-1 img' }, 'a'));
    f.origin.on('/img/b', fixed(200, { 'cache-control': 'max-age=60', 'cache-tag': 'product-2' }, 'b'));
    f.origin.on('/doc', fixed(200, { 'cache-control': 'max-age=60', 'cache-tag': 'product-1' }, 'd'));
    for (const p of ['/img/a', '/img/b', '/doc']) await f.get(p);
    const purge = (body: object) => request(f.edge.adminUrl, '/.dnscdn/purge', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
    expect(JSON.parse((await purge({ tag: 'product-1' })).body)).toEqual({ purged: 2 });
    expect(f.edge.cache.list().map((e) => e.path)).toEqual(['/img/b']);
    expect(JSON.parse((await purge({ prefix: '/img/' })).body)).toEqual({ purged: 1 });
    expect((await purge({ nothing: 1 })).status).toBe(400);
    f.edge.addAdminRoute('GET', '/.dnscdn/hello', (req) => ({ status: 200, body: { q: req.query.get('q') } }));
    expect((await request(f.edge.adminUrl, '/.dnscdn/hello?q=1')).status).toBe(401);
    const r = await request(f.edge.adminUrl, '/.dnscdn/hello?q=1', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(JSON.parse(r.body)).toEqual({ q: '1' });
  });

  it('the public port serves no admin route, even with the token, and never asks the origin for one', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    for (const [method, path] of [['GET', '/.dnscdn/objects'], ['POST', '/.dnscdn/purge'], ['GET', '/.dnscdn/replica']] as const) {
      const r = await request(f.edge.url, path, { method, headers: auth, body: method === 'POST' ? '{"prefix":"/"}' : undefined });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body).toContain('admin listener');
    }
    expect(f.origin.seen).toEqual([]);
  });

  it('a pushed object is a HIT with zero origin requests; an older push does not replace it', async () => {
    const headers = { 'cache-control': 'max-age=60', 'content-type': 'text/plain' };
    expect(f.edge.cache.putPushed({ path: '/pushed', status: 200, headers, body: Buffer.from('v2'), etag: '"2"', seq: 2 })).toBe('stored');
    expect(f.edge.cache.putPushed({ path: '/pushed', status: 200, headers, body: Buffer.from('v1'), etag: '"1"', seq: 1 })).toBe('older-seq');
    const r = await f.get('/pushed', { host: 'any.example.test' });
    expect(r.headers['x-cache']).toBe('HIT');
    expect(r.body).toBe('v2');
    expect(r.headers.etag).toBe('"2"');
    expect(f.origin.count('/pushed')).toBe(0);
    expect(f.edge.cache.list()).toEqual([expect.objectContaining({ path: '/pushed', etag: '"2"', seq: 2 })]);
    expect(f.edge.cache.purgeUrl('/pushed')).toBe(1);
  });
});

describe('PURGE on the public port (Varnish-style: allow-listed network AND token)', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.close();
  });
  const cached = async (): Promise<void> => {
    f.origin.on('/q', fixed(200, { 'cache-control': 'max-age=60' }, 'q'));
    await f.get('/q');
    expect(f.edge.cache.store.objects).toBe(1);
  };
  const purgeFrom = (localAddress: string, headers: Record<string, string> = {}) => request(f.edge.url, '/q', { method: 'PURGE', headers, localAddress });

  it('without an allow-list the public port refuses PURGE, even with the token, and points at the admin listener', async () => {
    f = await startFixture({ listen: '127.0.0.1:0' });
    await cached();
    const r = await purgeFrom('127.0.0.1', { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(405);
    expect(r.body).toContain('admin listener');
    expect(f.edge.cache.store.objects).toBe(1);
  });

  it('from an allowed network it needs the token too; from any other network the token is not enough', async () => {
    f = await startFixture({ listen: '0.0.0.0:0', purgeAllow: ['127.0.0.2/32'] });
    await cached();
    const noToken = await purgeFrom('127.0.0.2');
    expect(noToken.status).toBe(401);
    expect(noToken.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await purgeFrom('127.0.0.2', { authorization: 'Bearer nope' })).status).toBe(401);
    const outside = await purgeFrom('127.0.0.3', { authorization: `Bearer ${TOKEN}` });
    expect(outside.status).toBe(403);
    expect(f.edge.cache.store.objects).toBe(1);
    const ok = await purgeFrom('127.0.0.2', { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ purged: 1 });
    expect(f.edge.cache.store.objects).toBe(0);
  });

  it('a malformed allow-list entry stops the edge from starting, naming the entry', async () => {
    await expect(startFixture({ purgeAllow: ['10.0.0.0/33'] })).rejects.toThrow(/10\.0\.0\.0\/33/);
    f = await startFixture();
  });
});

describe('operations', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await startFixture({ name: 'edge-a' });
  });
  afterEach(async () => {
    await f.close();
  });

  it('GET /healthz on the public port, GET /metrics in Prometheus text format on the admin listener only', async () => {
    f.origin.on('/m', fixed(200, { 'cache-control': 'max-age=60' }, 'm'));
    await f.get('/m');
    await f.get('/m');
    expect((await f.get('/healthz')).body).toBe('ok\n');
    const m = await request(f.edge.adminUrl, '/metrics');
    expect(m.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    for (const line of [
      // Two client requests for /m; the health probe is counted apart (a load balancer's probes would swamp them).
      'dnscdn_edge_requests_total{method="GET",role="edge",edge="edge-a"} 2',
      'dnscdn_edge_health_probes_total{role="edge",edge="edge-a"} 1',
      'dnscdn_edge_responses_total{cache="MISS",code="2xx",role="edge",edge="edge-a"} 1',
      'dnscdn_edge_responses_total{cache="HIT",code="2xx",role="edge",edge="edge-a"} 1',
      'dnscdn_edge_request_duration_seconds_count{role="edge",edge="edge-a"} 2',
      'dnscdn_edge_hits_total{role="edge",edge="edge-a"} 1',
      'dnscdn_edge_misses_total{role="edge",edge="edge-a"} 1',
      'dnscdn_edge_stored_objects{role="edge",edge="edge-a"} 1',
      'dnscdn_edge_origin_latency_seconds_count{role="edge",edge="edge-a"} 1',
    ])
      expect(m.body).toContain(line);
    expect(m.body).toContain('dnscdn_edge_coalesced_waiters_total');
    expect(m.body).toContain('dnscdn_edge_revalidations_total');
    expect(m.body).toContain('dnscdn_edge_stale_total');
  });

  it('the public /metrics is content like any other path: the origin answers it, not the registry', async () => {
    f.origin.on('/metrics', fixed(200, { 'cache-control': 'no-store' }, 'the site\'s own page'));
    const r = await f.get('/metrics');
    expect(r.body).toBe("the site's own page");
    expect(r.body).not.toContain('dnscdn_edge_requests_total');
    expect(f.origin.count('/metrics')).toBe(1);
  });

  it('the admin listener is loopback by default and answers /healthz without a token', async () => {
    expect(new URL(f.edge.adminUrl).hostname).toBe('127.0.0.1');
    expect((await request(f.edge.adminUrl, '/healthz')).body).toBe('ok\n');
    expect((await request(f.edge.adminUrl, '/.dnscdn/objects')).status).toBe(401);
  });
});
