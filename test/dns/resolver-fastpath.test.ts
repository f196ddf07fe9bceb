/**
 * The resolver's fast path against the general path, over real loopback sockets: a dnscdn authority,
 * and two recursive servers forwarding to it on one injected clock, one with the fast path and one whose
 * resolver only offers `resolve` (every query takes the general path). Same queries, same bytes, while
 * TTLs count down; after expiry, a change at the authority or with the authority gone (serve-stale), the
 * fast path steps aside and the cache decides as before.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RecursionHandler } from '../../src/dns/pipeline.js';
import type { ResolverOptions } from '../../src/dns/resolver/options.js';
import type { Resolver } from '../../src/dns/resolver/resolver.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import type { Message } from '../../src/dns/types.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { decodeReply, query, tcpExchange, udpExchange } from './query-client.js';
import { hintsFor, makeResolver } from './resolver/harness.js';

type QType = 'A' | 'TXT' | 'MX' | 'AAAA';

/** An authority for `up.test` from `zone` lines, and the fast and the general-only recursive server. */
interface Servers {
  clock: { t: number };
  authority: DnsServer;
  fast: DnsServer;
  general: DnsServer;
  fastResolver: Resolver;
  generalResolver: Resolver;
  /** Rewrites the zone file and reloads the authority. */
  setZone(lines: string[]): Promise<void>;
  /** Sends the same bytes to both recursive servers (UDP, or TCP), and returns both replies. */
  both(bytes: Buffer, transport?: 'udp' | 'tcp'): Promise<[Buffer, Buffer]>;
  /** Fast-path answers so far. */
  fastHits(): number;
  /** Stops the authority (only serve-stale can then answer what has expired). */
  stopAuthority(): Promise<void>;
  close(): Promise<void>;
}

async function startServers(zone: string[], options: Partial<ResolverOptions> = {}): Promise<Servers> {
  const dir = mkdtempSync(join(tmpdir(), 'dnscdn-resolver-fast-'));
  const empty = mkdtempSync(join(tmpdir(), 'dnscdn-no-zones-'));
  const writeZone = (lines: string[]): void => writeFileSync(join(dir, 'up.test.zone'), [...lines, ''].join('\n'));
  writeZone(zone);
  const listen = [{ host: '127.0.0.1', port: 0 }];
  const clock = { t: 1_700_000_000_000 };
  const authority = await startDnsServer({ listen, zonesDir: dir, watchZones: false });
  const upstream = authority.addresses[0]!.port;
  const resolver = (): Resolver =>
    makeResolver({ rootHints: hintsFor('127.0.0.99'), upstreamPort: 9, forwarders: [{ zone: 'up.test', servers: [{ host: '127.0.0.1', port: upstream }] }], now: () => clock.t, ...options });
  let authorityRunning = true;
  const stopAuthority = async (): Promise<void> => {
    if (authorityRunning) await authority.close();
    authorityRunning = false;
  };
  const fastResolver = resolver();
  const generalResolver = resolver();
  // The reference hides `cachedAnswer`: its pipeline has no resolver fast path.
  const generalOnly: RecursionHandler = { canHandle: () => true, resolve: (q) => generalResolver.resolve(q) };
  const allowRecursion = ['127.0.0.0/8'];
  const fast = await startDnsServer({ listen, zonesDir: empty, watchZones: false, recursion: fastResolver, allowRecursion });
  const general = await startDnsServer({ listen, zonesDir: empty, watchZones: false, recursion: generalOnly, allowRecursion });
  const ask = async (server: DnsServer, bytes: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer> => {
    const port = server.addresses[0]!.port;
    const reply = transport === 'udp' ? await udpExchange(port, bytes) : await tcpExchange(port, bytes);
    if (!reply) throw new Error('no reply');
    return reply;
  };
  return {
    clock,
    authority,
    fast,
    general,
    fastResolver,
    generalResolver,
    async setZone(lines) {
      writeZone(lines);
      await authority.reload();
    },
    both: async (bytes, transport = 'udp') => [await ask(fast, bytes, transport), await ask(general, bytes, transport)],
    fastHits: () => fast.stats.byHandler.fastpath!,
    stopAuthority,
    async close() {
      await fast.close();
      await general.close();
      await stopAuthority();
      rmSync(dir, { recursive: true, force: true });
      rmSync(empty, { recursive: true, force: true });
    },
  };
}

const ZONE = [
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
  'chain 150 IN CNAME alias',
  'txt IN TXT "hello"',
];

const QUESTIONS: Array<[string, QType]> = [
  ['www.up.test', 'A'],
  ['many.up.test', 'TXT'],
  ['alias.up.test', 'A'],
  ['chain.up.test', 'A'], // two CNAMEs, then the A
  ['txt.up.test', 'TXT'],
  ['www.up.test', 'MX'], // NODATA with the SOA (negative TTL from its MINIMUM, 120)
  ['nope.up.test', 'AAAA'], // NXDOMAIN with the SOA
];

/**
 * Query shapes: without and with EDNS, DO, CD, 0x20 case, a client subnet, and over TCP. The ID and the
 * subnet's address change with `round`: the kept bytes must carry this query's, not the first one's.
 */
function shapes(name: string, type: QType, round: number): Array<[string, Message, 'udp' | 'tcp']> {
  const id = 4200 + round;
  const cd = query(name, type, { rd: true, edns: {}, id });
  cd.flags.cd = true;
  const mixed = [...name].map((c, i) => ((i + round) % 2 ? c.toUpperCase() : c)).join('');
  const subnet = { family: 1 as const, sourcePrefixLength: 24, scopePrefixLength: 0, address: `198.51.${round % 256}.0` };
  return [
    ['no EDNS', query(name, type, { rd: true, id }), 'udp'],
    ['EDNS', query(name, type, { rd: true, edns: {}, id }), 'udp'],
    ['DO', query(name, type, { rd: true, edns: { dnssecOk: true }, id }), 'udp'],
    ['CD', cd, 'udp'],
    ['0x20', query(mixed, type, { rd: true, edns: {}, id }), 'udp'],
    ['ECS', query(name, type, { rd: true, edns: { clientSubnet: subnet }, id }), 'udp'],
    ['TCP', query(name, type, { rd: true, edns: {}, id }), 'tcp'],
  ];
}
const SHAPES = shapes('x', 'A', 0).length;
/** Kept replies per question: 0x20 and TCP share the EDNS shape's key (case-folded name, same flags). */
const KEYS = SHAPES - 2;

/** Every question in every shape to both servers; the bytes must be equal. Returns the fast-path answers. */
async function round(s: Servers, n: number, questions = QUESTIONS): Promise<number> {
  const before = s.fastHits();
  for (const [name, type] of questions) {
    for (const [shape, m, transport] of shapes(name, type, n)) {
      const [f, g] = await s.both(encodeMessage(m), transport);
      expect(f.equals(g), `${name} ${type} ${shape}: ${f.toString('hex')} vs ${g.toString('hex')}`).toBe(true);
    }
  }
  return s.fastHits() - before;
}

describe('resolver cache hits on the fast path', () => {
  let s: Servers;
  beforeAll(async () => {
    s = await startServers(ZONE);
  });
  afterAll(() => s?.close());

  it('give the general path’s bytes while TTLs count down, and step aside once entries expire', async () => {
    const all = QUESTIONS.length * SHAPES;
    const hitsBefore = s.fastResolver.metrics.snapshot().cacheHits;
    await round(s, 1); // fills the caches (first of each shape: general path)
    // alias's and chain's answers from the authority carried www's A (and alias's CNAME) again, which
    // replaced those cache entries (new stamps): the bytes kept before step aside once, and are kept
    // again from the general path.
    const second = await round(s, 2);
    expect(second).toBeGreaterThan(all / 2);
    expect(await round(s, 3)).toBe(all);
    s.clock.t += 3_500; // TTLs are now 3.5 s lower (rounded up): patched into the kept bytes
    expect(await round(s, 4)).toBe(all);
    const [f] = await s.both(encodeMessage(query('www.up.test', 'A', { rd: true })));
    expect(decodeReply(f).answers[0]!.ttl).toBe(297);
    expect(decodeReply(f).flags.ra).toBe(true);
    const [nx] = await s.both(encodeMessage(query('nope.up.test', 'AAAA', { rd: true })));
    expect(decodeReply(nx).authorities[0]!.ttl).toBe(117); // the SOA MINIMUM (120), counted down
    // The resolver counts fast-path answers as the cache hits they are.
    expect(s.fastResolver.metrics.snapshot().cacheHits - hitsBefore).toBeGreaterThanOrEqual(all * 2);
    s.clock.t += 96_499; // 1 ms before the CNAME alias (100 s) expires: TTL 1, never 0
    expect(await round(s, 5)).toBe(all);
    const [last] = await s.both(encodeMessage(query('alias.up.test', 'A', { rd: true })));
    expect(decodeReply(last).answers.map((rr) => rr.ttl)).toEqual([1, 201]);
    s.clock.t += 1; // alias (100 s) has expired, and with it alias's and chain's answers; the rest have not
    const sentBefore = s.authority.stats.udpQueries;
    const partly = await round(s, 6);
    expect(partly).toBe(all - 2 * KEYS); // alias and chain: the first query of each key takes the general path
    expect(s.authority.stats.udpQueries - sentBefore).toBeGreaterThanOrEqual(1);
    s.clock.t += 1_000_000; // everything has expired: the first query of each question asks the authority again
    for (const [name, type] of QUESTIONS) {
      const before = s.fastHits();
      const sent = s.authority.stats.udpQueries;
      const [f, g] = await s.both(encodeMessage(query(name, type, { rd: true, edns: {}, id: 43 })));
      expect(f.equals(g), `${name} ${type} after expiry`).toBe(true);
      expect(s.fastHits() - before, `${name} ${type} after expiry`).toBe(0);
      expect(s.authority.stats.udpQueries - sent, `${name} ${type} after expiry`).toBeGreaterThanOrEqual(1);
    }
    await round(s, 7);
    expect(await round(s, 8)).toBe(all);
  });

  it('answers a hit without walking the resolver cache: no lookup, no record copies', async () => {
    await round(s, 9);
    const lookups = vi.spyOn(s.fastResolver.cache, 'lookup');
    try {
      expect(await round(s, 10)).toBe(QUESTIONS.length * SHAPES);
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
  });

  it('does not answer clients that may not recurse', async () => {
    const before = s.fastHits();
    const bytes = encodeMessage(query('www.up.test', 'A', { rd: false, id: 1 }));
    const [f, g] = await s.both(bytes);
    expect(f.equals(g)).toBe(true);
    expect(decodeReply(f).rcode).toBe(5); // REFUSED: not ours, and RD=0
    expect(s.fastHits()).toBe(before);
  });
});

describe('the resolver fast path and the cache as source of truth', () => {
  let s: Servers;
  beforeAll(async () => {
    // Serve-stale on (RFC 8767), with a short client timer so that a dead authority costs 100 ms.
    s = await startServers(ZONE, { staleWindow: 3_600, staleAnswerTimeoutMs: 100 });
  });
  afterAll(() => s?.close());

  it('steps aside when an NXDOMAIN arrives for a name whose answer it keeps', async () => {
    const www: Array<[string, QType]> = [['www.up.test', 'A']];
    await round(s, 1, www);
    expect(await round(s, 2, www)).toBe(SHAPES);
    // www leaves the zone; an AAAA query (not cached) brings the NXDOMAIN for the name, which the cache
    // puts above www's A entry (still fresh): the general path now answers NXDOMAIN, and so must we.
    await s.setZone(ZONE.filter((line) => !line.startsWith('www ')));
    const [f, g] = await s.both(encodeMessage(query('www.up.test', 'AAAA', { rd: true })));
    expect(f.equals(g)).toBe(true);
    expect(decodeReply(f).rcode).toBe(3);
    const before = s.fastHits();
    const [fa, ga] = await s.both(encodeMessage(query('www.up.test', 'A', { rd: true, id: 7 })));
    expect(fa.equals(ga)).toBe(true);
    expect(decodeReply(fa).rcode).toBe(3);
    expect(s.fastHits()).toBe(before);
    await s.setZone(ZONE);
  });

  it('leaves expired answers to serve-stale, which answers as before, and never keeps a stale answer', async () => {
    const questions = QUESTIONS;
    s.clock.t += 1_000_000; // past every TTL (the NXDOMAIN above included), within the stale window
    await round(s, 3, questions);
    await round(s, 4, questions); // answers that carried records of other questions replaced their entries
    expect(await round(s, 5, questions)).toBe(questions.length * SHAPES);
    s.clock.t += 400_000; // everything has expired (the longest TTL is 300 s), within the stale window
    await s.stopAuthority(); // and the authority is gone: only serve-stale can answer
    const staleBefore = s.fastResolver.metrics.snapshot().staleAnswers;
    for (const n of [6, 7]) {
      // UDP only: one shape per question is enough, and TCP would only repeat it.
      const before = s.fastHits();
      for (const [name, type] of questions) {
        const [f, g] = await s.both(encodeMessage(query(name, type, { rd: true, edns: {}, id: 100 + n })));
        expect(f.equals(g), `${name} ${type} stale`).toBe(true);
        const reply = decodeReply(f);
        expect(reply.rcode, `${name} ${type} stale`).not.toBe(2); // not SERVFAIL: stale data
        for (const rr of [...reply.answers, ...reply.authorities]) expect(rr.ttl, `${name} ${type} stale`).toBe(30); // RFC 8767 §4
      }
      expect(s.fastHits(), `round ${n}`).toBe(before);
    }
    expect(s.fastResolver.metrics.snapshot().staleAnswers - staleBefore).toBe(questions.length * 2);
  });
});
