/**
 * Query visibility end to end (issue 13 item 7): the latency histogram and the qtype label over a real
 * server's /metrics, and the query log of `dnscdn dns --query-log-sample` as a user reads it (a child
 * process, dig, its stderr).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { query, tcpQueries, udpExchange, udpQuery } from '../dns/query-client.js';
import { queryLogLines } from './dns-cli.js';
import { scrapeMetrics } from './prometheus-scrape.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-visibility-'));
let server: DnsServer;
let port: number;
let metricsUrl: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  cpSync('zones', dir, { recursive: true });
  server = await startDnsServer({ zonesDir: dir, watchZones: false, listen: [{ host: '127.0.0.1', port: 0 }], metricsListen: { host: '127.0.0.1', port: 0 } });
  port = server.addresses[0]!.port;
  metricsUrl = `http://127.0.0.1:${server.metricsAddress!.port}/metrics`;
});
afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const scrape = (): Promise<Map<string, number>> => scrapeMetrics(metricsUrl);

describe('dnscdn_dns_request_duration_seconds and dnscdn_dns_queries_total{qtype}', () => {
  it('counts every query once in the histogram and under its question type', async () => {
    for (let i = 0; i < 3; i++) await udpQuery(port, query('rr.cdn.test', 'A')); // general path, then the fast path
    await udpQuery(port, query('rr.cdn.test', 'AAAA'));
    await udpQuery(port, query('cdn.test', 'MX'));
    await udpQuery(port, query('cdn.test', 'CAA')); // type 257: past the one-byte types
    await udpQuery(port, query('cdn.test', 'HINFO')); // not in the table: OTHER
    await udpQuery(port, query('nope.cdn.test', 'A', { edns: {} })); // NXDOMAIN
    await tcpQueries(port, [query('www.cdn.test', 'A'), query('cdn.test', 'SOA')]);
    await udpExchange(port, Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9])); // FORMERR, no readable question: OTHER
    const sent = 11;

    const m = await scrape();
    expect(m.get('dnscdn_dns_request_duration_seconds_count{role="dns"}')).toBe(sent);
    expect(m.get('dnscdn_dns_request_duration_seconds_bucket{le="+Inf",role="dns"}')).toBe(sent);
    // Cumulative buckets never go down, and every local query is well under the top bucket (5 s).
    const buckets = [...m].filter(([k]) => k.startsWith('dnscdn_dns_request_duration_seconds_bucket{le="') && !k.includes('+Inf')).map(([, v]) => v);
    expect(buckets.length).toBe(16);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!).toBeGreaterThanOrEqual(buckets[i - 1]!);
    expect(buckets.at(-1)).toBe(sent);
    expect(m.get('dnscdn_dns_request_duration_seconds_sum{role="dns"}')).toBeGreaterThan(0);

    const byQtype = Object.fromEntries([...m].filter(([k]) => k.startsWith('dnscdn_dns_queries_total{')).map(([k, v]) => [k.replace(/,role="dns"/, ''), v]));
    expect(byQtype).toEqual({
      'dnscdn_dns_queries_total{transport="udp",qtype="A"}': 4,
      'dnscdn_dns_queries_total{transport="udp",qtype="AAAA"}': 1,
      'dnscdn_dns_queries_total{transport="udp",qtype="MX"}': 1,
      'dnscdn_dns_queries_total{transport="udp",qtype="CAA"}': 1,
      'dnscdn_dns_queries_total{transport="udp",qtype="OTHER"}': 2,
      'dnscdn_dns_queries_total{transport="tcp",qtype="A"}': 1,
      'dnscdn_dns_queries_total{transport="tcp",qtype="SOA"}': 1,
    });
  });
});

/** Starts `dnscdn dns ...args`; resolves with its DNS port once it listens, and a reader of its stderr so far. */
async function startCli(args: string[]): Promise<{ port: number; stderr: () => string }> {
  // At info (tests run at warn) the start-up line names the port; the query log is written whatever the level.
  const child = spawn(process.execPath, ['bin/dnscdn.js', 'dns', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DNSCDN_LOG: 'info' } });
  children.push(child);
  let stderr = '';
  const exited = once(child, 'exit').then(() => {
    throw new Error(`dnscdn dns exited: ${stderr}`);
  });
  exited.catch(() => undefined); // after start-up an exit is afterAll's business
  // Started from flags the port is in the "dns server started" log line; from a file, in the start-up line on stdout.
  let stdout = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  for (;;) {
    await Promise.race([once(child.stderr!, 'data'), once(child.stdout!, 'data'), exited]);
    const m = /(?:dns server started listen|dns listening on)=?\s?127\.0\.0\.1:(\d+)/.exec(stderr + stdout);
    if (m) {
      return { port: Number(m[1]), stderr: () => stderr };
    }
  }
}

async function dig(at: number, ...args: string[]): Promise<string> {
  return (await run('dig', ['@127.0.0.1', '-p', String(at), '+time=3', '+tries=1', ...args])).stdout;
}

const queryLines = queryLogLines;

describe('dnscdn dns --query-log-sample', () => {
  it('with 1 logs one line per query: client, qname, qtype, rcode, answer, handler, duration', async () => {
    // One process: the second query finds the first one's encoded answer (caches are per worker).
    const cli = await startCli(['--zones', dir, '--listen', '127.0.0.1:0', '--workers', '1', '--query-log-sample', '1']);
    await dig(cli.port, 'www.cdn.test', 'A');
    await dig(cli.port, 'www.cdn.test', 'A'); // the fast path this time
    await dig(cli.port, 'nope.cdn.test', 'AAAA');
    await dig(cli.port, '+tcp', 'cdn.test', 'MX');
    await expect.poll(() => queryLines(cli.stderr()).length).toBe(4);
    const lines = queryLines(cli.stderr());
    for (const line of lines) {
      expect(line.client).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(Number(line.duration)).toBeGreaterThan(0);
    }
    const strip = ({ client: _c, duration: _d, ...rest }: Record<string, string>): Record<string, string> => rest;
    expect(lines.map(strip)).toEqual([
      { transport: 'udp', qname: 'www.cdn.test', qtype: 'A', rcode: 'NOERROR', answer: '127.0.0.11,127.0.0.12', handler: 'authority' },
      { transport: 'udp', qname: 'www.cdn.test', qtype: 'A', rcode: 'NOERROR', answer: expect.stringMatching(/^127\.0\.0\.1[12],127\.0\.0\.1[12]$/) as unknown as string, handler: 'fastpath' },
      { transport: 'udp', qname: 'nope.cdn.test', qtype: 'AAAA', rcode: 'NXDOMAIN', answer: '', handler: 'authority' },
      { transport: 'tcp', qname: 'cdn.test', qtype: 'MX', rcode: 'NOERROR', answer: 'MX', handler: 'authority' },
    ]);
  });

  it('names the steering decision for a steered name (dnscdn.yaml: geo-nearest by client subnet)', async () => {
    const cli = await startCli(['--config', 'dnscdn.yaml', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--workers', '1', '--query-log-sample', '1']);
    await dig(cli.port, '+subnet=192.0.2.0/24', 'www.cdn.test', 'A');
    // A located network (dnscdn.yaml pins 192.168.0.0/16 to london): its answer is kept encoded, so the
    // second query is a steered fast-path hit.
    await dig(cli.port, '+subnet=192.168.7.0/24', 'www.cdn.test', 'A');
    await dig(cli.port, '+subnet=192.168.7.0/24', 'www.cdn.test', 'A');
    await expect.poll(() => queryLines(cli.stderr()).length).toBe(3);
    const [line, general, fast] = queryLines(cli.stderr());
    expect(line).toMatchObject({ qname: 'www.cdn.test', qtype: 'A', rcode: 'NOERROR', handler: 'authority', steering: 'www.cdn.test' });
    // The decision: steering generation / ECS scope / the edges in answer order; the answer is that edge's address.
    expect(line!.decision).toMatch(/^\d+\/24\/[a-z]+$/);
    expect(line!.answer).toMatch(/^127\.0\.0\.\d+$/);
    // From encoded bytes: the same pool, decision and answer are named.
    expect(general).toMatchObject({ handler: 'authority', steering: 'www.cdn.test', decision: expect.stringMatching(/^\d+\/16\/london$/) as unknown as string, answer: '127.0.0.11' });
    expect(fast).toMatchObject({ handler: 'fastpath', steering: 'www.cdn.test', decision: general!.decision, answer: '127.0.0.11' });
  });

  it('without the flag logs nothing', async () => {
    const cli = await startCli(['--zones', dir, '--listen', '127.0.0.1:0']);
    await dig(cli.port, 'www.cdn.test', 'A');
    await dig(cli.port, 'rr.cdn.test', 'A');
    expect(queryLines(cli.stderr())).toEqual([]);
  });

  it.each(['1.5', '-0.1', 'often'])('refuses --query-log-sample %s with the flag and the range', async (value) => {
    const failed = await run(process.execPath, ['bin/dnscdn.js', 'dns', '--zones', dir, '--listen', '127.0.0.1:0', '--query-log-sample', value]).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).not.toBe(0);
    expect(failed?.stderr).toContain(`--query-log-sample: "${value}" is not a number from 0 to 1`);
  });
});
