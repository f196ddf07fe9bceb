/**
 * End-to-end zone transfer out: AXFR/IXFR over TCP to the allowTransfer ACL (dig and our own client),
 * and Knot DNS (`knotd`, Debian package `knot`) as a real secondary on 127.0.0.77 that bootstraps
 * cdn.test from us and picks up a change through our NOTIFY.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { RCODE, type Message } from '../../src/dns/types.js';
import { query, tcpQueries, udpQuery } from '../dns/query-client.js';
import { freePortOn, privateLoopback } from '../net/loopback.js';
import { startKnotSecondary, type KnotSecondary } from './knot-secondary.js';

const run = promisify(execFile);
/** Knot's port is written into its config before it starts, so it is found free on an address of this test's own (test/net/loopback.ts). */
const KNOT_HOST = privateLoopback();
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-transfer-'));
const zonesDir = join(dir, 'zones');
const knotDir = join(dir, 'knot');
let server: DnsServer;
let port: number;
let knotPort: number;
let knot: KnotSecondary | undefined;

beforeAll(async () => {
  cpSync('zones', zonesDir, { recursive: true });
  knotPort = await freePortOn(KNOT_HOST);
  server = await startDnsServer({
    zonesDir,
    watchZones: false,
    listen: [{ host: '127.0.0.1', port: 0 }],
    allowTransfer: ['127.0.0.1/32'],
    notify: [{ host: KNOT_HOST, port: knotPort }],
  });
  port = server.addresses[0]!.port;
});
afterAll(async () => {
  await knot?.stop();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['+time=2', '+tries=1', ...args]);
  return stdout;
}

/** Records of a dig output, TTL dropped, comments and blank lines skipped. */
function records(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(';'))
    .map((l) => l.split(/\s+/).filter((_, i) => i !== 1).join(' '));
}

describe('AXFR and IXFR out', () => {
  it('dig AXFR: the SOA, every record of the zone (glue, delegation, wildcard included), the SOA again', async () => {
    const out = records(await dig('@127.0.0.1', '-p', String(port), 'cdn.test', 'AXFR'));
    const soa = 'cdn.test. IN SOA ns1.cdn.test. hostmaster.cdn.test. 2024060101 3600 600 604800 60';
    expect(out[0]).toBe(soa);
    expect(out.at(-1)).toBe(soa);
    expect(out.filter((r) => r === soa)).toHaveLength(2);
    expect(out).toEqual(expect.arrayContaining(['rr.cdn.test. IN A 127.0.0.13', 'sub.cdn.test. IN NS ns1.sub.cdn.test.', 'ns1.sub.cdn.test. IN A 127.0.0.53', '*.wild.cdn.test. IN A 127.0.0.80', '21.reverse.cdn.test. IN PTR api.cdn.test.']));
    expect(out).toHaveLength(32);
  });

  it('refuses clients outside the ACL and transfers over UDP; NOTAUTH below the apex', async () => {
    expect(await dig('@127.0.0.1', '-p', String(port), '-b', '127.0.0.2', 'cdn.test', 'AXFR')).toContain('Transfer failed');
    expect((await udpQuery(port, query('cdn.test', 'AXFR'))).rcode).toBe(RCODE.REFUSED);
    const [below] = await tcpQueries(port, [query('rr.cdn.test', 'AXFR')]);
    expect(below!.rcode).toBe(RCODE.NOTAUTH);
  });

  it('IXFR: our SOA alone when the client is up to date, the whole zone when it is behind (RFC 1995 §2, §4)', async () => {
    const ixfr = (serial: number): Message => {
      const q = query('cdn.test', 'IXFR');
      q.authorities = [{ name: 'cdn.test', type: 'SOA', ttl: 0, class: 'IN', data: { mname: 'ns1.cdn.test', rname: 'hostmaster.cdn.test', serial, refresh: 0, retry: 0, expire: 0, minimum: 0 } }];
      return q;
    };
    const [current] = await tcpQueries(port, [ixfr(2024060101)]);
    expect(current!.answers.map((r) => r.type)).toEqual(['SOA']);
    const [behind] = await tcpQueries(port, [ixfr(2024060100)]);
    expect(behind!.answers).toHaveLength(32);
  });
});

describe('Knot DNS as a secondary', () => {
  async function knotAnswers(name: string): Promise<string[]> {
    try {
      const reply = await udpQuery(knotPort, query(name, 'A'), KNOT_HOST);
      return reply.answers.map((r) => String(r.data)).sort();
    } catch {
      return [];
    }
  }
  async function waitForKnot(name: string, want: number): Promise<string[]> {
    for (let i = 0; i < 100; i++) {
      const got = await knotAnswers(name);
      if (got.length === want) return got;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`knot never answered ${want} records for ${name}: ${knot?.log() ?? ''}`);
  }

  it('bootstraps cdn.test by AXFR from us, then follows our NOTIFY after a change', async () => {
    knot = startKnotSecondary({ dir: knotDir, host: KNOT_HOST, port: knotPort, primaryPort: port });

    expect(await waitForKnot('rr.cdn.test', 3)).toEqual(['127.0.0.11', '127.0.0.12', '127.0.0.13']);
    const ours = records(await dig('@127.0.0.1', '-p', String(port), 'rr.cdn.test', 'A')).sort();
    const theirs = records(await dig(`@${KNOT_HOST}`, '-p', String(knotPort), 'rr.cdn.test', 'A')).sort();
    expect(theirs).toEqual(ours);

    // A new serial and a fourth address: Knot's refresh timer is an hour, so only our NOTIFY can bring it over.
    const file = join(zonesDir, 'cdn.test.zone');
    writeFileSync(file, readFileSync(file, 'utf8').replace('2024060101 ; serial', '2024060102 ; serial').replace('IN  A   127.0.0.13', 'IN  A   127.0.0.13\n            IN  A   127.0.0.14'));
    await server.reload();
    expect(await waitForKnot('rr.cdn.test', 4)).toEqual(['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14']);
    expect(knot!.log()).toMatch(/notify, incoming, remote 127\.0\.0\.1@\d+, serial 2024060102/);
  });
});
