/**
 * End-to-end: the recursive resolver inside our DNS server, resolving through a loopback hierarchy
 * of our own authoritative servers (test/fixtures/resolver), queried over real sockets and with dig.
 * The resolver's clock is injected, so TTLs count down without sleeping.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/metrics.js';
import { loadRootHints } from '../../src/dns/resolver/hints.js';
import { Resolver } from '../../src/dns/resolver/resolver.js';
import type { ResolverOptions } from '../../src/dns/resolver/options.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { RCODE, type Message } from '../../src/dns/types.js';
import { query, udpQuery } from '../dns/query-client.js';
import { expectRRsets } from '../dns/rrsets.js';
import { HINTS_FILE, queriesServed, startHierarchy, type Hierarchy } from '../dns/resolver/hierarchy.js';

const run = promisify(execFile);
let hierarchy: Hierarchy;

beforeAll(async () => {
  hierarchy = await startHierarchy();
});
afterAll(() => hierarchy.close());

interface Running {
  server: DnsServer;
  resolver: Resolver;
  port: number;
  clock: { t: number };
  ask(name: string, type?: Message['questions'][0]['type']): Promise<Message>;
}
let running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.map((r) => r.server.close()));
  running = [];
});

/** Our DNS server with the demo zones and recursion through the hierarchy. */
async function startResolver(overrides: Partial<ResolverOptions> = {}, allowRecursion = ['127.0.0.0/8']): Promise<Running> {
  const clock = { t: 1_700_000_000_000 };
  const resolver = new Resolver(
    { rootHints: loadRootHints(HINTS_FILE), upstreamPort: hierarchy.port, now: () => clock.t, tryTimeoutMs: 1_500, totalTimeoutMs: 6_000, ...overrides },
    createRegistry(),
  );
  const server = await startDnsServer({ zonesDir: 'zones', watchZones: false, listen: [{ host: '127.0.0.1', port: 0 }], recursion: resolver, allowRecursion });
  const port = server.addresses[0]!.port;
  const r: Running = { server, resolver, port, clock, ask: (name, type = 'A') => udpQuery(port, query(name, type, { rd: true, edns: {} })) };
  running.push(r);
  return r;
}

describe('recursive resolver over the loopback hierarchy', () => {
  it('follows referrals from the root hints to an answer with RA set', async () => {
    const r = await startResolver();
    const reply = await r.ask('host.example.test');
    expect(reply.rcode).toBe(RCODE.NOERROR);
    expect(reply.flags.ra).toBe(true);
    expect(reply.flags.aa).toBe(false);
    expectRRsets(reply.answers, ['host.example.test A 192.0.2.10'], { ignoreTtl: true });
    // Priming (`. NS` at the hints server, RFC 8109), then root -> test. -> example.test.
    expect(r.resolver.metrics.snapshot().upstreamQueries).toBe(4);
    expect(r.resolver.cache.lookup('.', 'NS', 'IN')).toMatchObject({ kind: 'rrset', records: [{ data: 'a.root-servers.hint' }] });
    expect(r.resolver.cache.lookup('a.root-servers.hint', 'A', 'IN', { minRank: 'glue' })).toMatchObject({ records: [{ data: '127.0.0.53' }] });
  });

  it('still answers its own zones authoritatively', async () => {
    const r = await startResolver();
    const reply = await r.ask('www.cdn.test');
    expect(reply.flags.aa).toBe(true);
    expect(r.resolver.metrics.snapshot().upstreamQueries).toBe(0);
  });

  it('resolves a glue-less delegation by looking up the name server first', async () => {
    const r = await startResolver();
    const reply = await r.ask('host.other.test');
    expectRRsets(reply.answers, ['host.other.test A 192.0.2.20'], { ignoreTtl: true });
  });

  it('follows CNAMEs across zones and ignores the out-of-bailiwick data a server adds', async () => {
    // The example.test server also hosts a bogus other.test and puts its address in the answer.
    const direct = await udpQuery(hierarchy.port, query('www.example.test', 'A'), '127.0.0.55');
    expectRRsets(direct.answers, ['www.example.test CNAME host.other.test', 'host.other.test A 198.51.100.66'], { ignoreTtl: true });

    const r = await startResolver();
    const reply = await r.ask('www.example.test');
    expectRRsets(reply.answers, ['www.example.test CNAME host.other.test', 'host.other.test A 192.0.2.20'], { ignoreTtl: true });
    expect(reply.answers.map((rr) => rr.name)).toEqual(['www.example.test', 'host.other.test']); // chain order
    const cached = r.resolver.cache.lookup('host.other.test', 'A', 'IN');
    expect(cached.kind === 'rrset' && cached.records.map((rr) => rr.data)).toEqual(['192.0.2.20']);
    // And back the other way: other.test -> example.test.
    expectRRsets((await r.ask('alias.other.test')).answers, ['alias.other.test CNAME host.example.test', 'host.example.test A 192.0.2.10'], { ignoreTtl: true });
  });

  it('caches NXDOMAIN and NODATA (RFC 2308) and answers them again without upstream traffic', async () => {
    const r = await startResolver();
    const nx = await r.ask('nope.example.test');
    expect(nx.rcode).toBe(RCODE.NXDOMAIN);
    expect(nx.authorities).toMatchObject([{ type: 'SOA', name: 'example.test', ttl: 60 }]); // min(SOA TTL 300, minimum 60)
    const nodata = await r.ask('host.example.test', 'AAAA');
    expect(nodata.rcode).toBe(RCODE.NOERROR);
    expect(nodata.answers).toEqual([]);
    expect(nodata.authorities).toMatchObject([{ type: 'SOA', name: 'example.test' }]);
    const sent = r.resolver.metrics.snapshot().upstreamQueries;
    r.clock.t += 20_000;
    const again = await r.ask('nope.example.test', 'MX'); // NXDOMAIN covers every type
    expect(again.rcode).toBe(RCODE.NXDOMAIN);
    expect(again.authorities).toMatchObject([{ ttl: 40 }]);
    expect((await r.ask('host.example.test', 'AAAA')).authorities).toMatchObject([{ ttl: 40 }]);
    expect(r.resolver.metrics.snapshot().upstreamQueries).toBe(sent);
    // After the negative TTL it asks again.
    r.clock.t += 41_000;
    expect((await r.ask('nope.example.test')).rcode).toBe(RCODE.NXDOMAIN);
    expect(r.resolver.metrics.snapshot().upstreamQueries).toBeGreaterThan(sent);
  });

  it('counts TTLs down in cached answers, with no upstream traffic', async () => {
    const r = await startResolver();
    expect((await r.ask('host.example.test')).answers).toMatchObject([{ ttl: 300 }]);
    const before = queriesServed(hierarchy);
    r.clock.t += 120_000;
    expect((await r.ask('host.example.test')).answers).toMatchObject([{ ttl: 180 }]);
    expect(queriesServed(hierarchy)).toBe(before);
    expect(r.resolver.metrics.snapshot()).toMatchObject({ cacheHits: 1, cacheMisses: 1 });
  });

  it('caches delegations, so a sibling name goes straight to the zone server', async () => {
    const r = await startResolver();
    await r.ask('host.example.test');
    const before = r.resolver.metrics.snapshot().upstreamQueries;
    const exampleBefore = hierarchy.servers.example.stats.byHandler.authority!;
    expectRRsets((await r.ask('sibling.example.test')).answers, ['sibling.example.test A 192.0.2.11'], { ignoreTtl: true });
    expect(r.resolver.metrics.snapshot().upstreamQueries - before).toBe(1);
    expect(hierarchy.servers.example.stats.byHandler.authority! - exampleBefore).toBe(1);
  });

  it('gets past a lame server to the authoritative one', async () => {
    // Servers are tried in random order; repeat until the lame one (127.0.0.57) has been asked at least once.
    const lameAsked = (): number => hierarchy.servers.lame.stats.byHandler.authority! + hierarchy.servers.lame.stats.byHandler.fastpath!;
    const before = lameAsked();
    for (let i = 0; i < 16 && lameAsked() === before; i++) {
      const r = await startResolver();
      const reply = await r.ask('host.lame.test');
      expect(reply.rcode).toBe(RCODE.NOERROR);
      expectRRsets(reply.answers, ['host.lame.test A 192.0.2.30'], { ignoreTtl: true });
    }
    expect(lameAsked()).toBeGreaterThan(before);
  });

  it('refuses names outside our zones to clients not allowed to recurse', async () => {
    const r = await startResolver({}, ['192.0.2.0/24']);
    const reply = await r.ask('host.example.test');
    expect(reply.rcode).toBe(RCODE.REFUSED);
    expect(reply.flags.ra).toBe(false);
    expect(r.resolver.metrics.snapshot().upstreamQueries).toBe(0);
    // Our own zones are still answered.
    expect((await r.ask('www.cdn.test')).rcode).toBe(RCODE.NOERROR);
  });

  it('answers a name from the cache with dig: ra set, a lower TTL the second time, no upstream traffic', async () => {
    const r = await startResolver();
    const dig = async (): Promise<string> =>
      (await run('dig', ['@127.0.0.1', '-p', String(r.port), '+time=3', '+tries=1', 'host.example.test'])).stdout;
    const first = await dig();
    expect(first).toMatch(/flags: qr rd ra;/);
    expect(first).toMatch(/^host\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.10$/m);
    const before = queriesServed(hierarchy);
    r.clock.t += 7_000;
    const second = await dig();
    expect(second).toMatch(/^host\.example\.test\.\s+293\s+IN\s+A\s+192\.0\.2\.10$/m);
    expect(queriesServed(hierarchy)).toBe(before);
  });
});

describe('serve-stale (RFC 8767)', () => {
  let own: Hierarchy;
  beforeAll(async () => {
    own = await startHierarchy();
  });
  afterAll(() => own.close());

  it('answers from expired cache entries with TTL 30 when no authority answers, within the window only', async () => {
    const clock = { t: 1_700_000_000_000 };
    const resolver = new Resolver(
      { rootHints: loadRootHints(HINTS_FILE), upstreamPort: own.port, now: () => clock.t, tryTimeoutMs: 1_500, totalTimeoutMs: 6_000, staleWindow: 3_600 },
      createRegistry(),
    );
    const server = await startDnsServer({ zonesDir: 'zones', watchZones: false, listen: [{ host: '127.0.0.1', port: 0 }], recursion: resolver, allowRecursion: ['127.0.0.0/8'] });
    running.push({ server, resolver, port: server.addresses[0]!.port, clock, ask: () => Promise.reject(new Error('unused')) });
    const ask = (name: string): Promise<Message> => udpQuery(server.addresses[0]!.port, query(name, 'A', { rd: true }));

    expect((await ask('www.example.test')).answers).toHaveLength(2);
    for (const name of ['root', 'tld', 'example', 'other', 'lame'] as const) await own.stop(name);
    clock.t += 400_000; // past every TTL in the chain (300 s), inside the 1 h stale window

    const stale = await ask('www.example.test');
    expect(stale.rcode).toBe(RCODE.NOERROR);
    expectRRsets(stale.answers, ['www.example.test 30 CNAME host.other.test', 'host.other.test 30 A 192.0.2.20']);
    expect(resolver.metrics.snapshot().staleAnswers).toBe(1);

    clock.t += 3_600_000; // past the window
    expect((await ask('www.example.test')).rcode).toBe(RCODE.SERVFAIL);
  });
});
