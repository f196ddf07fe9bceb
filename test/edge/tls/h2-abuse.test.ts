/**
 * HTTP/2 abuse on the edge's HTTPS listener: each attack closes the attacking connection only; another client's
 * session on the same listener keeps working. Real clients: node's http2 client for the rapid reset, a raw TLS
 * socket (ALPN h2) for garbage and flood frames.
 */
import http2 from 'node:http2';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, type EdgeServer } from '../../../src/edge/server.js';
import { fixed, startOrigin, type TestOrigin } from '../harness.js';
import { startPki, type TestPki } from './certs.js';

let pki: TestPki;
let origin: TestOrigin;
let edge: EdgeServer;
let port: number;

beforeAll(async () => {
  pki = await startPki();
  const files = await pki.issue('www', ['www.cdn.test']);
  origin = await startOrigin();
  origin.on('/page', fixed(200, { 'cache-control': 'max-age=60' }, 'ok\n'));
  // A slow miss: the work a rapid reset makes the server start and abandon.
  for (let i = 0; i < 400; i++) origin.on(`/slow/${i}`, (_req, res) => setTimeout(() => res.end('late\n'), 200));
  edge = await startEdge({
    listen: '127.0.0.1:0',
    origin: origin.url,
    maxBytes: 1024 * 1024,
    tls: { listen: '127.0.0.1:0', certificates: [files], http2: { maxResets: 50, resetWindowMs: 10_000, maxConcurrentStreams: 20, maxHeaderListBytes: 4096 }, idleTimeoutMs: 1500 },
  });
  port = Number(new URL(edge.httpsUrl!).port);
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
  pki?.remove();
});

function connect(): http2.ClientHttp2Session {
  return http2.connect(`https://127.0.0.1:${port}`, { ca: pki.ca.certPem, servername: 'www.cdn.test' });
}

function get(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':path': path, ':authority': 'www.cdn.test', ...headers });
    let status = 0;
    let body = '';
    s.on('response', (h) => (status = Number(h[':status'])));
    s.on('data', (c: Buffer) => (body += c.toString()));
    s.on('end', () => resolve({ status, body }));
    s.on('error', reject);
    s.end();
  });
}

/** A TLS connection speaking h2 frames by hand; resolves with the bytes received when the server closes it. */
function rawH2(frames: Buffer): Promise<{ closed: boolean; received: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'www.cdn.test', ALPNProtocols: ['h2'], ca: pki.ca.certPem }, () => {
      s.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0)), frames]));
    });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve({ closed: true, received: Buffer.concat(chunks) }));
    s.on('error', () => undefined);
  });
}

/** RFC 9113 §4.1 frame: 24-bit length, type, flags, 31-bit stream id, payload. */
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** GOAWAY's error code (RFC 9113 §6.8) in the bytes received, if one came. */
function goawayCode(received: Buffer): number | undefined {
  for (let i = 0; i + 9 <= received.length; ) {
    const len = received.readUIntBE(i, 3);
    if (received[i + 3] === 7) return received.readUInt32BE(i + 9 + 4);
    i += 9 + len;
  }
  return undefined;
}

describe('HTTP/2 limits', () => {
  it('advertises the stream and header-list limits in SETTINGS', async () => {
    const session = connect();
    await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(20);
    expect(session.remoteSettings.maxHeaderListSize).toBe(4096);
    expect((await get(session, '/page')).status).toBe(200);
    session.close();
  });

  it('a header list over the limit gets 431, and the session goes on serving', async () => {
    const session = connect();
    expect((await get(session, '/page', { 'x-big': 'a'.repeat(5000) })).status).toBe(431);
    expect((await get(session, '/page', { 'x-small': 'a'.repeat(100) })).status).toBe(200);
    session.close();
  });
});

describe('HTTP/2 abuse closes that connection only', () => {
  it('rapid reset (CVE-2023-44487): past the cap of resets the session gets GOAWAY ENHANCE_YOUR_CALM', async () => {
    const bystander = connect();
    expect((await get(bystander, '/page')).status).toBe(200);
    const attacker = connect();
    const goaway = new Promise<number>((resolve) => attacker.on('goaway', (code) => resolve(code)));
    attacker.on('error', () => undefined);
    for (let i = 0; i < 200 && !attacker.destroyed && !attacker.closed; i++) {
      const s = attacker.request({ ':path': `/slow/${i}`, ':authority': 'www.cdn.test' });
      s.on('error', () => undefined);
      s.end();
      // Cancel once the server has the stream (its HEADERS left), as the attack does.
      await new Promise<void>((r) => setImmediate(r));
      s.close(http2.constants.NGHTTP2_CANCEL);
    }
    expect(await goaway).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect((await get(bystander, '/page')).status).toBe(200);
    bystander.close();
  });

  it('malformed frames (DATA on stream 0, a PING of the wrong size) get GOAWAY with the error, and the socket is closed', async () => {
    // The bystander stays busy, so the idle timeout that ends the broken connections never concerns it.
    const bystander = connect();
    let served = 0;
    const busy = setInterval(() => void get(bystander, '/page').then((r) => (served += r.status === 200 ? 1 : 0)), 100);
    const [dataOnZero, badPing] = await Promise.all([
      rawH2(frame(0, 0, 0, Buffer.from('junk'))),
      // A PING must be 8 bytes (§6.7): FRAME_SIZE_ERROR.
      rawH2(frame(6, 0, 0, Buffer.alloc(3))),
    ]);
    clearInterval(busy);
    expect(dataOnZero.closed).toBe(true);
    expect(goawayCode(dataOnZero.received)).toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    expect(goawayCode(badPing.received)).toBe(http2.constants.NGHTTP2_FRAME_SIZE_ERROR);
    expect((await get(bystander, '/page')).status).toBe(200);
    expect(served).toBeGreaterThan(0);
    bystander.close();
  });

  it('SETTINGS and PING floods close that connection', async () => {
    const bystander = connect();
    const settings = await rawH2(Buffer.concat(Array.from({ length: 5000 }, () => frame(4, 0, 0, Buffer.alloc(0)))));
    expect(settings.closed).toBe(true);
    const pings = await rawH2(Buffer.concat(Array.from({ length: 5000 }, () => frame(6, 0, 0, Buffer.alloc(8)))));
    expect(pings.closed).toBe(true);
    expect((await get(bystander, '/page')).status).toBe(200);
    bystander.close();
  });
});
