/**
 * Response-rate limiting end to end, over real loopback sockets: one /24 (127.0.0.2) floods over UDP and
 * gets truncated slips for 1/slip of its limited answers and nothing for the rest, while another /24
 * (127.1.0.3) is answered in full, and TCP from the flooding network is never limited. Uses dig as a
 * user would: it retries a slip over TCP by itself.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RrlSettings } from '../../src/dns/rrl.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { decodeReply, query } from '../dns/query-client.js';

const run = promisify(execFile);
const RRL: RrlSettings = { responsesPerSecond: 10, slip: 2, window: 5, ipv4Prefix: 24, ipv6Prefix: 56, exempt: [] };
const FLOOD = 300;

let server: DnsServer;
let port: number;

beforeAll(async () => {
  server = await startDnsServer({ zonesDir: 'zones', watchZones: false, listen: [{ host: '127.0.0.1', port: 0 }], rrl: RRL });
  port = server.addresses[0]!.port;
});
afterAll(async () => {
  await server.close();
});

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await server.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value ?? 0;
}

/** Sends `count` queries for www.cdn.test A from `source` over UDP at once; collects replies until quiet. */
async function flood(source: string, count: number): Promise<{ full: number; truncated: number }> {
  const socket = createSocket('udp4');
  socket.bind(0, source);
  await once(socket, 'listening');
  let full = 0;
  let truncated = 0;
  let lastReply = Date.now();
  socket.on('message', (msg) => {
    const reply = decodeReply(msg);
    lastReply = Date.now();
    if (reply.flags.tc) {
      expect(reply.answers).toHaveLength(0);
      truncated++;
    } else {
      expect(reply.answers).toHaveLength(2);
      full++;
    }
  });
  for (let i = 0; i < count; i++) {
    socket.send(encodeMessage(query('www.cdn.test', 'A', { id: i })), port, '127.0.0.1');
    // A breath every 25 datagrams so that the server's receive buffer does not overflow on a loaded machine.
    if (i % 25 === 24) await new Promise((r) => setImmediate(r));
  }
  // Quiet for 300 ms after the last reply: the dropped answers are not coming.
  while (Date.now() - lastReply < 300) await new Promise((r) => setTimeout(r, 50));
  socket.close();
  return { full, truncated };
}

async function dig(source: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '-b', source, '+time=2', '+tries=1', ...args]);
  return stdout;
}

describe('response-rate limiting', () => {
  it('slips 1/slip of a flooding /24s limited answers, drops the rest, and answers another /24 in full', async () => {
    const fastPathBefore = await counter('dnscdn_dns_fastpath_hits_total');
    const { full, truncated } = await flood('127.0.0.2', FLOOD);
    const received = await counter('dnscdn_dns_queries_total', { transport: 'udp' });
    const limited = await counter('dnscdn_dns_rrl_limited_total');
    const slipped = await counter('dnscdn_dns_rrl_slipped_total');
    const dropped = await counter('dnscdn_dns_rrl_dropped_total');

    // About one second's credit got through (more only if the flood took longer than a second to send).
    expect(full).toBeGreaterThanOrEqual(RRL.responsesPerSecond);
    expect(full).toBeLessThan(FLOOD / 4);
    expect(received).toBeGreaterThan(FLOOD / 2); // a datagram lost on a loaded machine is not the server's doing
    expect(full + limited).toBe(received);
    expect(slipped).toBe(Math.floor(limited / RRL.slip));
    expect(dropped).toBe(limited - slipped);
    expect(truncated).toBe(slipped);
    // The flood was answered from the fast path: RRL sits after it.
    expect((await counter('dnscdn_dns_fastpath_hits_total')) - fastPathBefore).toBeGreaterThan(received - 2);

    // Another /24, during the limit: full answers.
    const other = await dig('127.1.0.3', 'www.cdn.test', 'A', '+short');
    expect(other.trim().split('\n').sort()).toEqual(['127.0.0.11', '127.0.0.12']);
  });

  it('never limits TCP: the flooding /24 gets full answers over TCP, and dig retries a slip over TCP', async () => {
    await flood('127.0.0.2', FLOOD); // deep in debt for `window` seconds
    const tcp = await dig('127.0.0.2', 'www.cdn.test', 'A', '+tcp', '+short');
    expect(tcp.trim().split('\n').sort()).toEqual(['127.0.0.11', '127.0.0.12']);
    // Over UDP dig gets a slip (TC=1) or nothing; with +tries=3 and slip 2 a slip comes within two tries.
    const slippedBefore = await counter('dnscdn_dns_rrl_slipped_total');
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '-b', '127.0.0.2', '+time=1', '+tries=3', 'www.cdn.test', 'A']);
    expect(stdout).toContain('Truncated, retrying in TCP mode');
    expect(stdout).toContain('status: NOERROR');
    expect(stdout).toMatch(/www\.cdn\.test\.\s+60\s+IN\s+A\s+127\.0\.0\.11/);
    expect(await counter('dnscdn_dns_rrl_slipped_total')).toBeGreaterThan(slippedBefore);
  });
});
