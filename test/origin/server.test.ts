import { execFile } from 'node:child_process';
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OriginServer } from '../../src/origin/server.js';
import { rawRequest, tempDir } from './helpers.js';

const run = promisify(execFile);
let origin: OriginServer;
let root: string;
const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0);
for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;

beforeAll(async () => {
  const base = await tempDir('origin');
  root = join(base, 'content');
  await mkdir(join(root, 'img'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<h1>hi</h1>\n');
  await writeFile(join(root, 'site.css'), 'body{}\n');
  await writeFile(join(root, 'img', 'a.svg'), '<svg/>');
  await writeFile(join(root, 'big.bin'), big);
  await writeFile(join(root, '.secret'), 'TOPSECRET');
  await writeFile(join(base, 'outside.txt'), 'outside the root');
  await symlink(join(base, 'outside.txt'), join(root, 'escape.txt'));
  await symlink(join(root, 'site.css'), join(root, 'inside-link.css'));
  await utimes(join(root, 'index.html'), new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
  origin = await OriginServer.start({
    contentDir: root,
    listen: { host: '127.0.0.1', port: 0 },
    rules: [
      { pattern: '*.html', cacheControl: 'public, max-age=60', surrogateKeys: ['html'] },
      { pattern: '/img/**', cacheControl: 'public, max-age=86400', surrogateKeys: ['images'] },
      { pattern: '**', surrogateKeys: ['all'] },
    ],
    defaultCacheControl: 'public, max-age=300',
  });
});

afterAll(async () => {
  await origin.close();
});

describe('origin: representation headers', () => {
  it('serves a strong content ETag, Last-Modified, Content-Type, per-pattern Cache-Control and Surrogate-Key', async () => {
    const r = await rawRequest(origin.url, '/index.html');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('<h1>hi</h1>\n');
    expect(r.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(r.headers['last-modified']).toBe('Tue, 02 Jan 2024 03:04:05 GMT');
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('public, max-age=60');
    expect(r.headers['surrogate-key']).toBe('html all');
    const img = await rawRequest(origin.url, '/img/a.svg');
    expect(img.headers['content-type']).toBe('image/svg+xml');
    expect(img.headers['cache-control']).toBe('public, max-age=86400');
    expect(img.headers['surrogate-key']).toBe('images all');
    const css = await rawRequest(origin.url, '/site.css');
    expect(css.headers['cache-control']).toBe('public, max-age=300');
  });

  it('gives identical content the same ETag and changed content a new one', async () => {
    const a = await rawRequest(origin.url, '/site.css');
    const b = await rawRequest(origin.url, '/inside-link.css');
    expect(a.headers.etag).toBe(b.headers.etag);
    await writeFile(join(root, 'site.css'), 'body{color:red}\n');
    const c = await rawRequest(origin.url, '/site.css');
    expect(c.headers.etag).not.toBe(a.headers.etag);
    expect(c.body.toString()).toBe('body{color:red}\n');
  });

  it('serves index.html for a directory and answers HEAD without a body', async () => {
    const r = await rawRequest(origin.url, '/');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('hi');
    const h = await rawRequest(origin.url, '/index.html', { method: 'HEAD' });
    expect(h.status).toBe(200);
    expect(h.headers['content-length']).toBe('12');
    expect(h.body.length).toBe(0);
  });
});

describe('origin: conditional requests', () => {
  it('answers If-None-Match with 304 by weak comparison, and 200 when no tag matches', async () => {
    const { headers } = await rawRequest(origin.url, '/index.html');
    const etag = String(headers.etag);
    for (const inm of [etag, `W/${etag}`, `"x", ${etag}`, '*']) {
      const r = await rawRequest(origin.url, '/index.html', { headers: { 'if-none-match': inm } });
      expect(r.status, inm).toBe(304);
      expect(r.body.length).toBe(0);
      expect(r.headers.etag).toBe(etag);
    }
    const miss = await rawRequest(origin.url, '/index.html', { headers: { 'if-none-match': '"other"' } });
    expect(miss.status).toBe(200);
  });

  it('answers If-Modified-Since by date, ignored when If-None-Match is present', async () => {
    const later = await rawRequest(origin.url, '/index.html', { headers: { 'if-modified-since': 'Wed, 03 Jan 2024 00:00:00 GMT' } });
    expect(later.status).toBe(304);
    const earlier = await rawRequest(origin.url, '/index.html', { headers: { 'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' } });
    expect(earlier.status).toBe(200);
    const both = await rawRequest(origin.url, '/index.html', { headers: { 'if-modified-since': 'Wed, 03 Jan 2024 00:00:00 GMT', 'if-none-match': '"nope"' } });
    expect(both.status).toBe(200);
    const HEAD = await rawRequest(origin.url, '/index.html', { method: 'HEAD', headers: { 'if-modified-since': 'Wed, 03 Jan 2024 00:00:00 GMT' } });
    expect(HEAD.status).toBe(304);
  });
});

describe('origin: ranges and streaming', () => {
  it('serves 206 with Content-Range, suffix ranges, 416 when unsatisfiable, whole body for junk', async () => {
    const r = await rawRequest(origin.url, '/big.bin', { headers: { range: 'bytes=100-199' } });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 100-199/${big.length}`);
    expect(r.body.equals(big.subarray(100, 200))).toBe(true);
    const suffix = await rawRequest(origin.url, '/big.bin', { headers: { range: 'bytes=-10' } });
    expect(suffix.body.equals(big.subarray(big.length - 10))).toBe(true);
    const none = await rawRequest(origin.url, '/big.bin', { headers: { range: `bytes=${big.length}-` } });
    expect(none.status).toBe(416);
    expect(none.headers['content-range']).toBe(`bytes */${big.length}`);
    const junk = await rawRequest(origin.url, '/index.html', { headers: { range: 'bytes=zz' } });
    expect(junk.status).toBe(200);
  });

  it('honours If-Range: a matching ETag gives 206, a stale one the full body', async () => {
    const { headers } = await rawRequest(origin.url, '/big.bin', { method: 'HEAD' });
    const ok = await rawRequest(origin.url, '/big.bin', { headers: { range: 'bytes=0-9', 'if-range': String(headers.etag) } });
    expect(ok.status).toBe(206);
    const stale = await rawRequest(origin.url, '/big.bin', { headers: { range: 'bytes=0-9', 'if-range': '"old"' } });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(big.length);
  });

  it('streams a multi-megabyte file intact to curl', async () => {
    const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `${origin.url}/big.bin`]);
    expect(stdout).toBe(`200 ${big.length}`);
  });
});

describe('origin: nothing outside the content root', () => {
  const cases: Array<[string, number]> = [
    ['/../outside.txt', 400],
    ['/img/../../outside.txt', 400],
    ['/%2e%2e/outside.txt', 400],
    ['/img/%2E%2E/%2e%2e/outside.txt', 400],
    ['/..%2foutside.txt', 400],
    ['/img%2f..%2f..%2foutside.txt', 400],
    ['/..%5coutside.txt', 400],
    ['/index.html%00.txt', 400],
    ['/%zz', 400],
    ['/escape.txt', 403],
    ['/.secret', 404],
    ['/missing.txt', 404],
  ];
  for (const [path, status] of cases) {
    it(`refuses ${path} with ${status}`, async () => {
      const r = await rawRequest(origin.url, path);
      expect(r.status).toBe(status);
      expect(r.body.toString()).not.toContain('outside the root');
      expect(r.body.toString()).not.toContain('TOPSECRET');
    });
  }

  it('serves a symlink that stays inside the root', async () => {
    expect((await rawRequest(origin.url, '/inside-link.css')).status).toBe(200);
  });

  it('refuses other methods with 405 and keeps serving', async () => {
    const r = await rawRequest(origin.url, '/index.html', { method: 'POST', body: 'x' });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
  });
});

describe('origin: operations', () => {
  it('answers /healthz on its public port and /metrics on its admin listener only', async () => {
    expect((await rawRequest(origin.url, '/healthz')).status).toBe(200);
    const m = await rawRequest(origin.adminUrl, '/metrics');
    expect(m.body.toString()).toMatch(/dnscdn_origin_requests_total\{status="200",role="origin"\} \d+/);
    const publicMetrics = await rawRequest(origin.url, '/metrics');
    expect(publicMetrics.status).toBe(404);
    expect(publicMetrics.body.toString()).not.toContain('dnscdn_origin_requests_total');
  });

  it('refuses push without a configured publisher: admin APIs are disabled, not open', async () => {
    const anonymous = await rawRequest(origin.adminUrl, '/.dnscdn/push', { method: 'POST', body: '{"paths":["/index.html"]}' });
    expect(anonymous.status).toBe(401);
    const withToken = await rawRequest(origin.adminUrl, '/.dnscdn/push', { method: 'POST', headers: { authorization: 'Bearer any' }, body: '{"paths":["/index.html"]}' });
    expect(withToken.status).toBe(403);
    expect(withToken.body.toString()).toContain('disabled');
  });

  it('serves no admin route on its public port', async () => {
    const r = await rawRequest(origin.url, '/.dnscdn/status', { headers: { authorization: 'Bearer any' } });
    expect(r.status).toBe(404);
  });
});
