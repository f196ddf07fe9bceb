/**
 * Certificates by ACME, end to end against Pebble (Debian package `pebble`), the ACME test CA: Pebble resolves
 * the name through its companion mock DNS (pebble-challtestsrv) to the *other* edge, so the HTTP-01 answer comes
 * from an edge that did not order (the shared challenge folder), then the ordering edge serves the certificate.
 * Then a renewal (a due certificate is replaced), and a failed order (CA unreachable) that keeps the working
 * certificate and backs off.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcmeConfig } from '../../src/config/types.js';
import { startEdge, type EdgeServer } from '../../src/edge/server.js';
import { AcmeManager, renewalTime } from '../../src/edge/tls/acme.js';
import { fixed, startOrigin, type TestOrigin } from '../edge/harness.js';
import { startPki, type TestPki } from '../edge/tls/certs.js';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';

const run = promisify(execFile);
const [pebbleHost, orderingHost, answeringHost] = privateLoopbacks(3) as [string, string, string];

let pki: TestPki;
let origin: TestOrigin;
let ordering: EdgeServer;
let answering: EdgeServer;
const answeredChallenges: string[] = [];
let httpPort: number;
let httpsPort: number;
const children: ChildProcess[] = [];
let acmeConfig: AcmeConfig;
let pebbleRoot: string;

function startChild(cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.stdout?.resume();
  child.stderr?.resume();
  children.push(child);
  return child;
}

function getText(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function waitFor(url: string, ca: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await getText(url, ca)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered`);
}

function servedSerial(servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: orderingHost, port: httpsPort, servername, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.on('error', reject);
  });
}

beforeAll(async () => {
  pki = await startPki();
  origin = await startOrigin();
  origin.on('/page', fixed(200, { 'cache-control': 'max-age=60' }, 'certified\n'));
  httpPort = await freePortOn(orderingHost);
  httpsPort = await freePortOn(orderingHost);
  const challengeDir = join(pki.dir, 'challenges');
  acmeConfig = { directory: `https://${pebbleHost}:14000/dir`, names: ['www.acme.test'], dir: join(pki.dir, 'acme'), challengeDir, caFile: pki.caFile };
  // Both edges serve the same challenge folder; only the first orders, and it has no certificate yet.
  ordering = await startEdge({ listen: `${orderingHost}:${httpPort}`, origin: origin.url, maxBytes: 1 << 20, acmeChallengeDir: challengeDir, tls: { listen: `${orderingHost}:${httpsPort}`, certificates: [] } });
  answering = await startEdge({
    listen: `${answeringHost}:${httpPort}`,
    origin: origin.url,
    maxBytes: 1 << 20,
    acmeChallengeDir: challengeDir,
    onSteps: (_steps, req) => void (req.path.startsWith('/.well-known/acme-challenge/') && answeredChallenges.push(req.path)),
  });

  // Pebble's own HTTPS listener needs a certificate: one from the test CA, trusted by acme-client through caFile.
  const pebbleCert = await pki.issue('pebble', [pebbleHost, 'localhost']);
  const dnsPort = await freePortOn(pebbleHost);
  const config = join(pki.dir, 'pebble.json');
  writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `${pebbleHost}:14000`,
        managementListenAddress: `${pebbleHost}:15000`,
        certificate: pebbleCert.cert,
        privateKey: pebbleCert.key,
        httpPort,
        tlsPort: 5001,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  startChild('pebble-challtestsrv', ['-defaultIPv4', answeringHost, '-defaultIPv6', '', '-dns01', `${pebbleHost}:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `${pebbleHost}:${await freePortOn(pebbleHost)}`]);
  startChild('pebble', ['-config', config, '-dnsserver', `${pebbleHost}:${dnsPort}`], { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' });
  await waitFor(`https://${pebbleHost}:14000/dir`, pki.ca.certPem);
  pebbleRoot = (await getText(`https://${pebbleHost}:15000/roots/0`, pki.ca.certPem)).body;
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await ordering?.close();
  await answering?.close();
  await origin?.close();
  pki?.remove();
});

describe('ACME with Pebble', () => {
  it('issues a certificate through HTTP-01 answered by another edge, stores it 0600, and serves it', async () => {
    const manager = new AcmeManager(acmeConfig, ordering.certificates!, { initialMs: 100, maxMs: 400 });
    const outcome = await manager.check().finally(() => manager.stop());
    expect(outcome.kind).toBe('issued');
    expect(answeredChallenges.length).toBeGreaterThan(0);
    for (const f of [manager.files.cert, manager.files.key, join(acmeConfig.dir, 'account-key.pem')]) expect(statSync(f).mode & 0o777).toBe(0o600);
    const rootFile = join(pki.dir, 'pebble-root.pem');
    writeFileSync(rootFile, pebbleRoot);
    // As a user checks it: curl trusting Pebble's root, by name, over HTTP/2.
    const { stdout } = await run('curl', ['-s', '-i', '--http2', '--cacert', rootFile, '--resolve', `www.acme.test:${httpsPort}:${orderingHost}`, `https://www.acme.test:${httpsPort}/page`]);
    expect(stdout).toMatch(/^HTTP\/2 200/);
    expect(stdout).toContain('certified');
  }, 60_000);

  it('renews a certificate past two thirds of its lifetime', async () => {
    const before = await servedSerial('www.acme.test');
    const issued = new (await import('node:crypto')).X509Certificate(readFileSync(join(acmeConfig.dir, 'www.acme.test.pem')));
    const due = renewalTime(Date.parse(issued.validFrom), Date.parse(issued.validTo)) + 1000;
    const manager = new AcmeManager(acmeConfig, ordering.certificates!, { initialMs: 100, maxMs: 400 }, () => due);
    const o = await manager.check().finally(() => manager.stop());
    expect(o).toMatchObject({ kind: 'issued' });
    expect(await servedSerial('www.acme.test')).not.toBe(before);
  }, 60_000);

  it('a failed order keeps the working certificate and files, and retries with growing backoff', async () => {
    const served = await servedSerial('www.acme.test');
    const certText = readFileSync(join(acmeConfig.dir, 'www.acme.test.pem'), 'utf8');
    const unreachable = { ...acmeConfig, directory: `https://${pebbleHost}:1/dir` };
    // Far in the future: the certificate is due, so every check orders, and every order fails.
    const manager = new AcmeManager(unreachable, ordering.certificates!, { initialMs: 100, maxMs: 400 }, () => Date.now() + 10 * 365 * 86_400_000);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const o = await manager.check().finally(() => manager.stop());
      expect(o.kind).toBe('failed');
      if (o.kind === 'failed') delays.push(o.retryInMs);
    }
    manager.stop();
    expect(delays).toEqual([100, 200, 400, 400]);
    expect(readFileSync(join(acmeConfig.dir, 'www.acme.test.pem'), 'utf8')).toBe(certText);
    expect(await servedSerial('www.acme.test')).toBe(served);
  }, 60_000);
});
