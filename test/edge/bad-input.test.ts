import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixed, metric, request, sendRaw, startFixture, type Fixture } from './harness.js';

let f: Fixture;
beforeEach(async () => {
  f = await startFixture({ originTimeoutMs: 300, maxBodyBytes: 1000 });
});
afterEach(async () => {
  await f.close();
});

/** Sends raw bytes and returns whatever the edge answers before closing. */
function raw(text: string): Promise<string> {
  return sendRaw(f.edge.address.port, text);
}

describe('bad input from clients', () => {
  it('malformed requests get 400 and the server keeps going', async () => {
    expect(await raw('GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1.1 400/);
    expect(await raw('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n')).toMatch(/^HTTP\/1.1 400/);
    expect(await raw('GET / HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1.1 400/); // no Host
    f.origin.on('/ok', fixed(200, {}, 'ok'));
    expect((await f.get('/ok')).status).toBe(200);
  });

  it('header overflow gets 431', async () => {
    expect(await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1.1 431/);
    expect((await f.get('/healthz')).status).toBe(200);
  });

  it('an overlong URL gets 414 and an oversized body 413', async () => {
    expect((await f.get('/' + 'u'.repeat(9000))).status).toBe(414);
    expect((await request(f.edge.url, '/upload', { method: 'POST', body: 'b'.repeat(2000) })).status).toBe(413);
    expect(f.origin.count('/upload')).toBe(0);
  });

  it('a chunked upload that grows past the limit gets 413 (the upload to the origin is abandoned)', async () => {
    f.origin.on('/upload', (req, res) => {
      req.resume();
      req.on('end', () => res.end('stored'));
    });
    const chunk = 'c'.repeat(600);
    const reply = await raw(`POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1.1 413[^]*request body too large\n$/);
  });
});

describe('bad origins', () => {
  it('an origin that closes mid-body: the client sees an error and nothing partial is stored', async () => {
    f.origin.on('/cut', (req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '100' });
      res.write('only part');
      setTimeout(() => req.socket.destroy(), 10);
    });
    await expect(request(f.edge.url, '/cut')).rejects.toThrow();
    expect(f.edge.cache.store.objects).toBe(0);
    await expect(request(f.edge.url, '/cut')).rejects.toThrow();
    expect(f.origin.count('/cut')).toBe(2);
  });

  it('an origin that sends garbage gives 502', async () => {
    f.origin.on('/garbage', (req) => {
      req.socket.end('this is not HTTP\r\n\r\n');
    });
    const r = await f.get('/garbage');
    expect(r.status).toBe(502);
    expect(f.edge.cache.store.objects).toBe(0);
  });

  it('a slow origin times out with 504', async () => {
    f.origin.on('/slow', (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'cache-control': 'max-age=60' });
        res.end('late');
      }, 1000);
    });
    const r = await f.get('/slow');
    expect(r.status).toBe(504);
    expect(r.body).toMatch(/origin timed out/);
  });

  it('a client that disconnects mid-response does not break the shared fetch for the others', async () => {
    let finish: () => void = () => {};
    f.origin.on('/shared', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.write('part1-');
      finish = () => res.end('part2');
    });
    await new Promise<void>((resolve) => {
      const req = http.get(f.edge.url + '/shared', (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
    });
    const other = request(f.edge.url, '/shared');
    // It has joined the fetch the first client left (not merely been sent) before the origin finishes.
    for (let i = 0; i < 400 && (await metric(f.edge, 'dnscdn_edge_coalesced_waiters_total')) < 1; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await metric(f.edge, 'dnscdn_edge_coalesced_waiters_total')).toBe(1);
    finish();
    const joined = await other;
    expect(joined.body).toBe('part1-part2');
    expect(joined.headers['cache-status']).toContain('collapsed');
    expect(f.origin.count('/shared')).toBe(1);
    const hit = await f.get('/shared');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toBe('part1-part2');
  });
});
