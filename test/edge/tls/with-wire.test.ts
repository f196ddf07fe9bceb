/**
 * The HTTPS listener (edge-tls) with what edge-wire added to the plain port: the access log records HTTP/2 and TLS
 * requests (protocol h2, the TLS version), and stored objects get their Brotli variant over HTTP/2 as over HTTP/1.1.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessLine } from '../../../src/edge/access-log.js';
import { startEdge, type EdgeServer } from '../../../src/edge/server.js';
import { fixed, request, startOrigin, type TestOrigin } from '../harness.js';
import { startPki, type TestPki } from './certs.js';

let pki: TestPki;
let origin: TestOrigin;
let edge: EdgeServer | undefined;
let logPath: string;
const page = `${'<p>compressible text over any scheme</p>\n'.repeat(40)}`;

beforeAll(async () => {
  pki = await startPki();
  const www = await pki.issue('www', ['www.cdn.test']);
  origin = await startOrigin();
  origin.on('/page.html', fixed(200, { 'cache-control': 'max-age=60', 'content-type': 'text/html' }, page));
  logPath = join(mkdtempSync(join(tmpdir(), 'dnscdn-access-tls-')), 'access.log');
  edge = await startEdge({
    listen: '127.0.0.1:0',
    origin: origin.url,
    maxBytes: 1024 * 1024,
    accessLog: { to: { path: logPath }, format: 'json' },
    tls: { listen: '127.0.0.1:0', certificates: [www] },
  });
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
  pki?.remove();
});

function h2Get(path: string, headers: Record<string, string>): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(edge!.httpsUrl!, { ca: readFileSync(pki.caFile), servername: 'www.cdn.test' });
    session.on('error', reject);
    const req = session.request({ ':path': path, ':authority': 'www.cdn.test', ...headers });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (head = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      session.close();
      resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) });
    });
    req.on('error', reject);
    req.end();
  });
}

function h1TlsGet(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, edge!.httpsUrl!);
    const req = https.get(url, { ca: readFileSync(pki.caFile), servername: 'www.cdn.test', headers: { host: 'www.cdn.test' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

describe('HTTPS with the access log and compression', () => {
  it('serves the stored object Brotli-compressed over HTTP/2, and logs h2, TLS and plain requests alike', async () => {
    const plain = await request(edge!.url, '/page.html', { headers: { host: 'www.cdn.test' } });
    expect(plain.status).toBe(200);
    const br = await h2Get('/page.html', { 'accept-encoding': 'br' });
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).toString()).toBe(page);
    expect(await h1TlsGet('/page.html')).toBe(200);
    await edge!.close();
    edge = undefined;
    const lines = readFileSync(logPath, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AccessLine);
    expect(lines.map((l) => [l.url, l.status, l.protocol, l.cache])).toEqual([
      ['/page.html', 200, 'h1', 'MISS'],
      ['/page.html', 200, 'h2', 'HIT'],
      ['/page.html', 200, 'h1', 'HIT'],
    ]);
    expect(lines[0]!.tls).toBe('-');
    expect(lines[1]!.tls).toMatch(/^TLSv1\.[23]$/);
    expect(lines[2]!.tls).toMatch(/^TLSv1\.[23]$/);
    for (const l of lines) expect(l.bytes).toBeGreaterThan(0);
  });
});
