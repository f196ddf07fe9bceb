/**
 * The resolver's fast path against the general path, over real loopback UDP: a dnscdn authority for
 * up.test, and two recursive servers forwarding to it on one injected clock, one with the fast path and
 * one whose resolver only offers `resolve` (every query takes the general path). Same queries, same
 * bytes, while TTLs count down; after expiry the fast path steps aside and the cache decides again.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecursionHandler } from '../../src/dns/pipeline.js';
import type { Resolver } from '../../src/dns/resolver/resolver.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import type { Message } from '../../src/dns/types.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { decodeReply, query, udpExchange } from './query-client.js';
import { hintsFor, makeResolver } from './resolver/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'dnscdn-resolver-fast-'));
writeFileSync(
  join(dir, 'up.test.zone'),
  [
    '$ORIGIN up.test.',
    '$TTL 300',
    '@ IN SOA ns hostmaster 1 3600 600 86400 120',
    '@ IN NS ns',
    'ns IN A 127.0.0.1',
    'www IN A 192.0.2.1',
    // Two records that the authority does not rotate (A would, and the two resolvers would cache different orders).
    'many 200 IN TXT "one"',
    'many 200 IN TXT "two"',
    'alias 100 IN CNAME www',
    'txt IN TXT "hello"',
    '',
  ].join('\n'),
);

const clock = { t: 1_700_000_000_000 };
let authority: DnsServer;
let fast: DnsServer;
let general: DnsServer;
let fastResolver: Resolver;

beforeAll(async () => {
  const listen = [{ host: '127.0.0.1', port: 0 }];
  authority = await startDnsServer({ listen, zonesDir: dir, watchZones: false });
  const upstream = authority.addresses[0]!.port;
  const resolver = (): Resolver =>
    makeResolver({ rootHints: hintsFor('127.0.0.99'), upstreamPort: 9, forwarders: [{ zone: 'up.test', servers: [{ host: '127.0.0.1', port: upstream }] }], now: () => clock.t });
  fastResolver = resolver();
  const reference = resolver();
  // The reference hides `cachedAnswer`: its pipeline has no resolver fast path.
  const generalOnly: RecursionHandler = { canHandle: () => true, resolve: (q) => reference.resolve(q) };
  const empty = mkdtempSync(join(tmpdir(), 'dnscdn-no-zones-'));
  const allowRecursion = ['127.0.0.0/8'];
  fast = await startDnsServer({ listen, zonesDir: empty, watchZones: false, recursion: fastResolver, allowRecursion });
  general = await startDnsServer({ listen, zonesDir: empty, watchZones: false, recursion: generalOnly, allowRecursion });
});

afterAll(async () => {
  await fast?.close();
  await general?.close();
  await authority?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function both(bytes: Buffer): Promise<[Buffer, Buffer]> {
  const ask = async (server: DnsServer): Promise<Buffer> => {
    const reply = await udpExchange(server.addresses[0]!.port, bytes);
    if (!reply) throw new Error('no reply');
    return reply;
  };
  return [await ask(fast), await ask(general)];
}

const QUESTIONS: Array<[string, 'A' | 'TXT' | 'MX' | 'AAAA']> = [
  ['www.up.test', 'A'],
  ['many.up.test', 'TXT'],
  ['alias.up.test', 'A'],
  ['txt.up.test', 'TXT'],
  ['www.up.test', 'MX'], // NODATA with the SOA
  ['nope.up.test', 'AAAA'], // NXDOMAIN with the SOA
];

/** Query shapes: without and with EDNS, DO, CD, and 0x20 case. */
function shapes(name: string, type: 'A' | 'TXT' | 'MX' | 'AAAA'): Array<[string, Message]> {
  const cd = query(name, type, { rd: true, edns: {}, id: 42 });
  cd.flags.cd = true;
  const mixed = [...name].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
  return [
    ['no EDNS', query(name, type, { rd: true, id: 42 })],
    ['EDNS', query(name, type, { rd: true, edns: {}, id: 42 })],
    ['DO', query(name, type, { rd: true, edns: { dnssecOk: true }, id: 42 })],
    ['CD', cd],
    ['0x20', query(mixed, type, { rd: true, edns: {}, id: 42 })],
  ];
}

describe('resolver cache hits on the fast path', () => {
  it('give the general path’s bytes while TTLs count down, and step aside once entries expire', async () => {
    const round = async (): Promise<number> => {
      const before = fast.stats.byHandler.fastpath!;
      for (const [name, type] of QUESTIONS) {
        for (const [shape, m] of shapes(name, type)) {
          const [f, g] = await both(encodeMessage(m));
          expect(f.equals(g), `${name} ${type} ${shape}: ${f.toString('hex')} vs ${g.toString('hex')}`).toBe(true);
        }
      }
      return fast.stats.byHandler.fastpath! - before;
    };
    const hitsBefore = fastResolver.metrics.snapshot().cacheHits;
    await round(); // fills the caches (first of each shape: general path)
    // Two stores at www after its bytes were kept: alias's answer from the authority carried www's A
    // again (replacing that entry), and www MX stored a NODATA at www. Both change www's version, so the
    // bytes kept for www A, and for alias A (whose chain ends at www), step aside once and are kept again
    // from the general path: 4 keys each (the 0x20 shape shares the EDNS shape's key).
    expect(await round()).toBe(QUESTIONS.length * 5 - 8);
    expect(await round()).toBe(QUESTIONS.length * 5);
    clock.t += 3_500; // TTLs are now 3.5 s lower (rounded up): patched into the kept bytes
    expect(await round()).toBe(QUESTIONS.length * 5);
    const [f] = await both(encodeMessage(query('www.up.test', 'A', { rd: true })));
    expect(decodeReply(f).answers[0]!.ttl).toBe(297);
    expect(decodeReply(f).flags.ra).toBe(true);
    // The resolver counts fast-path answers as the cache hits they are.
    expect(fastResolver.metrics.snapshot().cacheHits - hitsBefore).toBeGreaterThanOrEqual(QUESTIONS.length * 10);
    clock.t += 150_000; // the CNAME (100 s) and the negative answers (120 s) have expired; the rest have not
    const partly = await round();
    expect(partly).toBeGreaterThan(0);
    expect(partly).toBeLessThan(QUESTIONS.length * 5);
    clock.t += 1_000_000; // everything has expired: the first query of each question asks the authority again
    for (const [name, type] of QUESTIONS) {
      const before = fast.stats.byHandler.fastpath!;
      const sentBefore = authority.stats.udpQueries;
      const [f, g] = await both(encodeMessage(query(name, type, { rd: true, edns: {}, id: 43 })));
      expect(f.equals(g), `${name} ${type} after expiry`).toBe(true);
      expect(fast.stats.byHandler.fastpath! - before, `${name} ${type} after expiry`).toBe(0);
      expect(authority.stats.udpQueries - sentBefore, `${name} ${type} after expiry`).toBeGreaterThanOrEqual(1);
    }
    await round();
    expect(await round()).toBe(QUESTIONS.length * 5);
  });

  it('does not answer clients that may not recurse', async () => {
    const before = fast.stats.byHandler.fastpath!;
    const bytes = encodeMessage(query('www.up.test', 'A', { rd: false, id: 1 }));
    const [f, g] = await both(bytes);
    expect(f.equals(g)).toBe(true);
    expect(decodeReply(f).rcode).toBe(5); // REFUSED: not ours, and RD=0
    expect(fast.stats.byHandler.fastpath!).toBe(before);
  });

  it('steps aside when a store at a name of the chain changes the answer (a new NXDOMAIN)', async () => {
    const ask = (): Promise<Buffer | undefined> => udpExchange(fast.addresses[0]!.port, encodeMessage(query('alias.up.test', 'A', { rd: true, id: 7 })));
    await ask();
    const before = fast.stats.byHandler.fastpath!;
    expect(decodeReply((await ask())!).answers.map((r) => r.type)).toEqual(['CNAME', 'A']);
    expect(fast.stats.byHandler.fastpath! - before).toBe(1);
    // The entries the kept bytes were built from are all still there and fresh; only the walk would see the NXDOMAIN.
    const soa = { name: 'up.test', type: 'SOA' as const, class: 'IN' as const, ttl: 120, data: { mname: 'ns.up.test', rname: 'hostmaster.up.test', serial: 2, refresh: 3600, retry: 600, expire: 86400, minimum: 120 } };
    expect(fastResolver.cache.putNegative('nxdomain', 'www.up.test', 'AAAA', 'IN', soa)).toBe(true);
    const after = decodeReply((await ask())!);
    expect(after.rcode).toBe(3); // NXDOMAIN, with the CNAME that led there
    expect(after.answers.map((r) => r.type)).toEqual(['CNAME']);
    expect(fast.stats.byHandler.fastpath! - before).toBe(1);
  });
});
