/**
 * Redundant steered name servers (issue 13 item 6): two `dnscdn dns --config` processes from one file,
 * the section's own listener (ns1) and `--name ns2` (dns.instances.ns2), each probing the edges itself.
 * Killing an edge moves the answer of both within interval x fall, and both give the same steered answer,
 * in the same order, for every client network asked (ECS), before and after.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';
import { startDnsFromFile, type DnsFromFile } from './dns-cli.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-redundant-'));
const file = join(dir, 'dnscdn.yaml');
const [ns1Host, ns2Host, london, tokyo, newyork] = privateLoopbacks(5) as [string, string, string, string, string];
const INTERVAL_MS = 500;
const FALL = 2;
/**
 * Client networks placed by geo.networks, with ECS as a resolver would send them. Not a network without a
 * location: geo-nearest answers those round-robin, and each name server turns its own cursor (as a
 * round-robin or weighted pool does for every client), so two servers agree only on placed clients.
 */
const CLIENTS = ['10.1.0.0/24', '10.2.7.0/24', '10.3.0.0/24', '10.4.9.0/24', '10.5.0.0/24', '10.5.200.0/24'];
const edges = new Map<string, Server>();
const servers: DnsFromFile[] = [];
let ns1: DnsFromFile;
let ns2: DnsFromFile;

function startEdge(host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end());
  return new Promise((done) => server.listen(port, host, () => done(server)));
}

beforeAll(async () => {
  const ports = { ns1: await freePortOn(ns1Host), ns2: await freePortOn(ns2Host) };
  const edgePort = 18080;
  for (const [name, host] of [['london', london], ['tokyo', tokyo], ['newyork', newyork]] as const) edges.set(name, await startEdge(host, edgePort));
  writeFileSync(
    file,
    `dns:
  listen: [${ns1Host}:${ports.ns1}]
  zones: ${resolve('zones')}
  workers: 1
  instances:
    ns2: { listen: [${ns2Host}:${ports.ns2}] }
edgeDefaults:
  port: ${edgePort}
  health: { path: /healthz, interval: ${INTERVAL_MS}ms, timeout: ${INTERVAL_MS}ms, rise: 1, fall: ${FALL} }
edges:
  london: { addresses: [${london}], location: { lat: 51.5, lon: -0.1 } }
  tokyo: { addresses: [${tokyo}], location: { lat: 35.7, lon: 139.7 } }
  newyork: { addresses: [${newyork}], location: { lat: 40.7, lon: -74.0 } }
pools:
  www.cdn.test: { policy: geo-nearest, edges: [london, tokyo, newyork], ttl: 20, answers: 2 }
geo:
  databases: none
  networks:
    - { cidr: 10.1.0.0/16, location: { lat: 48.9, lon: 2.4 } }
    - { cidr: 10.2.0.0/16, location: { lat: 37.6, lon: 127.0 } }
    - { cidr: 10.3.0.0/16, location: { lat: 41.9, lon: -87.6 } }
    - { cidr: 10.4.0.0/16, location: { lat: -33.9, lon: 151.2 } }
    - { cidr: 10.5.0.0/16, edge: london }
`,
  );
  [ns1, ns2] = await Promise.all([startDnsFromFile(file, []), startDnsFromFile(file, ['--name', 'ns2'])]);
  servers.push(ns1, ns2);
});
afterAll(() => {
  for (const s of servers) s.child.kill('SIGTERM');
  for (const e of edges.values()) e.close();
  rmSync(dir, { recursive: true, force: true });
});

async function answer(ns: DnsFromFile, host: string, subnet: string): Promise<string> {
  const { stdout } = await run('dig', [`@${host}`, '-p', String(ns.port), '+short', '+time=2', '+tries=1', `+subnet=${subnet}`, 'www.cdn.test', 'A']);
  return stdout.trim().split('\n').join(',');
}

/** Every client network's answer from ns1 and from ns2. */
async function answers(): Promise<{ ns1: string[]; ns2: string[] }> {
  return {
    ns1: await Promise.all(CLIENTS.map((c) => answer(ns1, ns1Host, c))),
    ns2: await Promise.all(CLIENTS.map((c) => answer(ns2, ns2Host, c))),
  };
}

describe('two name servers from one file (dns.instances, --name)', () => {
  it('each listens where its entry says', () => {
    expect(ns1.child.pid).not.toBe(ns2.child.pid);
    // The start-up line (the per-listener log lines are at debug).
    expect(ns2.listening).toBe(`${ns2Host}:${ns2.port}`);
    expect(ns1.listening).toBe(`${ns1Host}:${ns1.port}`);
  });

  it('agree on every steered answer, and both move off a dead edge within interval x fall', async () => {
    const before = await answers();
    expect(before.ns1).toEqual(before.ns2);
    // Paris is nearest London, then New York; Seoul: Tokyo first; pinned 10.5/16: London first.
    expect(before.ns1.slice(0, 3)).toEqual([`${london},${newyork}`, `${tokyo},${london}`, `${newyork},${london}`]);
    expect(before.ns1[4]!.startsWith(`${london},`)).toBe(true);

    await new Promise<void>((done) => edges.get('london')!.close(() => done()));
    const killed = Date.now();
    const moved = async (): Promise<boolean> => {
      const now = await answers();
      return [...now.ns1, ...now.ns2].every((a) => !a.includes(london));
    };
    // Each instance probes on its own: both must have seen `fall` failures, one interval apart (a closed
    // port is refused at once, so the probe timeout does not add; plus slack for a machine shared with
    // other test runs). The timeout (as long as the interval allows) keeps the live edges up when that machine is slow.
    await expect.poll(moved, { timeout: INTERVAL_MS * FALL + 3_000, interval: 50 }).toBe(true);
    expect(Date.now() - killed).toBeLessThan(INTERVAL_MS * FALL + 3_000);

    const after = await answers();
    expect(after.ns1).toEqual(after.ns2);
    expect(after.ns1.slice(0, 3)).toEqual([`${newyork},${tokyo}`, `${tokyo},${newyork}`, `${newyork},${tokyo}`]);
  });

  it('refuses a --name the file does not have, naming the file and key', async () => {
    const failed = await run(process.execPath, ['bin/dnscdn.js', 'dns', '--config', file, '--name', 'ns3']).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`${file} (dns.instances): no instance "ns3" (--name); the file names: ns2`);
  });
});
