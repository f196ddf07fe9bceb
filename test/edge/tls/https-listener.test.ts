/**
 * The HTTPS listener's connection handling:
 * - TCP_NODELAY on every accepted connection, as node:http sets it on the plain port and nginx does by default
 *   (tcp_nodelay). tls.Server leaves Nagle on unless asked, which lets a response's last partial segment wait for
 *   the client's delayed ACK.
 * - The idle timeout: an HTTP/1.1 connection on which nothing moves (idle-connections.ts) and an HTTP/2 session
 *   without frames are closed after it; one that keeps asking stays open.
 */
import http2 from 'node:http2';
import { connect, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpsListener, type HttpsListener } from '../../../src/edge/tls/https-listener.js';
import { http2Limits } from '../../../src/edge/tls/h2-limits.js';
import { ServedCertificates } from '../../../src/edge/tls/served-certificates.js';
import { startPki, type TestPki } from './certs.js';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An HTTP/1.1 keep-alive connection over TLS, with a way to ask once and to see it closed. */
async function keepAlive(): Promise<{ ask: () => Promise<string>; closed: Promise<number>; socket: TLSSocket }> {
  const opened = performance.now();
  const socket = connect({ host: '127.0.0.1', port: listener.address.port, servername: 'www.cdn.test', ca: readFileSync(pki.caFile), ALPNProtocols: ['http/1.1'] });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  socket.setEncoding('utf8');
  let pending: ((text: string) => void) | undefined;
  socket.on('data', (c: string) => pending?.(c));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - opened)));
  const ask = (): Promise<string> =>
    new Promise((resolve) => {
      pending = (text) => {
        pending = undefined;
        resolve(text);
      };
      socket.write('GET / HTTP/1.1\r\nHost: www.cdn.test\r\n\r\n');
    });
  return { ask, closed, socket };
}

let pki: TestPki;
let certificates: ServedCertificates;
let listener: HttpsListener;

beforeAll(async () => {
  pki = await startPki();
  certificates = new ServedCertificates([await pki.issue('www', ['www.cdn.test'])]);
  listener = await startHttpsListener({
    listen: [{ host: '127.0.0.1', port: 0 }],
    certificates,
    limits: http2Limits(undefined, 16 * 1024),
    maxHeaderBytes: 16 * 1024,
    onRequest: (_req, res) => res.end('ok\n'),
    onClientError: (_err, socket) => socket.destroy(),
    now: Date.now,
    idleTimeoutMs: IDLE_MS,
  });
});

/** Short, so that the tests wait a second or two; the sweep runs every IDLE_MS / 4. */
const IDLE_MS = 400;

afterAll(async () => {
  await listener?.close();
  certificates?.close();
  pki?.remove();
});

describe('HTTPS listener', () => {
  it('accepts connections with Nagle off (noDelay), and answers HTTP/1.1 on them', async () => {
    expect(listener.servers.every((s) => (s as unknown as { noDelay: boolean }).noDelay)).toBe(true);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: listener.address.port, servername: 'www.cdn.test', ca: readFileSync(pki.caFile), ALPNProtocols: ['http/1.1'] }, () => {
        socket.end('GET / HTTP/1.1\r\nHost: www.cdn.test\r\nConnection: close\r\n\r\n');
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (text += c));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply.endsWith('ok\n')).toBe(true);
  });

  it('closes an HTTP/1.1 keep-alive connection on which nothing moved for the idle time', async () => {
    const c = await keepAlive();
    expect(await c.ask()).toMatch(/^HTTP\/1\.1 200 /);
    // Closed by the server: at least IDLE_MS after the last byte, and not much later than the sweep allows.
    const openFor = await c.closed;
    expect(openFor).toBeGreaterThanOrEqual(IDLE_MS);
    expect(c.socket.destroyed).toBe(true);
  });

  it('keeps an HTTP/1.1 connection that keeps asking open past the idle time', async () => {
    const c = await keepAlive();
    let isClosed = false;
    void c.closed.then(() => (isClosed = true));
    for (let i = 0; i < 8; i++) {
      expect(await c.ask()).toMatch(/^HTTP\/1\.1 200 /);
      await delay(IDLE_MS / 4);
    }
    expect(isClosed).toBe(false); // 8 requests over ~2 idle times
    c.socket.destroy();
  });

  it('closes an idle HTTP/2 session', async () => {
    const session = http2.connect(`https://127.0.0.1:${listener.address.port}`, { servername: 'www.cdn.test', ca: readFileSync(pki.caFile) });
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    session.on('error', () => {});
    const body = await new Promise<string>((resolve, reject) => {
      const stream = session.request({ ':path': '/' });
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (text += c));
      stream.on('end', () => resolve(text));
      stream.on('error', reject);
    });
    expect(body).toBe('ok\n');
    await closed;
    expect(session.destroyed).toBe(true);
  });
});
