/**
 * `dnscdn dns --workers 2` as a user runs it (a child process, dig, curl; issue 13 item 3): both workers
 * answer (the query log names two worker ids), /metrics on the one admin listener sums them, edge health
 * probed once in the primary reaches both (a dead edge leaves the answers of both), a SIGHUP reload
 * reaches both, and a killed worker is restarted while the other keeps answering.
 * The edges are two small HTTP servers of this test on private loopback addresses; killing one is closing it.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectUdpSocketMode } from '../../src/dns/workers/socket-mode.js';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';
import { queryLogLines, startDnsFromFile, type DnsFromFile } from './dns-cli.js';
import { scrapeMetrics } from './prometheus-scrape.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-workers-'));
const zoneFile = join(dir, 'zones', 'cdn.test.zone');
const [hostA, hostB] = privateLoopbacks(2) as [string, string];
/**
 * Health: a probe every 500 ms, down after 2 failures: a dead (refused) edge leaves the answers within
 * ~1 s. The timeout (as long as the interval allows) keeps the live edge up on a loaded machine.
 */
const INTERVAL_MS = 500;
const FALL = 2;
const edges = new Map<string, Server>();
let dns: DnsFromFile;

function startEdge(host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end());
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

beforeAll(async () => {
  cpSync('zones', join(dir, 'zones'), { recursive: true });
  const [portA, portB] = [await freePortOn(hostA), await freePortOn(hostB)];
  edges.set('a', await startEdge(hostA, portA));
  edges.set('b', await startEdge(hostB, portB));
  const file = join(dir, 'dnscdn.yaml');
  writeFileSync(
    file,
    `dns:
  listen: 127.0.0.1:0
  zones: zones/
  workers: 2
  queryLogSample: 1
edgeDefaults:
  health: { path: /healthz, interval: ${INTERVAL_MS}ms, timeout: ${INTERVAL_MS}ms, rise: 1, fall: ${FALL} }
edges:
  a: { addresses: [${hostA}], port: ${portA}, location: { lat: 51.5, lon: -0.1 } }
  b: { addresses: [${hostB}], port: ${portB}, location: { lat: 35.7, lon: 139.7 } }
pools:
  www.cdn.test: { policy: failover, edges: [a, b], ttl: 20, answers: 1 }
geo:
  databases: none
`,
  );
  // dns.workers: 2 from the file; the admin listener from the flag (port 0).
  dns = await startDnsFromFile(file, ['--admin-listen', '127.0.0.1:0']);
});
afterAll(async () => {
  dns?.child.kill('SIGTERM');
  for (const server of edges.values()) server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function dig(...args: string[]): Promise<string> {
  return (await run('dig', ['@127.0.0.1', '-p', String(dns.port), '+short', '+time=2', '+tries=1', ...args])).stdout.trim();
}

/** `count` queries over TCP (the primary hands connections to the workers in turn) and `count` over UDP. */
async function askBoth(count: number, ...args: string[]): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < count; i++) answers.push(await dig('+tcp', ...args), await dig(...args));
  return answers;
}

/** Worker ids of the query-log lines after line `from` that match `where`. */
function workersSince(from: number, where: (line: Record<string, string>) => boolean): Set<string> {
  return new Set(queryLogLines(dns.stderr()).slice(from).filter(where).map((l) => l.worker!));
}

interface HealthBody {
  workers: Array<{ id: number; pid: number; ready: boolean }>;
  edges: Array<{ edge: string; status: string }>;
}

async function healthz(): Promise<HealthBody> {
  return JSON.parse((await run('curl', ['-sf', `${dns.admin}/healthz`])).stdout) as HealthBody;
}

describe('dnscdn dns --workers 2', () => {
  it('answers dig from both workers: the query log names two worker ids', async () => {
    expect(dns.stderr()).toMatch(/dns workers started workers=2 socket=(shared|reuseport)/);
    const answers = await askBoth(4, 'www.cdn.test', 'A');
    expect(new Set(answers)).toEqual(new Set([hostA]));
    const lines = queryLogLines(dns.stderr());
    expect(lines).toHaveLength(8);
    expect(new Set(lines.map((l) => l.worker))).toEqual(new Set(['1', '2']));
  });

  it('serves the metrics of both workers, summed, on the one admin listener, with the socket mode', async () => {
    const lines = queryLogLines(dns.stderr());
    const tcpA = lines.filter((l) => l.transport === 'tcp' && l.qtype === 'A');
    expect(new Set(tcpA.map((l) => l.worker)).size).toBe(2); // both workers count some of them
    const m = await scrapeMetrics(`${dns.admin}/metrics`);
    expect(m.get('dnscdn_dns_queries_total{transport="tcp",qtype="A",role="dns"}')).toBe(tcpA.length);
    expect(m.get('dnscdn_dns_queries_total{transport="udp",qtype="A",role="dns"}')).toBe(lines.length - tcpA.length);
    expect(m.get('dnscdn_dns_workers{role="dns"}')).toBe(2);
    // The workers' process_*/nodejs_* metrics, aggregated, and no family twice (a scrape would refuse the page).
    const families = [...(await run('curl', ['-sf', `${dns.admin}/metrics`])).stdout.matchAll(/^# HELP (\S+)/gm)].map((f) => f[1]!);
    expect(families.filter((f, i) => families.indexOf(f) !== i)).toEqual([]);
    expect(families.some((f) => f.startsWith('process_'))).toBe(true);
    // The same zone in both: its serial once (the aggregator takes the max), not twice.
    expect(m.get('dnscdn_dns_zone_serial{zone="cdn.test",role="dns"}')).toBe(2024060101);
    const mode = await detectUdpSocketMode();
    expect(m.get(`dnscdn_dns_socket_mode{mode="${mode}",role="dns"}`)).toBe(1);
    expect(dns.stderr()).toContain(`socket=${mode}`);
    // Health is probed in the primary only: its metrics are there once.
    expect(m.get('dnscdn_edge_up{edge="a",role="dns"}')).toBe(1);
  });

  it('a SIGHUP reload reaches both workers', async () => {
    const zone = readFileSync(zoneFile, 'utf8').replace('2024060101 ; serial', '2024060102 ; serial');
    writeFileSync(zoneFile, `${zone}\nadded IN A 192.0.2.77\n`);
    dns.child.kill('SIGHUP');
    await expect.poll(() => (dns.stderr().match(/dns reload from the primary/g) ?? []).length, { timeout: 5_000 }).toBe(2);
    const from = queryLogLines(dns.stderr()).length;
    await expect.poll(async () => new Set(await askBoth(2, 'added.cdn.test', 'A')), { timeout: 5_000 }).toEqual(new Set(['192.0.2.77']));
    expect(workersSince(from, (l) => l.qname === 'added.cdn.test' && l.rcode === 'NOERROR')).toEqual(new Set(['1', '2']));
  });

  it('a dead edge leaves the answers of both workers: health is probed once and forwarded', async () => {
    await new Promise<void>((resolve) => edges.get('a')!.close(() => resolve()));
    const killed = Date.now();
    // Within interval x fall (plus one probe timeout and the scheduling of a loaded machine).
    await expect.poll(async () => (await healthz()).edges.find((e) => e.edge === 'a')?.status, { timeout: INTERVAL_MS * FALL + 3_000, interval: 50 }).toBe('down');
    const from = queryLogLines(dns.stderr()).length;
    expect(new Set(await askBoth(4, 'www.cdn.test', 'A'))).toEqual(new Set([hostB]));
    expect(workersSince(from, (l) => l.qname === 'www.cdn.test' && l.answer === hostB)).toEqual(new Set(['1', '2']));
    expect(Date.now() - killed).toBeLessThan(10_000);
  });

  it('restarts a killed worker while the other keeps answering; the new one gets the health state', async () => {
    const before = await healthz();
    expect(before.workers.filter((w) => w.ready)).toHaveLength(2);
    const victim = before.workers[0]!;
    process.kill(victim.pid, 'SIGKILL');
    // The other worker answers at once, over UDP and TCP.
    expect(new Set(await askBoth(3, 'www.cdn.test', 'A'))).toEqual(new Set([hostB]));
    await expect.poll(async () => (await healthz()).workers.filter((w) => w.ready && w.pid !== victim.pid).length, { timeout: 5_000 }).toBe(2);
    const after = await healthz();
    const fresh = after.workers.find((w) => !before.workers.some((b) => b.id === w.id))!;
    expect(fresh.id).toBe(3); // node:cluster numbers workers 1, 2, then 3 for the restarted one
    expect(dns.stderr()).toMatch(/dns worker died; the others keep answering, and it is restarted worker=1 .*exit=SIGKILL/);
    const m = await scrapeMetrics(`${dns.admin}/metrics`);
    expect(m.get('dnscdn_dns_worker_restarts_total{reason="exited",role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_worker_restarts_total{reason="unresponsive",role="dns"}')).toBe(0);
    // The restarted worker steers with the primary's health: edge a is still down for it too.
    const from = queryLogLines(dns.stderr()).length;
    expect(new Set(await askBoth(4, 'www.cdn.test', 'A'))).toEqual(new Set([hostB]));
    expect(workersSince(from, () => true)).toEqual(new Set(['2', '3']));
  });
});

describe('dnscdn dns --workers 2 that cannot start', () => {
  it('fails the start when a worker dies before every worker is ready, instead of restarting it in a loop', async () => {
    const failed = await run(process.execPath, ['bin/dnscdn.js', 'dns', '--zones', '/nonexistent/dnscdn-zones', '--listen', '127.0.0.1:0', '--workers', '2'], { timeout: 20_000 }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/ENOENT.*\/nonexistent\/dnscdn-zones/); // the worker's own error
    expect(failed?.stderr).toMatch(/dnscdn: dns worker \d exited during start-up \(code 1\)/);
  });
});
