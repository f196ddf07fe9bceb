/**
 * The edge's HTTPS listener over real sockets: certificates by SNI, TLS 1.2 minimum, HTTP/1.1 and HTTP/2 (curl,
 * as a user does) through the same lifecycle and the same cache as the plain port, HSTS and the redirect, ACME
 * challenge answers, and the handshake timeout.
 */
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChallengeDirectory } from '../../../src/edge/tls/challenges.js';
import { startEdge, type EdgeServer } from '../../../src/edge/server.js';
import { fixed, metric, request, startOrigin, type TestOrigin } from '../harness.js';
import { startPki, type TestPki } from './certs.js';

const run = promisify(execFile);

let pki: TestPki;
let origin: TestOrigin;
let edge: EdgeServer;
let httpsPort: number;

beforeAll(async () => {
  pki = await startPki();
  const www = await pki.issue('www', ['www.cdn.test']);
  const wild = await pki.issue('wild', ['*.img.test']);
  const fallback = await pki.issue('fallback', ['default.test']);
  origin = await startOrigin();
  origin.on('/page', fixed(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, 'hello over any scheme\n'));
  origin.on('/gone', fixed(404, { 'cache-control': 'max-age=60', 'content-type': 'text/plain', link: ['</a.css>; rel=preload', '</b.js>; rel=preload'] }, 'no such page\n'));
  origin.on('/echo', (req, res) => {
    res.writeHead(200, { 'cache-control': 'no-store', 'content-type': 'application/json' });
    res.end(JSON.stringify(req.headers));
  });
  edge = await startEdge({
    listen: '127.0.0.1:0',
    origin: origin.url,
    maxBytes: 1024 * 1024,
    acmeChallengeDir: `${pki.dir}/challenges`,
    tls: { listen: '127.0.0.1:0', certificates: [www, wild], default: fallback, hstsMaxAgeSec: 31536000, handshakeTimeoutMs: 300 },
  });
  httpsPort = Number(new URL(edge.httpsUrl!).port);
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
  pki?.remove();
});

/** The DNS names of the certificate the listener presents for `servername` (undefined: no SNI). */
function presentedNames(servername: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: httpsPort, ...(servername ? { servername } : {}), rejectUnauthorized: false }, () => {
      const san = s.getPeerCertificate().subjectaltname ?? '';
      s.end();
      resolve(san);
    });
    s.on('error', reject);
  });
}

function curl(args: string[]): Promise<string> {
  return run('curl', ['-s', '--cacert', pki.caFile, '--resolve', `www.cdn.test:${httpsPort}:127.0.0.1`, ...args]).then((r) => r.stdout);
}

describe('certificates by SNI', () => {
  it('serves the exact name, then a wildcard one label up, else the default (no SNI and unknown names alike)', async () => {
    expect(await presentedNames('www.cdn.test')).toBe('DNS:www.cdn.test');
    expect(await presentedNames('WWW.CDN.TEST')).toBe('DNS:www.cdn.test');
    expect(await presentedNames('a.img.test')).toBe('DNS:*.img.test');
    // RFC 6125 §6.4.3: a wildcard covers one label only.
    expect(await presentedNames('a.b.img.test')).toBe('DNS:default.test');
    expect(await presentedNames('img.test')).toBe('DNS:default.test');
    expect(await presentedNames('unknown.example')).toBe('DNS:default.test');
    expect(await presentedNames(undefined)).toBe('DNS:default.test');
  });

  it('refuses TLS 1.1 and below, and accepts 1.2', async () => {
    const attempt = (maxVersion: tls.SecureVersion): Promise<string> =>
      new Promise((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'www.cdn.test', minVersion: 'TLSv1', maxVersion, ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false }, () => {
          resolve(s.getProtocol() ?? '');
          s.end();
        });
        s.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
      });
    expect(await attempt('TLSv1.1')).toMatch(/^error/);
    expect(await attempt('TLSv1.2')).toBe('TLSv1.2');
  });
});

describe('HTTP/1.1 and HTTP/2 through one lifecycle and one cache', () => {
  it('curl over HTTP/2 gets HTTP/2 200, the cache is shared with the plain port, and HSTS only on HTTPS', async () => {
    const plain = await request(edge.url, '/page', { headers: { host: 'www.cdn.test' } });
    expect(plain.status).toBe(200);
    expect(plain.headers['strict-transport-security']).toBeUndefined();
    const h2 = await curl(['--http2', '-i', `https://www.cdn.test:${httpsPort}/page`]);
    expect(h2).toMatch(/^HTTP\/2 200/);
    expect(h2).toMatch(/x-cache: HIT/i);
    expect(h2).toMatch(/strict-transport-security: max-age=31536000/i);
    expect(h2).toContain('hello over any scheme');
    const h1 = await curl(['--http1.1', '-i', `https://www.cdn.test:${httpsPort}/page`]);
    expect(h1).toMatch(/^HTTP\/1.1 200/);
    expect(h1).toMatch(/x-cache: HIT/i);
    expect(origin.count('/page')).toBe(1);
  });

  it('HTTP/2 requests reach the origin with Host from :authority, X-Forwarded-Proto https, and no pseudo-headers', async () => {
    const body = await curl(['--http2', '-H', 'X-Forwarded-Proto: http', `https://www.cdn.test:${httpsPort}/echo`]);
    const seen = JSON.parse(body) as Record<string, string>;
    expect(seen.host).toBe(`www.cdn.test:${httpsPort}`);
    expect(seen['x-forwarded-proto']).toBe('https');
    expect(Object.keys(seen).filter((k) => k.startsWith(':'))).toEqual([]);
    expect(seen.forwarded).toContain('proto=https');
  });

  it('a POST over HTTP/2 forwards its body (no Content-Length needed)', async () => {
    origin.on('/upload', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`got ${Buffer.concat(chunks).length} bytes`);
      });
    });
    const session = http2.connect(`https://127.0.0.1:${httpsPort}`, { ca: pki.ca.certPem, servername: 'www.cdn.test' });
    const stream = session.request({ ':method': 'POST', ':path': '/upload', ':authority': 'www.cdn.test' });
    stream.end(Buffer.alloc(5000, 1));
    const text = await new Promise<string>((resolve, reject) => {
      let out = '';
      stream.on('data', (c: Buffer) => (out += c.toString()));
      stream.on('end', () => resolve(out));
      stream.on('error', reject);
    });
    session.close();
    expect(text).toBe('got 5000 bytes');
  });
});

describe('ACME HTTP-01 answers and the HTTPS redirect', () => {
  it('answers a pending token from the challenge folder on the plain port, 404 otherwise, never from the origin', async () => {
    new ChallengeDirectory(`${pki.dir}/challenges`).put('tok_123-abc', 'tok_123-abc.thumbprint');
    const ok = await request(edge.url, '/.well-known/acme-challenge/tok_123-abc', { headers: { host: 'www.cdn.test' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('tok_123-abc.thumbprint');
    const missing = await request(edge.url, '/.well-known/acme-challenge/nope', { headers: { host: 'www.cdn.test' } });
    expect(missing.status).toBe(404);
    const traversal = await request(edge.url, '/.well-known/acme-challenge/..%2f..%2fetc', { headers: { host: 'www.cdn.test' } });
    expect(traversal.status).toBe(404);
    expect(origin.seen.filter((s) => s.url.startsWith('/.well-known/'))).toEqual([]);
  });

  it('redirectHttp: 308 to the same host and target on the HTTPS port; /healthz and challenges stay on HTTP', async () => {
    const pki2 = pki;
    const files = await pki2.issue('redirect', ['www.cdn.test']);
    const e = await startEdge({ listen: '127.0.0.1:0', origin: origin.url, maxBytes: 1024 * 1024, acmeChallengeDir: `${pki.dir}/challenges`, tls: { listen: '127.0.0.1:0', certificates: [files], redirectHttp: true } });
    try {
      const port = new URL(e.httpsUrl!).port;
      const r = await request(e.url, '/page?x=1', { headers: { host: 'www.cdn.test:8080' } });
      expect(r.status).toBe(308);
      expect(r.headers.location).toBe(`https://www.cdn.test:${port}/page?x=1`);
      expect((await request(e.url, '/healthz', { headers: { host: 'www.cdn.test' } })).status).toBe(200);
      expect((await request(e.url, '/.well-known/acme-challenge/tok_123-abc', { headers: { host: 'www.cdn.test' } })).status).toBe(200);
    } finally {
      await e.close();
    }
  });
});

describe('bad input on the TLS port', () => {
  it('closes a connection whose handshake never completes (handshakeTimeout), and keeps serving', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect(httpsPort, '127.0.0.1');
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    expect(closed).toBe(true);
    expect(await presentedNames('www.cdn.test')).toBe('DNS:www.cdn.test');
  });

  it('refuses to start with a certificate file that does not load, naming the file', async () => {
    const good = await pki.issue('other', ['other.test']);
    await expect(startEdge({ listen: '127.0.0.1:0', origin: origin.url, maxBytes: 1024, tls: { listen: '127.0.0.1:0', certificates: [{ cert: good.cert, key: `${pki.dir}/www-key.pem` }] } })).rejects.toThrow(
      /www-key\.pem: does not match the certificate in .*other\.pem/,
    );
    await expect(startEdge({ listen: '127.0.0.1:0', origin: origin.url, maxBytes: 1024, tls: { listen: '127.0.0.1:0', certificates: [{ cert: `${pki.dir}/missing.pem`, key: good.key }] } })).rejects.toThrow(/missing\.pem: cannot read/);
  });
});

/** One HTTP/2 GET with node's client: status, header fields (pseudo-headers left out), body, and whether trailers came. */
async function h2Get(path: string): Promise<{ status: number; headers: Record<string, string | string[]>; body: string; trailers: boolean }> {
  const session = http2.connect(`https://127.0.0.1:${httpsPort}`, { ca: pki.ca.certPem, servername: 'www.cdn.test' });
  try {
    const stream = session.request({ ':path': path, ':authority': 'www.cdn.test' });
    return await new Promise((resolve, reject) => {
      let status = 0;
      const headers: Record<string, string | string[]> = {};
      let trailers = false;
      let body = '';
      stream.on('response', (h) => {
        status = Number(h[':status']);
        for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') && v !== undefined) headers[k] = Array.isArray(v) ? v : String(v);
      });
      stream.on('trailers', () => (trailers = true));
      stream.on('data', (c: Buffer) => (body += c.toString()));
      stream.on('end', () => resolve({ status, headers, body, trailers }));
      stream.on('error', reject);
    });
  } finally {
    session.close();
  }
}

describe('HTTP/2 fresh hits (written on the stream, deliver.ts writeHit)', () => {
  it('carry the fields of the HTTP/1.1 hit, status and body, with HSTS, and are counted by status class', async () => {
    const first = await h2Get('/gone');
    expect(first.status).toBe(404);
    expect(first.headers['x-cache']).toBe('MISS');
    const before = await metric(edge, 'dnscdn_edge_responses_total', { cache: 'HIT', code: '4xx' });
    const hit = await h2Get('/gone');
    expect(hit.status).toBe(404);
    expect(hit.body).toBe('no such page\n');
    expect(hit.trailers).toBe(false);
    expect(hit.headers).toMatchObject({ 'x-cache': 'HIT', 'cache-status': 'dnscdn; hit', 'content-length': '13', 'strict-transport-security': 'max-age=31536000' });
    expect(Number(hit.headers.age)).toBeGreaterThanOrEqual(0);
    // Repeated fields stay repeated (node's client joins a repeated Link with ', ').
    expect(hit.headers.link).toBe('</a.css>; rel=preload, </b.js>; rel=preload');
    expect(await metric(edge, 'dnscdn_edge_responses_total', { cache: 'HIT', code: '4xx' })).toBe(before + 1);
    // The same stored object over HTTP/1.1 on the same listener: the same fields, HTTP/1.1 framing aside.
    const h1 = await curl(['--http1.1', '-sD', '-', '-o', '/dev/null', `https://www.cdn.test:${httpsPort}/gone`]);
    const h1Names = h1
      .split('\r\n')
      .slice(1)
      .filter((l) => l.includes(':'))
      .map((l) => l.slice(0, l.indexOf(':')).toLowerCase())
      .filter((n) => n !== 'connection' && n !== 'keep-alive')
      .sort();
    expect([...new Set(h1Names)]).toEqual(Object.keys(hit.headers).sort());
    expect(origin.count('/gone')).toBe(1);
  });
});
