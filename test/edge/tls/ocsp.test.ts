/**
 * OCSP stapling against a real responder (`openssl ocsp`): a certificate whose Authority Information Access names
 * the responder gets its status stapled once fetched (the first handshake does not wait for it); one without a
 * responder URL never gets a staple.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, type EdgeServer } from '../../../src/edge/server.js';
import { issueCertificate } from '../../../src/edge/tls/demo-ca.js';
import { readOcspResponse } from '../../../src/edge/tls/ocsp.js';
import { freePortOn } from '../../net/loopback.js';
import { startOrigin, type TestOrigin } from '../harness.js';
import { startPki, type TestPki } from './certs.js';

let pki: TestPki;
let origin: TestOrigin;
let edge: EdgeServer;
let responder: ChildProcess;
let port: number;

/** openssl's index.txt time format: YYMMDDHHMMSSZ. */
function indexTime(d: Date): string {
  return d.toISOString().replace(/^\d\d|[-:T]|\.\d+/g, '').slice(0, 12) + 'Z';
}

beforeAll(async () => {
  pki = await startPki();
  const responderPort = await freePortOn('127.0.0.1');
  const stapled = await issueCertificate(pki.ca, ['www.cdn.test'], 2, `http://127.0.0.1:${responderPort}/`);
  const plain = await pki.issue('plain', ['plain.test']);
  const files = { cert: join(pki.dir, 'stapled.pem'), key: join(pki.dir, 'stapled-key.pem') };
  // The chain carries the issuer: node needs it to build the OCSP request.
  writeFileSync(files.cert, stapled.certPem + pki.ca.certPem);
  writeFileSync(files.key, stapled.keyPem, { mode: 0o600 });
  const leaf = new X509Certificate(stapled.certPem);
  writeFileSync(join(pki.dir, 'index.txt'), `V\t${indexTime(new Date(leaf.validTo))}\t\t${leaf.serialNumber}\tunknown\t/CN=www.cdn.test\n`);
  writeFileSync(join(pki.dir, 'ca-key.pem'), pki.ca.keyPem, { mode: 0o600 });
  responder = spawn('openssl', ['ocsp', '-index', join(pki.dir, 'index.txt'), '-port', String(responderPort), '-rsigner', pki.caFile, '-rkey', join(pki.dir, 'ca-key.pem'), '-CA', pki.caFile, '-nmin', '60'], { stdio: 'ignore' });
  origin = await startOrigin();
  edge = await startEdge({ listen: '127.0.0.1:0', origin: origin.url, maxBytes: 1 << 20, tls: { listen: '127.0.0.1:0', certificates: [files, plain] } });
  port = Number(new URL(edge.httpsUrl!).port);
});

afterAll(async () => {
  responder?.kill();
  await edge?.close();
  await origin?.close();
  pki?.remove();
});

/** The OCSP response stapled to a handshake that asks for one, or null. */
function stapledResponse(servername: string): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    let response: Buffer | null = null;
    // `requestOCSP` (status_request) is a TLSSocket option that @types/node leaves out of ConnectionOptions.
    const options: tls.ConnectionOptions & { requestOCSP: boolean } = { host: '127.0.0.1', port, servername, requestOCSP: true, ca: pki.ca.certPem };
    const s = tls.connect(options, () => {
      s.end();
      resolve(response);
    });
    s.on('OCSPResponse', (r: Buffer) => (response = r));
    s.on('error', reject);
  });
}

describe('OCSP stapling', () => {
  it('staples the responder\'s answer (good, with a nextUpdate) once fetched', async () => {
    let response: Buffer | null = null;
    for (let i = 0; i < 50 && response === null; i++) {
      response = await stapledResponse('www.cdn.test');
      if (response === null) await new Promise((r) => setTimeout(r, 100));
    }
    expect(response).not.toBeNull();
    const parsed = readOcspResponse(response!);
    expect(parsed.status).toBe(0);
    expect(parsed.nextUpdate!.getTime()).toBeGreaterThan(Date.now());
  });

  it('staples nothing for a certificate without a responder URL', async () => {
    for (let i = 0; i < 3; i++) expect(await stapledResponse('plain.test')).toBeNull();
  });
});
