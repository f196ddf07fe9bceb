/**
 * Certificate reload: a certificate file replaced on disk is served to new connections without a restart and
 * without dropping open ones; a broken file keeps the previous certificate and says which file and why.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, type EdgeServer } from '../../../src/edge/server.js';
import type { TlsCertificateFiles } from '../../../src/config/types.js';
import { fixed, startOrigin, type TestOrigin } from '../harness.js';
import { startPki, type TestPki } from './certs.js';

let pki: TestPki;
let origin: TestOrigin;
let edge: EdgeServer;
let port: number;
let served: TlsCertificateFiles;

beforeAll(async () => {
  pki = await startPki();
  served = await pki.issue('served', ['www.cdn.test']);
  origin = await startOrigin();
  origin.on('/page', fixed(200, { 'cache-control': 'max-age=60' }, 'ok\n'));
  edge = await startEdge({ listen: '127.0.0.1:0', origin: origin.url, maxBytes: 1024 * 1024, tls: { listen: '127.0.0.1:0', certificates: [served] } });
  port = Number(new URL(edge.httpsUrl!).port);
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
  pki?.remove();
});

function presentedSerial(servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), ca: pki.ca.certPem, checkServerIdentity: () => undefined }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.on('error', reject);
  });
}

function nextReload(): Promise<readonly string[]> {
  return new Promise((resolve) => (edge.certificates!.onReload = resolve));
}

function get(session: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':path': '/page', ':authority': 'www.cdn.test' });
    s.on('response', (h) => resolve(Number(h[':status'])));
    s.on('error', reject);
    s.resume();
    s.end();
  });
}

describe('certificate reload', () => {
  it('serves a replaced certificate to new connections (with and without SNI), and open sessions go on', async () => {
    const before = await presentedSerial('www.cdn.test');
    const open = http2.connect(`https://127.0.0.1:${port}`, { ca: pki.ca.certPem, servername: 'www.cdn.test' });
    expect(await get(open)).toBe(200);
    const renewed = await pki.issue('renewed', ['www.cdn.test']);
    const reloaded = nextReload();
    // Key first, then the certificate, as a renewal tool writes them; the watch settles before reloading.
    copyFileSync(renewed.key, served.key);
    copyFileSync(renewed.cert, served.cert);
    expect(await reloaded).toEqual([]);
    const after = await presentedSerial('www.cdn.test');
    expect(after).not.toBe(before);
    expect(await presentedSerial(undefined)).toBe(after);
    expect(await get(open)).toBe(200);
    open.close();
  });

  it('a broken file keeps the previous certificate, and the failure names the file and the reason', async () => {
    const before = await presentedSerial('www.cdn.test');
    const reloaded = nextReload();
    writeFileSync(served.cert, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    const failures = await reloaded;
    expect(failures).toHaveLength(1);
    expect(failures[0]).toContain(served.cert);
    expect(failures[0]).toMatch(/not a PEM certificate/);
    expect(await presentedSerial('www.cdn.test')).toBe(before);
  });
});
