import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixed, request, startFixture, type Fixture } from './harness.js';

let f: Fixture;
beforeEach(async () => {
  f = await startFixture();
});
afterEach(async () => {
  await f.close();
});

describe('methods (§4.4) and Authorization (§3.5)', () => {
  it('a successful POST invalidates the URL and same-origin Location / Content-Location', async () => {
    for (const p of ['/item', '/other', '/list']) f.origin.on(p, fixed(200, { 'cache-control': 'max-age=60' }, p));
    for (const p of ['/item', '/other', '/list']) await f.get(p);
    f.origin.on('/item', (req, res) => {
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          res.writeHead(201, { location: '/other', 'content-location': 'http://elsewhere.test/list' });
          res.end(`got ${body}`);
        });
        return;
      }
      fixed(200, { 'cache-control': 'max-age=60' }, '/item v2')(req, res);
    });
    const post = await request(f.edge.url, '/item', { method: 'POST', body: 'payload' });
    expect(post.status).toBe(201);
    expect(post.body).toBe('got payload');
    expect(post.headers['x-cache']).toBe('PASS');
    expect((await f.get('/item')).headers['x-cache']).toBe('MISS');
    expect((await f.get('/other')).headers['x-cache']).toBe('MISS');
    // Content-Location names another host: not ours to invalidate.
    expect((await f.get('/list')).headers['x-cache']).toBe('HIT');
  });

  it('a failed unsafe request invalidates nothing', async () => {
    f.origin.on('/keep', (req, res) => {
      if (req.method === 'DELETE') {
        res.writeHead(500);
        res.end();
        return;
      }
      fixed(200, { 'cache-control': 'max-age=60' }, 'kept')(req, res);
    });
    await f.get('/keep');
    expect((await request(f.edge.url, '/keep', { method: 'DELETE' })).status).toBe(500);
    expect((await f.get('/keep')).headers['x-cache']).toBe('HIT');
  });

  it('with Authorization, a response is stored only when it allows it', async () => {
    f.origin.on('/mine', fixed(200, { 'cache-control': 'max-age=60' }, 'secret'));
    f.origin.on('/pub', fixed(200, { 'cache-control': 'public, max-age=60' }, 'shared'));
    const auth = { authorization: 'Bearer user' };
    await f.get('/mine', auth);
    expect((await f.get('/mine', auth)).headers['x-cache']).toBe('MISS');
    expect(f.origin.count('/mine')).toBe(2);
    await f.get('/pub', auth);
    expect((await f.get('/pub')).headers['x-cache']).toBe('HIT');
    expect(f.origin.count('/pub')).toBe(1);
  });

  it('Set-Cookie responses are passed to their client and never stored', async () => {
    f.origin.on('/login', fixed(200, { 'cache-control': 'public, max-age=60', 'set-cookie': 'session=1' }, 'welcome'));
    const a = await f.get('/login');
    expect(a.headers['set-cookie']).toEqual(['session=1']);
    const b = await f.get('/login');
    expect(b.headers['x-cache']).toBe('MISS');
    expect(f.origin.count('/login')).toBe(2);
  });
});

describe('headers', () => {
  it('drops hop-by-hop and edge-only headers, adds forwarding headers, preserves Host', async () => {
    f.origin.on('/h', (_req, res) => {
      res.writeHead(200, {
        'cache-control': 'max-age=60',
        connection: 'x-secret',
        'x-secret': 'hop',
        'keep-alive': 'timeout=5',
        'cdn-cache-control': 'max-age=120',
        'surrogate-control': 'max-age=30',
        'surrogate-key': 'a b',
        'cache-tag': 'c',
        'x-app': 'kept',
      });
      res.end('ok');
    });
    const r = await f.get('/h', { host: 'www.example.test', 'x-forwarded-for': '203.0.113.9', te: 'trailers', 'proxy-authorization': 'Basic x' });
    for (const h of ['x-secret', 'keep-alive', 'cdn-cache-control', 'surrogate-control', 'surrogate-key', 'cache-tag']) expect(r.headers[h]).toBeUndefined();
    expect(r.headers['x-app']).toBe('kept');
    expect(r.headers['cache-control']).toBe('max-age=60');
    const seen = f.origin.seen[0]!.headers;
    expect(seen.host).toBe('www.example.test');
    expect(seen['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(seen.forwarded).toBe('for=127.0.0.1;host="www.example.test";proto=http');
    expect(seen.via).toBe('1.1 dnscdn');
    expect(seen.te).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
    // CDN-Cache-Control: 120 s at the edge although Cache-Control says 60.
    f.clock.advance(90);
    const hit = await f.get('/h', { host: 'www.example.test' });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers.age).toBe('90');
    expect(f.origin.count('/h')).toBe(1);
  });

  it('keys by Host', async () => {
    f.origin.on('/page', (req, res) => fixed(200, { 'cache-control': 'max-age=60' }, `site ${req.headers.host}`)(req, res));
    expect((await f.get('/page', { host: 'a.test' })).body).toBe('site a.test');
    expect((await f.get('/page', { host: 'b.test' })).body).toBe('site b.test');
    expect(f.origin.count('/page')).toBe(2);
  });
});

describe('Vary (§4.1)', () => {
  it('keeps one variant per normalised value of the varied headers', async () => {
    f.origin.on('/v', (req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Encoding' });
      res.end(`enc=${req.headers['accept-encoding'] ?? 'none'}`);
    });
    // The fill asks the origin for the one coding the variant stands for (Accept-Encoding normalised, compression).
    expect((await f.get('/v', { 'accept-encoding': 'gzip, br' })).body).toBe('enc=br');
    expect((await f.get('/v', { 'accept-encoding': 'identity' })).body).toBe('enc=identity');
    const hit = await f.get('/v', { 'accept-encoding': 'gzip ,br' });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toBe('enc=br');
    expect((await f.get('/v', { 'accept-encoding': 'identity' })).headers['x-cache']).toBe('HIT');
    expect(f.origin.count('/v')).toBe(2);
  });

  it('Vary: * is never served from the cache', async () => {
    f.origin.on('/star', fixed(200, { 'cache-control': 'max-age=60', vary: '*' }, 'x'));
    await f.get('/star');
    await f.get('/star');
    expect(f.origin.count('/star')).toBe(2);
  });
});

describe('ranges (RFC 9110 §14)', () => {
  beforeEach(() => {
    f.origin.on('/r', fixed(200, { 'cache-control': 'max-age=60', etag: '"r1"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }, '0123456789'));
  });

  it.each([
    ['bytes=2-5', 206, '2345', 'bytes 2-5/10'],
    ['bytes=7-', 206, '789', 'bytes 7-9/10'],
    ['bytes=-3', 206, '789', 'bytes 7-9/10'],
    ['bytes=5-999', 206, '56789', 'bytes 5-9/10'],
    ['bytes=10-', 416, '', 'bytes */10'],
    ['bytes=99999999999999999999-', 416, '', 'bytes */10'],
    ['bytes=0-1,4-5', 200, '0123456789', undefined],
    ['lines=1-2', 200, '0123456789', undefined],
  ])('%s -> %i', async (range, status, body, contentRange) => {
    const r = await f.get('/r', { range });
    expect(r.status).toBe(status);
    expect(r.body).toBe(body);
    expect(r.headers['content-range']).toBe(contentRange);
    expect(f.origin.count('/r')).toBe(1);
    expect(f.origin.seen[0]!.headers.range).toBeUndefined();
  });

  it('If-Range: a matching strong ETag gets the range, anything else the whole body', async () => {
    await f.get('/r');
    expect((await f.get('/r', { range: 'bytes=0-1', 'if-range': '"r1"' })).status).toBe(206);
    expect((await f.get('/r', { range: 'bytes=0-1', 'if-range': '"old"' })).status).toBe(200);
    expect((await f.get('/r', { range: 'bytes=0-1', 'if-range': 'Mon, 01 Jan 2024 00:00:00 GMT' })).status).toBe(206);
  });
});

describe('multiple ranges (RFC 9110 §14.2: a server MAY ignore Range)', () => {
  it('a multi-range request gets the whole stored body as 200, not multipart/byteranges', async () => {
    f.origin.on('/mr', fixed(200, { 'cache-control': 'max-age=60' }, '0123456789'));
    await f.get('/mr');
    const r = await f.get('/mr', { range: 'bytes=0-1,5-6' });
    expect([r.status, r.body, r.headers['content-range'], r.headers['x-cache']]).toEqual([200, '0123456789', undefined, 'HIT']);
    expect(f.origin.count('/mr')).toBe(1);
  });
});
