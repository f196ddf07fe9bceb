import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixed, metric, request, startFixture, type Fixture } from './harness.js';

let f: Fixture;
beforeEach(async () => {
  f = await startFixture();
});
afterEach(async () => {
  await f.close();
});

describe('edge: miss, hit, revalidation', () => {
  it('stores a max-age response: MISS then HIT with Age, one origin request', async () => {
    f.origin.on('/a', fixed(200, { 'cache-control': 'max-age=5', etag: '"v1"', 'content-type': 'text/plain' }, 'hello'));
    const first = await f.get('/a');
    expect(first.status).toBe(200);
    expect(first.body).toBe('hello');
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.headers['cache-status']).toBe('dnscdn; fwd=miss; fwd-status=200; stored');
    expect(first.headers.via).toBe('1.1 dnscdn');
    f.clock.advance(2);
    const second = await f.get('/a');
    expect(second.status).toBe(200);
    expect(second.body).toBe('hello');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.headers.age).toBe('2');
    expect(second.headers['cache-status']).toBe('dnscdn; hit');
    expect(second.headers['content-length']).toBe('5');
    expect(f.origin.count('/a')).toBe(1);
  });

  it('revalidates a stale entry with If-None-Match; a 304 refreshes it and the client gets the body', async () => {
    f.origin.on('/a', fixed(200, { 'cache-control': 'max-age=5', etag: '"v1"' }, 'hello'));
    await f.get('/a');
    f.clock.advance(6);
    const r = await f.get('/a');
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello');
    expect(r.headers['x-cache']).toBe('REVALIDATED');
    expect(r.headers.age).toBe('0');
    expect(f.origin.count('/a')).toBe(2);
    expect(f.origin.seen[1]!.headers['if-none-match']).toBe('"v1"');
    const again = await f.get('/a');
    expect(again.headers['x-cache']).toBe('HIT');
    expect(f.origin.count('/a')).toBe(2);
    expect(await metric(f.edge, 'dnscdn_edge_revalidations_total', { result: '304' })).toBe(1);
  });

  it('revalidates with If-Modified-Since when only Last-Modified is known; a 200 replaces the entry', async () => {
    const lm = 'Mon, 01 Jan 2024 00:00:00 GMT';
    let version = 1;
    f.origin.on('/lm', (req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=1', 'last-modified': lm });
      res.end(`v${version}`);
    });
    await f.get('/lm');
    version = 2;
    f.clock.advance(2);
    const r = await f.get('/lm');
    expect(f.origin.seen[1]!.headers['if-modified-since']).toBe(lm);
    expect(r.body).toBe('v2');
    expect(r.headers['x-cache']).toBe('MISS');
    expect(r.headers['cache-status']).toContain('fwd=stale');
    const hit = await f.get('/lm');
    expect(hit.body).toBe('v2');
    expect(hit.headers['x-cache']).toBe('HIT');
  });

  it('answers a client conditional request with 304 from the cache (weak comparison)', async () => {
    f.origin.on('/c', fixed(200, { 'cache-control': 'max-age=60', etag: '"abc"' }, 'body'));
    await f.get('/c');
    const r = await f.get('/c', { 'if-none-match': 'W/"abc", "zzz"' });
    expect(r.status).toBe(304);
    expect(r.body).toBe('');
    expect(r.headers.etag).toBe('"abc"');
    expect(r.headers['x-cache']).toBe('HIT');
    expect(f.origin.count('/c')).toBe(1);
    const other = await f.get('/c', { 'if-none-match': '"nope"' });
    expect(other.status).toBe(200);
  });

  it('serves HEAD from a GET entry and stores on a HEAD miss via GET', async () => {
    f.origin.on('/h', fixed(200, { 'cache-control': 'max-age=60' }, 'twelve bytes'));
    await f.get('/h');
    const r = await request(f.edge.url, '/h', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('');
    expect(r.headers['content-length']).toBe('12');
    expect(r.headers['x-cache']).toBe('HIT');
    f.origin.on('/h2', fixed(200, { 'cache-control': 'max-age=60' }, 'abc'));
    const miss = await request(f.edge.url, '/h2', { method: 'HEAD' });
    expect(miss.status).toBe(200);
    expect(f.origin.seen.at(-1)!.method).toBe('GET');
    const get = await f.get('/h2');
    expect(get.body).toBe('abc');
    expect(get.headers['x-cache']).toBe('HIT');
  });
});
