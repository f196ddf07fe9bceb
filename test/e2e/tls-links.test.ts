/**
 * TLS between roles (issue 15 item 4, src/http/link-tls.ts): an edge in front of an https origin (CA from the
 * deployment, SNI = the origin URL's name), a push through an https admin plane (push API on the origin's admin
 * listener -> in-process distribution node -> the edge's https admin listener), and clients that refuse an
 * untrusted certificate with an error naming the URL. A CA made with openssl for the test; real sockets.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Distributor } from '../../src/distribution/distributor.js';
import { EdgeReplica } from '../../src/edge/replica.js';
import { startEdge, type EdgeServer } from '../../src/edge/server.js';
import { LinkError, request } from '../../src/http/client.js';
import { readServerTls, trustLinkCa } from '../../src/http/link-tls.js';
import { localPublisher } from '../../src/origin/publisher.js';
import { OriginServer } from '../../src/origin/server.js';
import { tempDir } from '../origin/helpers.js';
import { makeTestCa, type TestCa } from '../net/test-ca.js';
import { loadDeployment } from '../../src/config/load.js';
import { edgeCommand } from '../../src/edge/command.js';
import { edgeRoleFromDeployment } from '../../src/edge/setup.js';
import { originRoleFromDeployment } from '../../src/origin/setup.js';
import { parsedOptions, ROLE_FLAGS_DEPLOYMENT, writeDeployment } from '../config/role-flags.js';

const TOKEN = 'tls-links-token';
let ca: TestCa;
let origin: { url: string; servernames: Array<string | false | null>; close(): Promise<void> };

beforeAll(async () => {
  ca = makeTestCa();
  const cert = ca.issue('origin', { dns: ['localhost'], ip: ['127.0.0.1'] });
  const servernames: Array<string | false | null> = [];
  const server = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    servernames.push((req.socket as import('node:tls').TLSSocket).servername);
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', etag: '"o1"' });
    res.end(`from the https origin, Host ${req.headers.host}\n`);
  });
  await new Promise<void>((r) => server.listen(0, 'localhost', r));
  const { port } = server.address() as AddressInfo;
  origin = {
    url: `https://localhost:${port}`,
    servernames,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
});
afterAll(async () => origin.close());

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
  trustLinkCa(undefined);
});

async function edgeFor(originUrl: string, extra: Partial<Parameters<typeof startEdge>[0]> = {}): Promise<EdgeServer> {
  const edge = await startEdge({ listen: '127.0.0.1:0', origin: originUrl, maxBytes: 1 << 20, originTimeoutMs: 3000, adminToken: TOKEN, ...extra });
  closers.push(() => edge.close());
  return edge;
}

describe('an https origin', () => {
  it('is fetched over TLS with the deployment CA, SNI naming the origin (not the client Host), and cached', async () => {
    trustLinkCa(ca.caFile);
    const edge = await edgeFor(origin.url);
    const first = await request(`${edge.url}/page`, { headers: { host: 'www.cdn.test' } });
    expect(first.status).toBe(200);
    expect(first.text()).toBe('from the https origin, Host www.cdn.test\n');
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await request(`${edge.url}/page`, { headers: { host: 'www.cdn.test' } });
    expect(second.headers['x-cache']).toBe('HIT');
    expect(origin.servernames).toEqual(['localhost']);
  });

  it('with a certificate the edge does not trust: 502 naming the origin URL and the reason, and the edge keeps serving', async () => {
    trustLinkCa(undefined); // Node's public CAs only: the test CA is unknown
    const edge = await edgeFor(origin.url);
    const res = await request(`${edge.url}/page`, { headers: { host: 'www.cdn.test' } });
    expect(res.status).toBe(502);
    expect(res.text()).toContain(`${origin.url}: certificate not trusted (`);
    expect((await request(`${edge.url}/healthz`)).status).toBe(200);
  });
});

describe('https admin listeners and distribution links', () => {
  it('carry a push from the push API through the distribution node to the edge, all over TLS', async () => {
    trustLinkCa(ca.caFile);
    const adminTls = readServerTls({ cert: ca.issue('admin', { ip: ['127.0.0.1'] }).certFile, key: join(ca.dir, 'admin-key.pem') });
    const base = await tempDir('tls-push');
    const content = join(base, 'content');
    await mkdir(content, { recursive: true });
    await writeFile(join(content, 'pushed.html'), '<p>pushed over TLS</p>');
    const edge = await edgeFor('http://127.0.0.1:9', { adminTls });
    expect(edge.adminUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const replica = await EdgeReplica.open({ cache: edge.cache, dir: join(base, 'edge'), token: TOKEN });
    replica.register(edge);
    closers.push(() => replica.close());
    const distributor = await Distributor.open({ dataDir: join(base, 'dist'), token: TOKEN, downstream: [{ name: 'e', url: edge.adminUrl }] });
    closers.push(() => distributor.close());
    const originServer = await OriginServer.start({ contentDir: content, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, publisher: localPublisher(distributor), distributor, adminTls });
    closers.push(() => originServer.close());
    expect(originServer.adminUrl).toMatch(/^https:/);

    // What `dnscdn push --origin https://... --tls-ca ca.pem /pushed.html` sends.
    const pushed = await request(`${originServer.adminUrl}/.dnscdn/push`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ paths: ['/pushed.html'] }) });
    expect(pushed.status).toBe(200);
    const deadline = Date.now() + 5000;
    while (replica.lastSeq < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(edge.cache.list().map((o) => o.path)).toEqual(['/pushed.html']);
    // The edge's admin plane refuses plain HTTP on its TLS port: the token is never read in clear.
    const plain = await request(edge.adminUrl.replace('https:', 'http:') + '/.dnscdn/objects', { headers: { authorization: `Bearer ${TOKEN}` }, timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(plain instanceof LinkError || (plain as { status: number }).status === 400).toBe(true);
  });

  it('a client that does not trust the certificate refuses it with an error naming the URL', async () => {
    const adminTls = readServerTls({ cert: ca.issue('admin2', { ip: ['127.0.0.1'] }).certFile, key: join(ca.dir, 'admin2-key.pem') });
    const edge = await edgeFor('http://127.0.0.1:9', { adminTls });
    trustLinkCa(undefined);
    const url = `${edge.adminUrl}/.dnscdn/objects`;
    const err = await request(url, { headers: { authorization: `Bearer ${TOKEN}` } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LinkError);
    expect((err as LinkError).message).toBe(`GET ${url}: certificate not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE): the peer's CA is not in tls.ca / --tls-ca`);
    // The same request with the deployment's CA trusted goes through.
    trustLinkCa(ca.caFile);
    expect((await request(url, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });
});

describe('tls in the deployment file', () => {
  const deployment = (tls: string): string =>
    ROLE_FLAGS_DEPLOYMENT.replace('origin:\n  listen: 127.0.0.1:18000\n', 'origin:\n  listen: 127.0.0.1:18000\n  url: https://origin.example.net:8443\n') + tls;

  it('one CA for every link and one certificate for every admin listener; admin URLs become https://', async () => {
    const file = writeDeployment(deployment('tls:\n  ca: tls/ca.pem\n  admin: { cert: tls/admin.pem, key: tls/admin-key.pem }\n'));
    const d = loadDeployment(file);
    const dir = join(file, '..');
    expect(d.tls).toEqual({ ca: join(dir, 'tls/ca.pem'), admin: { cert: join(dir, 'tls/admin.pem'), key: join(dir, 'tls/admin-key.pem') } });
    const edge = edgeRoleFromDeployment(d, 'london');
    expect(typeof edge.server.origin === 'string' ? edge.server.origin : edge.server.origin.servers.map((s) => s.url)).toEqual(['https://origin.example.net:8443']);
    expect(edge.linkTls).toEqual(d.tls);
    expect(edge.push?.distributor).toBe('https://127.0.0.1:18101');
    expect(originRoleFromDeployment(d).edges).toEqual([
      { name: 'london', url: 'https://127.0.0.21:18181' },
      { name: 'tokyo', url: 'https://127.0.0.12:19082' },
    ]);
    // --tls-ca overrides the file's CA and keeps its admin certificate.
    const flagged = await parsedOptions(edgeCommand, ['--config', file, '--name', 'london', '--tls-ca', '/etc/ssl/other-ca.pem']);
    expect(flagged.linkTls).toEqual({ ...d.tls, ca: '/etc/ssl/other-ca.pem' });
  });

  it('refuses half an admin certificate and an origin.url with a path, naming file, line and key', () => {
    expect(() => loadDeployment(writeDeployment(deployment('tls:\n  admin: { cert: a.pem }\n')))).toThrow(/dnscdn\.yaml:\d+.*tls\.admin.*needs both "cert" and "key"/);
    const withPath = ROLE_FLAGS_DEPLOYMENT.replace('origin:\n  listen: 127.0.0.1:18000\n', 'origin:\n  listen: 127.0.0.1:18000\n  url: https://o.example/sub\n');
    expect(() => loadDeployment(writeDeployment(withPath))).toThrow(/dnscdn\.yaml:\d+.*origin\.url.*give scheme, host and port only/);
  });
});
