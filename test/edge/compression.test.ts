/**
 * Compression at the edge (src/edge/compression.ts, accept-encoding.ts): br/gzip variants made once and stored,
 * identity for clients that do not ask, origin-compressed bodies passed through, ranges over the encoded bytes,
 * 304 on the suffixed ETag, and Accept-Encoding spellings folded into three variants. A real origin and edge on
 * loopback; curl where it is what a user runs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseCoding } from '../../src/edge/accept-encoding.js';
import { edgeCommand } from '../../src/edge/command.js';
import { DEFAULT_COMPRESSION } from '../../src/edge/compression.js';
import type { EdgeRoleOptions } from '../../src/edge/setup.js';
import { parsedOptions, ROLE_FLAGS_DEPLOYMENT, writeDeployment } from '../config/role-flags.js';
import { fixed, metric, request, startFixture, type Fixture } from './harness.js';

const run = promisify(execFile);
const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(200); // 9,000 bytes of text
let f: Fixture;
beforeEach(async () => {
  f = await startFixture();
  f.origin.on('/page.html', fixed(200, { 'cache-control': 'max-age=60', 'content-type': 'text/html; charset=utf-8', etag: '"p1"' }, TEXT));
});
afterEach(async () => f.close());

/** curl's answer: headers (lowercased names) and the body bytes as received (not decoded unless --compressed). */
async function curl(path: string, ...args: string[]): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const { stdout } = await run('curl', ['-s', '-D', '-', ...args, `${f.edge.url}${path}`], { encoding: 'buffer', maxBuffer: 1 << 22 });
  const split = stdout.indexOf('\r\n\r\n');
  const head = stdout.subarray(0, split).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(head[0]!.split(' ')[1]), headers, body: stdout.subarray(split + 4) };
}

describe('edge compression', () => {
  it("curl -H 'Accept-Encoding: br': content-encoding br, compressed once, a HIT the second time", async () => {
    await curl('/page.html'); // the fill (MISS, identity)
    const first = await curl('/page.html', '-H', 'Accept-Encoding: br');
    expect(first.headers['content-encoding']).toBe('br');
    expect(first.headers.vary).toBe('Accept-Encoding');
    expect(first.headers.etag).toBe('"p1-br"');
    expect(Number(first.headers['content-length'])).toBe(first.body.length);
    expect(first.body.length).toBeLessThan(TEXT.length / 10);
    expect(brotliDecompressSync(first.body).toString()).toBe(TEXT);
    const second = await curl('/page.html', '-H', 'Accept-Encoding: br');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body.equals(first.body)).toBe(true);
    // One stored br variant beside the identity one; the origin was asked once.
    expect(f.edge.cache.list().map((o) => o.key.split('\n').slice(1).join('|')).sort()).toEqual(['', 'accept-encoding:br']);
    expect(f.origin.count('/page.html')).toBe(1);
  });

  it('a revalidated object (304 from the origin) keeps its stored br variant, refreshed, not compressed again', async () => {
    await curl('/page.html');
    const first = await curl('/page.html', '-H', 'Accept-Encoding: br');
    expect(await metric(f.edge, 'dnscdn_edge_compressions_total', { coding: 'br' })).toBe(1);
    f.clock.advance(61); // max-age=60: stale now; the origin answers If-None-Match "p1" with 304
    const revalidated = await curl('/page.html', '-H', 'Accept-Encoding: br');
    expect(revalidated.headers['x-cache']).toBe('REVALIDATED');
    expect(await metric(f.edge, 'dnscdn_edge_revalidations_total', { result: '304' })).toBe(1);
    expect(revalidated.headers['content-encoding']).toBe('br');
    expect(revalidated.headers.etag).toBe('"p1-br"');
    expect(revalidated.body.equals(first.body)).toBe(true);
    // Fresh again, with the revalidated freshness: a HIT whose Age counts from the 304, and still one compression.
    f.clock.advance(5);
    const hit = await curl('/page.html', '-H', 'Accept-Encoding: br');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['content-encoding']).toBe('br');
    expect(hit.headers.age).toBe('5');
    expect(hit.body.equals(first.body)).toBe(true);
    expect(await metric(f.edge, 'dnscdn_edge_compressions_total', { coding: 'br' })).toBe(1);
    expect(f.origin.count('/page.html')).toBe(2);
  });

  it('a 304 that adds no-transform drops the stored variants: identity from then on', async () => {
    f.origin.on('/strict.html', (req, res) => {
      if (req.headers['if-none-match'] === '"s1"') {
        res.writeHead(304, { etag: '"s1"', 'cache-control': 'max-age=60, no-transform' });
        return void res.end();
      }
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/html', etag: '"s1"' });
      res.end(TEXT);
    });
    await curl('/strict.html');
    expect((await curl('/strict.html', '-H', 'Accept-Encoding: br')).headers['content-encoding']).toBe('br');
    f.clock.advance(61);
    const revalidated = await curl('/strict.html', '-H', 'Accept-Encoding: br');
    expect(revalidated.headers['x-cache']).toBe('REVALIDATED');
    expect(revalidated.headers['content-encoding']).toBeUndefined();
    expect(revalidated.body.toString()).toBe(TEXT);
    expect(f.edge.cache.list().filter((o) => o.path === '/strict.html').map((o) => o.key.split('\n').slice(1).join('|'))).toEqual(['']);
    expect((await curl('/strict.html', '-H', 'Accept-Encoding: br')).headers['content-encoding']).toBeUndefined();
    expect(await metric(f.edge, 'dnscdn_edge_compressions_total', { coding: 'br' })).toBe(1);
  });

  it('curl --compressed gets br or gzip and decodes it; a gzip-only client gets gzip', async () => {
    await curl('/page.html');
    const compressed = await curl('/page.html', '--compressed');
    expect(['br', 'gzip']).toContain(compressed.headers['content-encoding']);
    const gz = await curl('/page.html', '-H', 'Accept-Encoding: gzip');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(TEXT);
    const { stdout } = await run('curl', ['-s', '--compressed', `${f.edge.url}/page.html`]);
    expect(stdout).toBe(TEXT);
  });

  it('an identity client gets identity (with Vary: Accept-Encoding), even after variants exist', async () => {
    await curl('/page.html');
    await curl('/page.html', '-H', 'Accept-Encoding: br');
    const plain = await curl('/page.html');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    expect(plain.headers.etag).toBe('"p1"');
    expect(plain.body.toString()).toBe(TEXT);
    const refused = await curl('/page.html', '-H', 'Accept-Encoding: br;q=0, gzip;q=0');
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('what the origin compressed passes through, never compressed again', async () => {
    const gz = gzipSync(Buffer.from(TEXT));
    f.origin.on('/pre.js', fixed(200, { 'cache-control': 'max-age=60', 'content-type': 'application/javascript', 'content-encoding': 'gzip', vary: 'Accept-Encoding' }, gz));
    await curl('/pre.js', '-H', 'Accept-Encoding: gzip, br');
    const hit = await curl('/pre.js', '-H', 'Accept-Encoding: gzip, br');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['content-encoding']).toBe('gzip');
    expect(hit.body.equals(gz)).toBe(true);
  });

  it('small bodies, other types and no-transform stay identity', async () => {
    f.origin.on('/small.txt', fixed(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, 'tiny'));
    f.origin.on('/img.png', fixed(200, { 'cache-control': 'max-age=60', 'content-type': 'image/png' }, TEXT));
    f.origin.on('/nt.txt', fixed(200, { 'cache-control': 'max-age=60, no-transform', 'content-type': 'text/plain' }, TEXT));
    for (const p of ['/small.txt', '/img.png', '/nt.txt']) {
      await curl(p);
      const again = await curl(p, '-H', 'Accept-Encoding: br, gzip');
      expect(again.headers['x-cache'], p).toBe('HIT');
      expect(again.headers['content-encoding'], p).toBeUndefined();
    }
  });

  it('a Range on the br variant addresses the encoded bytes', async () => {
    await curl('/page.html');
    const whole = await curl('/page.html', '-H', 'Accept-Encoding: br');
    const part = await curl('/page.html', '-H', 'Accept-Encoding: br', '-H', 'Range: bytes=10-29');
    expect(part.status).toBe(206);
    expect(part.headers['content-encoding']).toBe('br');
    expect(part.headers['content-range']).toBe(`bytes 10-29/${whole.body.length}`);
    expect(part.body.equals(whole.body.subarray(10, 30))).toBe(true);
  });

  it("If-None-Match with the transformed ETag gets 304; the origin's ETag does not validate the br variant", async () => {
    await curl('/page.html');
    await curl('/page.html', '-H', 'Accept-Encoding: br');
    const nm = await curl('/page.html', '-H', 'Accept-Encoding: br', '-H', 'If-None-Match: "p1-br"');
    expect(nm.status).toBe(304);
    expect(nm.headers.etag).toBe('"p1-br"');
    const other = await curl('/page.html', '-H', 'Accept-Encoding: br', '-H', 'If-None-Match: "p1"');
    expect(other.status).toBe(200);
    const identity = await curl('/page.html', '-H', 'If-None-Match: "p1"');
    expect(identity.status).toBe(304);
  });

  it('many spellings of Accept-Encoding make at most three variants, and concurrent first requests compress once', async () => {
    await curl('/page.html');
    const spellings = ['gzip, deflate, br', 'br', 'BR;q=1.0, gzip;q=0.8', 'gzip', 'x-gzip', 'gzip;q=1, br;q=0.5', '*', 'deflate', 'identity', 'br;q=0.9,gzip;q=0.9', 'zstd, br', ''];
    const answers = await Promise.all(spellings.map((ae) => request(f.edge.url, '/page.html', ae === '' ? {} : { headers: { 'accept-encoding': ae } })));
    expect(answers.map((a) => a.headers['content-encoding'] ?? 'identity')).toEqual(['br', 'br', 'br', 'gzip', 'gzip', 'gzip', 'br', 'identity', 'identity', 'br', 'br', 'identity']);
    expect(f.edge.cache.list().filter((o) => o.path === '/page.html')).toHaveLength(3);
    // Six br and three gzip clients arrived together: one compression each (the jobs were shared).
    expect(await metric(f.edge, 'dnscdn_edge_compressions_total', { coding: 'br' })).toBe(1);
    expect(await metric(f.edge, 'dnscdn_edge_compressions_total', { coding: 'gzip' })).toBe(1);
  });
});

describe('Accept-Encoding parsing (bounded)', () => {
  it.each([
    ['gzip, deflate, br', 'br'],
    ['gzip;q=1.0, br;q=0.999', 'gzip'],
    ['br;q=0', 'identity'],
    ['br;q=1e999, gzip', 'gzip'],
    ['br;q=-1, gzip;q=0.5', 'gzip'],
    ['br;q=NaN', 'identity'],
    ['br;q=0.0001', 'identity'],
    ['br;q=1.001, gzip;q=0.1', 'gzip'],
    ['*;q=0.5, gzip;q=0.1', 'br'],
    ['identity', 'identity'],
    [' ,, br ; q=0.5 ,', 'br'],
  ])('%j -> %s', (header, want) => {
    expect(chooseCoding(header, true, true)).toBe(want);
  });

  it('reads only the first 64 codings of a 1,000-value header', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `c${i};q=0.5`).join(', ');
    expect(chooseCoding(`${many}, br`, true, true)).toBe('identity');
    expect(chooseCoding(`br, ${many}`, true, true)).toBe('br');
  });

  it('a 1,000-value header through the edge is answered, from the same variant', async () => {
    const fx = await startFixture();
    try {
      fx.origin.on('/p', fixed(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, TEXT));
      await fx.get('/p');
      const many = Array.from({ length: 1000 }, (_, i) => `c${i};q=0.${i % 10}`).join(',');
      const res = await request(fx.edge.url, '/p', { headers: { 'accept-encoding': `gzip, ${many}` } });
      expect(res.status).toBe(200);
      expect(res.headers['content-encoding']).toBe('gzip');
    } finally {
      await fx.close();
    }
  });
});

describe('compression in the deployment file and --no-compression', () => {
  const parse = (file: string, ...extra: string[]): Promise<EdgeRoleOptions> => parsedOptions(edgeCommand, ['--config', file, '--name', 'london', ...extra]);
  const withKey = (yaml: string): string => writeDeployment(ROLE_FLAGS_DEPLOYMENT.replace('edgeDefaults:\n', `edgeDefaults:\n  compression: ${yaml}\n`));

  it('takes types, minBytes and codings over the defaults; false turns it off; the flag overrides the file', async () => {
    const o = await parse(withKey('{ types: [text/, application/json], minBytes: 1KiB, br: false }'));
    expect(o.server.compression).toEqual({ ...DEFAULT_COMPRESSION, types: ['text/', 'application/json'], minBytes: 1024, br: false });
    expect((await parse(withKey('false'))).server.compression).toBe(false);
    expect((await parse(withKey('{ minBytes: 1KiB }'), '--no-compression')).server.compression).toBe(false);
    expect((await parse(writeDeployment())).server.compression).toBeUndefined();
  });

  it('refuses a bad type or true, naming file, line and key', async () => {
    await expect(parse(withKey('{ types: [html] }'))).rejects.toThrow(/dnscdn\.yaml:\d+.*compression\.types.*"html" is not a content type/);
    await expect(parse(withKey('true'))).rejects.toThrow(/dnscdn\.yaml:\d+.*compression.*true is the default/);
  });

  it('compression: false serves identity to a br client', async () => {
    const fx = await startFixture({ compression: false });
    try {
      fx.origin.on('/p', fixed(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, TEXT));
      await fx.get('/p');
      const res = await fx.get('/p', { 'accept-encoding': 'br' });
      expect(res.headers['x-cache']).toBe('HIT');
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.headers.vary).toBeUndefined();
    } finally {
      await fx.close();
    }
  });
});
