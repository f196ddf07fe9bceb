/**
 * The HTTPS listener's socket settings: TCP_NODELAY on every accepted connection, as node:http sets it on the
 * plain port and nginx does by default (tcp_nodelay). tls.Server leaves Nagle on unless asked, which lets a
 * response's last partial segment wait for the client's delayed ACK.
 */
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpsListener, type HttpsListener } from '../../../src/edge/tls/https-listener.js';
import { http2Limits } from '../../../src/edge/tls/h2-limits.js';
import { ServedCertificates } from '../../../src/edge/tls/served-certificates.js';
import { startPki, type TestPki } from './certs.js';

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
  });
});

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
});
