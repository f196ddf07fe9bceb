/**
 * RFC 9111 §4.3.4: a 304 freshens only the stored response its validators select, and updates its headers
 * except those describing the stored body (§3.2). One that selects nothing must not freshen anything: the edge
 * drops its copy and fetches the response whole.
 */
import type http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFixture, type Fixture } from './harness.js';

let f: Fixture;
beforeEach(async () => {
  f = await startFixture();
});
afterEach(async () => {
  await f.close();
});

/** Answers 200 with `etag` first; every conditional request gets a 304 carrying `notModified` headers. */
function serve(path: string, stored: Record<string, string>, notModified: Record<string, string>, body = 'v1'): void {
  let version = 0;
  f.origin.on(path, (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined) {
      res.writeHead(304, notModified);
      res.end();
      return;
    }
    version++;
    const text = version === 1 ? body : `${body} refetched`;
    res.writeHead(200, { 'cache-control': 'max-age=10', 'content-length': String(text.length), ...stored });
    res.end(text);
  });
}

async function staleThenGet(path: string, headers?: Record<string, string>): Promise<{ status: number; body: string; cache: string | string[] | undefined; headers: http.IncomingHttpHeaders }> {
  await f.get(path, headers);
  f.clock.advance(20);
  const r = await f.get(path, headers);
  return { status: r.status, body: r.body, cache: r.headers['x-cache'], headers: r.headers };
}

describe('304 selection (§4.3.4)', () => {
  it.each([
    ['strong ETag equal', { etag: '"a"' }, { etag: '"a"' }, true],
    ['weak ETag matches weakly', { etag: 'W/"a"' }, { etag: 'W/"a"' }, true],
    ['weak ETag in the 304 matches a strong stored one weakly', { etag: '"a"' }, { etag: 'W/"a"' }, true],
    ['Last-Modified equal', { 'last-modified': 'Sat, 01 Jun 2024 00:00:00 GMT' }, { 'last-modified': 'Sat, 01 Jun 2024 00:00:00 GMT' }, true],
    ['different strong ETag selects nothing', { etag: '"a"' }, { etag: '"b"' }, false],
    ['a strong ETag does not select a weak stored one', { etag: 'W/"a"' }, { etag: '"a"' }, false],
    ['different Last-Modified selects nothing', { 'last-modified': 'Sat, 01 Jun 2024 00:00:00 GMT' }, { 'last-modified': 'Sun, 02 Jun 2024 00:00:00 GMT' }, false],
    ['no validator in the 304 does not select a stored response that has one', { etag: '"a"' }, {}, false],
  ])('%s', async (_name, stored, notModified, selects) => {
    serve('/r', stored, { 'cache-control': 'max-age=10', ...notModified });
    const r = await staleThenGet('/r');
    expect(r.status).toBe(200);
    if (selects) {
      expect([r.body, r.cache]).toEqual(['v1', 'REVALIDATED']);
      expect(f.origin.count('/r')).toBe(2);
      expect((await f.get('/r')).headers['x-cache']).toBe('HIT');
    } else {
      // Not freshened: the stored copy is dropped, the next fetch carries no validators and stores the new body.
      expect([r.body, r.cache]).toEqual(['v1 refetched', 'MISS']);
      expect(f.origin.count('/r')).toBe(3);
      const last = f.origin.seen[f.origin.seen.length - 1]!;
      expect(last.headers['if-none-match']).toBeUndefined();
      expect(last.headers['if-modified-since']).toBeUndefined();
    }
  });

  it('a selecting 304 updates stored headers, but not Content-Length or Content-Encoding (§3.2)', async () => {
    serve('/h', { etag: '"a"', 'x-version': '1', 'content-encoding': 'identity' }, { etag: '"a"', 'cache-control': 'max-age=30', 'x-version': '2', 'content-encoding': 'gzip', 'content-length': '999' });
    const r = await staleThenGet('/h');
    expect([r.body, r.cache]).toEqual(['v1', 'REVALIDATED']);
    expect(r.headers['x-version']).toBe('2');
    expect(r.headers['cache-control']).toBe('max-age=30');
    expect(r.headers['content-encoding']).toBe('identity');
    expect(r.headers['content-length']).toBe('2');
    // The new max-age=30 rules: fresh 25 s later, stale after 31.
    f.clock.advance(25);
    expect((await f.get('/h')).headers['x-cache']).toBe('HIT');
    f.clock.advance(6);
    expect((await f.get('/h')).headers['x-cache']).toBe('REVALIDATED');
  });

  it('with two variants stored, a 304 naming the other variant’s ETag freshens neither', async () => {
    let fills = 0;
    f.origin.on('/v', (req, res) => {
      const lang = String(req.headers['accept-language'] ?? 'en');
      if (req.headers['if-none-match'] !== undefined) {
        // A confused origin: it answers the "en" revalidation with the "fr" ETag.
        res.writeHead(304, { etag: '"fr"', 'cache-control': 'max-age=10', vary: 'accept-language' });
        res.end();
        return;
      }
      fills++;
      res.writeHead(200, { etag: `"${lang}"`, 'cache-control': 'max-age=10', vary: 'accept-language', 'content-length': String(lang.length + 2) });
      res.end(`${lang}#${fills}`.slice(0, lang.length + 2));
    });
    await f.get('/v', { 'accept-language': 'en' });
    await f.get('/v', { 'accept-language': 'fr' });
    f.clock.advance(20);
    const en = await f.get('/v', { 'accept-language': 'en' });
    expect(en.headers['x-cache']).toBe('MISS');
    expect(en.body).toBe('en#3');
    // The fr variant was not freshened by a 304 sent for en: it is still stale and revalidates on its own.
    const fr = await f.get('/v', { 'accept-language': 'fr' });
    expect(fr.headers['x-cache']).toBe('REVALIDATED');
    expect(fr.body).toBe('fr#2');
  });

  it('a 304 without validators does not select when several variants are stored', async () => {
    f.origin.on('/n', (req, res) => {
      if (req.headers['if-modified-since'] !== undefined) {
        res.writeHead(304, { 'cache-control': 'max-age=10' });
        res.end();
        return;
      }
      res.writeHead(200, { 'last-modified': 'Sat, 01 Jun 2024 00:00:00 GMT', 'cache-control': 'max-age=10', vary: 'accept-language', 'content-length': '2' });
      res.end('ok');
    });
    await f.get('/n', { 'accept-language': 'en' });
    await f.get('/n', { 'accept-language': 'fr' });
    f.clock.advance(20);
    const en = await f.get('/n', { 'accept-language': 'en' });
    expect(en.headers['x-cache']).toBe('MISS');
    expect(f.origin.count('/n')).toBe(4);
  });
});
