/**
 * The chaos clients retry as a browser with several A records does: a first attempt refused, reset or timed out
 * (a frozen edge accepts the connection and then says nothing) is retried once on an address other than the one
 * that failed, from a fresh DNS answer; a name server that does not answer is followed by the next. Real sockets: dnscdn's DNS answers a geo-nearest pool of two edges, the
 * nearer one frozen (a listener that never replies), the other an HTTP server.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosClients, type RequestSample, type ResolutionSample } from '../../src/chaos/clients.js';
import { seededRandom } from '../../src/random.js';
import { startDnsFromFile, type DnsFromFile } from '../e2e/dns-cli.js';
import { ROOT } from '../e2e/up-deployment.js';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';

const [dnsHost, frozen, healthy, silentHost] = privateLoopbacks(4) as [string, string, string, string];
const held: Socket[] = [];
const frozenEdge = createServer((s) => held.push(s));
const healthyEdge = createHttpServer((_req, res) => res.end('ok'));
let dns: DnsFromFile;
let edgePort = 0;

beforeAll(async () => {
  edgePort = await freePortOn(frozen);
  frozenEdge.listen(edgePort, frozen);
  healthyEdge.listen(edgePort, healthy);
  await Promise.all([once(frozenEdge, 'listening'), once(healthyEdge, 'listening')]);
  const dir = mkdtempSync(join(tmpdir(), 'dnscdn-chaos-clients-'));
  const file = join(dir, 'dns.yaml');
  // Probes once a minute with fall 3: the frozen edge stays in the answers for the whole test, as it does for the
  // health window after a real freeze. 10/8 is placed in London, nearest the frozen edge, which is answered first.
  writeFileSync(
    file,
    `dns:
  listen: [${dnsHost}:${await freePortOn(dnsHost)}]
  zones: ${join(ROOT, 'zones')}
  workers: 1
edgeDefaults:
  port: ${edgePort}
  health: { interval: 1m, timeout: 200ms, rise: 1, fall: 3 }
edges:
  frozen: { addresses: [${frozen}], location: { lat: 51.507, lon: -0.128 } }
  healthy: { addresses: [${healthy}], location: { lat: 35.690, lon: 139.692 } }
pools:
  www.cdn.test: { policy: geo-nearest, edges: [frozen, healthy], ttl: 30, answers: 2 }
geo:
  networks:
    - { cidr: 10.0.0.0/8, location: { lat: 51.5, lon: -0.1 } }
`,
  );
  dns = await startDnsFromFile(file, []);
}, 30_000);

afterAll(() => {
  dns?.child.kill();
  for (const s of held) s.destroy();
  frozenEdge.close();
  healthyEdge.close();
});

/** One client in London's network (10/8) asking for /index.html until it has `count` requests, with its samples. */
async function runClient(dnsServers: ReadonlyArray<{ host: string; port: number }>, count: number): Promise<{ requests: RequestSample[]; resolutions: ResolutionSample[] }> {
  const requests: RequestSample[] = [];
  const resolutions: ResolutionSample[] = [];
  const clients = new ChaosClients({
    dns: dnsServers,
    pool: 'www.cdn.test',
    networks: ['10.1.2.0/24'],
    paths: ['/index.html'],
    zipfAlpha: 0.8,
    edgePort: () => edgePort,
    clients: 1,
    random: seededRandom(1),
    thinkMs: 10,
    requestTimeoutMs: 300,
    now: () => Date.now(),
    onRequest: (s) => requests.push(s),
    onResolution: (s) => resolutions.push(s),
  });
  clients.start();
  while (requests.length < count) await new Promise((r) => setTimeout(r, 50));
  await clients.stop();
  return { requests, resolutions };
}

describe('chaos clients', () => {
  it('retry a request that timed out on a frozen edge once, on the other address of a fresh answer', async () => {
    const { requests } = await runClient([{ host: dnsHost, port: dns.port }], 3);
    for (const s of requests) expect(s).toMatchObject({ ok: true, retry: 'other-address', address: healthy });
  }, 30_000);

  it('ask the next name server when the first gives no answer, as a resolver does', async () => {
    // A name server that receives and never replies (a frozen one), listed first.
    const silent = createSocket('udp4');
    silent.bind(0, silentHost);
    await once(silent, 'listening');
    try {
      const { resolutions } = await runClient([{ host: silentHost, port: silent.address().port }, { host: dnsHost, port: dns.port }], 1);
      expect(resolutions.length).toBeGreaterThan(0);
      for (const r of resolutions) expect(r).toMatchObject({ unanswered: 1, addresses: [frozen, healthy] });
    } finally {
      silent.close();
    }
  }, 30_000);
});
