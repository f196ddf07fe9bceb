/** End-to-end: the DNS server's Prometheus metrics over HTTP, fed by real queries over UDP and TCP. */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { query, tcpQueries, udpExchange, udpQuery } from '../dns/query-client.js';
import { scrapeMetrics } from './prometheus-scrape.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-metrics-'));
let server: DnsServer;
let port: number;
let metricsUrl: string;

beforeAll(async () => {
  cpSync('zones', dir, { recursive: true });
  server = await startDnsServer({ zonesDir: dir, watchZones: false, listen: [{ host: '127.0.0.1', port: 0 }], metricsListen: { host: '127.0.0.1', port: 0 }, maxTcpConnections: 2 });
  port = server.addresses[0]!.port;
  metricsUrl = `http://127.0.0.1:${server.metricsAddress!.port}`;
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One sample's value from Prometheus text, by its full name with labels as printed (role label first). */
const scrape = (): Promise<Map<string, number>> => scrapeMetrics(`${metricsUrl}/metrics`);

describe('GET /metrics and /healthz', () => {
  it('counts queries by transport, handler and rcode, fast-path hits, FORMERR, drops and truncation', async () => {
    for (let i = 0; i < 3; i++) await udpQuery(port, query('rr.cdn.test', 'A', { edns: {} })); // 1 general + 2 fast path
    await udpQuery(port, query('nope.cdn.test', 'A')); // NXDOMAIN
    await udpQuery(port, query('elsewhere.example', 'A')); // REFUSED
    await udpQuery(port, query('big.cdn.test', 'TXT')); // truncated
    await tcpQueries(port, [query('big.cdn.test', 'TXT')]); // fast path: the UDP query above kept the whole reply encoded
    await udpExchange(port, Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9])); // header, then garbage: FORMERR
    await udpExchange(port, Buffer.from([1, 2, 3]), '127.0.0.1', 200); // no header: dropped
    const m = await scrape();
    expect(m.get('dnscdn_dns_queries_total{transport="udp",qtype="A",role="dns"}')).toBe(5);
    expect(m.get('dnscdn_dns_queries_total{transport="udp",qtype="TXT",role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_queries_total{transport="udp",qtype="OTHER",role="dns"}')).toBe(2); // the FORMERR and the dropped packet
    expect(m.get('dnscdn_dns_queries_total{transport="tcp",qtype="TXT",role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_handled_total{handler="fastpath",role="dns"}')).toBe(3);
    expect(m.get('dnscdn_dns_fastpath_hits_total{role="dns"}')).toBe(3);
    expect(m.get('dnscdn_dns_handled_total{handler="authority",role="dns"}')).toBe(3);
    expect(m.get('dnscdn_dns_handled_total{handler="refused",role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_responses_total{rcode="NOERROR",role="dns"}')).toBe(5);
    expect(m.get('dnscdn_dns_responses_total{rcode="NXDOMAIN",role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_responses_total{rcode="REFUSED",role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_responses_total{rcode="FORMERR",role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_formerr_total{role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_dropped_total{role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_truncated_total{role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_zone_serial{zone="cdn.test",role="dns"}')).toBe(2024060101);
    expect(m.get('dnscdn_dns_zone_loads_total{result="ok",role="dns"}')).toBe(1);
  });

  it('counts TCP connections open and refused at the cap', async () => {
    const open = await Promise.all([0, 1].map(() => new Promise<ReturnType<typeof connect>>((resolve) => { const s = connect(port, '127.0.0.1', () => resolve(s)); })));
    // The client's connect fires before the server's accept: wait until the server holds both.
    for (let i = 0; i < 50 && (await scrape()).get('dnscdn_dns_tcp_connections_open{role="dns"}') !== 2; i++) await new Promise((r) => setTimeout(r, 10));
    const third = connect(port, '127.0.0.1');
    third.on('error', () => undefined);
    await new Promise((resolve) => third.once('close', resolve));
    const m = await scrape();
    expect(m.get('dnscdn_dns_tcp_connections_open{role="dns"}')).toBe(2);
    expect(m.get('dnscdn_dns_tcp_connections_refused_total{reason="listener_cap",role="dns"}')).toBe(1);
    for (const s of open) s.destroy();
  });

  it('counts zone reloads that fail and keeps the last good serial', async () => {
    writeFileSync(join(dir, 'cdn.test.zone'), '$ORIGIN cdn.test.\n@ IN A not-an-address\n');
    await server.reload();
    const m = await scrape();
    expect(m.get('dnscdn_dns_zone_loads_total{result="failed",role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_zone_serial{zone="cdn.test",role="dns"}')).toBe(2024060101);
    const { stdout } = await run('curl', ['-sf', `${metricsUrl}/healthz`]);
    expect(JSON.parse(stdout)).toEqual({ status: 'ok', zones: 1 });
    const notFound = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${metricsUrl}/nope`]);
    expect(notFound.stdout).toBe('404');
    expect((await udpExchange(port, encodeMessage(query('rr.cdn.test', 'A'))))).toBeDefined();
  });
});
