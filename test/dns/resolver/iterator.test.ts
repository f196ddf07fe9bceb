/**
 * The iterator against scripted servers: the hostile and broken cases our own authoritative server
 * would never produce (forged, out-of-bailiwick, lame, loops, garbage). The well-behaved hierarchy
 * built from our authoritative server is in test/e2e/resolver.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RCODE, type Message, type ResourceRecord } from '../../../src/dns/types.js';
import { nameKey } from '../../../src/dns/name.js';
import { a, cname, ns, reply, soa, type Script } from './responder.js';
import { clientQuery, hintsFor, makeResolver, startServers } from './harness.js';

const ROOT = '127.0.0.53';
const TLD = '127.0.0.54';
const AUTH1 = '127.0.0.55';
const AUTH2 = '127.0.0.56';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanup.map((c) => c()));
  cleanup = [];
});

async function hierarchy(scripts: Record<string, Script>) {
  const h = await startServers(scripts);
  cleanup.push(h.close);
  return h;
}

const qname = (q: Message): string => nameKey(q.questions[0]!.name);

/** A root that refers everything under test. to the TLD server. */
const root: Script = (q) => reply(q, { aa: false, authorities: [ns('test', 'ns.test')], additionals: [a('ns.test', TLD)] });

describe('iterator against scripted servers', () => {
  it('follows referrals and does not cache out-of-bailiwick or unsolicited records', async () => {
    const h = await hierarchy({
      [ROOT]: root,
      [TLD]: (q) =>
        qname(q).endsWith('example.test')
          ? reply(q, {
              aa: false,
              authorities: [ns('example.test', 'ns.example.test')],
              // Glue for the delegated server plus an unsolicited record for a name elsewhere.
              additionals: [a('ns.example.test', AUTH1), a('victim.other.test', '6.6.6.6')],
            })
          : reply(q, { rcode: RCODE.NXDOMAIN, authorities: [soa('test')] }),
      [AUTH1]: (q) =>
        reply(q, {
          // The answer plus a record example.test's server may not speak for.
          answers: [a('www.example.test', '192.0.2.10'), a('victim.other.test', '6.6.6.6')],
          additionals: [a('victim2.other.test', '6.6.6.7')],
        }),
    });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port });
    const answer = await resolver.resolve(clientQuery('www.example.test'));
    expect(answer.rcode).toBe(RCODE.NOERROR);
    expect(answer.flags.ra).toBe(true);
    expect(answer.answers).toMatchObject([a('www.example.test', '192.0.2.10')]);
    expect(resolver.cache.lookup('victim.other.test', 'A', 'IN').kind).toBe('miss');
    expect(resolver.cache.lookup('victim.other.test', 'A', 'IN', { minRank: 'glue' }).kind).toBe('miss');
    expect(resolver.cache.lookup('victim2.other.test', 'A', 'IN', { minRank: 'glue' }).kind).toBe('miss');
    // And asking for it goes upstream and gets the truth.
    const victim = await resolver.resolve(clientQuery('victim.other.test'));
    expect(victim.rcode).toBe(RCODE.NXDOMAIN);
  });

  it('ignores a forged reply with the wrong ID during iteration', async () => {
    const h = await hierarchy({
      [ROOT]: (q) => [
        { ...reply(q, { answers: [a('www.example.test', '6.6.6.6')] }), id: (q.id + 1) & 0xffff },
        reply(q, { answers: [a('www.example.test', '192.0.2.10')] }),
      ],
    });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port });
    const answer = await resolver.resolve(clientQuery('www.example.test'));
    expect(answer.answers).toMatchObject([{ data: '192.0.2.10' }]);
    expect(resolver.metrics.snapshot().discardedReplies).toBe(1);
  });

  it('skips lame, refusing, failing and garbage-sending servers and uses the good one', async () => {
    const lameServers = ['127.0.0.60', '127.0.0.61', '127.0.0.62', '127.0.0.63', '127.0.0.64'];
    const h = await hierarchy({
      [ROOT]: (q) =>
        reply(q, {
          aa: false,
          authorities: [...lameServers, AUTH1].map((_, i) => ns('example.test', `ns${i}.example.test`)),
          additionals: [...lameServers, AUTH1].map((addr, i) => a(`ns${i}.example.test`, addr)),
        }),
      '127.0.0.60': (q) => reply(q, { rcode: RCODE.REFUSED }),
      '127.0.0.61': (q) => reply(q, { rcode: RCODE.SERVFAIL }),
      '127.0.0.62': (q) => reply(q, { aa: false, authorities: [ns('test', 'ns.test')] }), // upward referral
      '127.0.0.63': (q) => reply(q, { aa: false, answers: [a('www.example.test', '6.6.6.6')] }), // answer without AA
      '127.0.0.64': () => Buffer.from('garbage that is not DNS at all'),
      [AUTH1]: (q) => reply(q, { answers: [a('www.example.test', '192.0.2.10')] }),
    });
    for (let i = 0; i < 4; i++) {
      const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port, tryTimeoutMs: 300 });
      const answer = await resolver.resolve(clientQuery('www.example.test'));
      expect(answer.rcode).toBe(RCODE.NOERROR);
      expect(answer.answers).toMatchObject([{ data: '192.0.2.10' }]);
    }
  });

  it('remembers a server that timed out and asks the others first for a while', async () => {
    const SILENT = '127.0.0.60';
    const h = await hierarchy({
      [ROOT]: (q) =>
        reply(q, {
          aa: false,
          authorities: [ns('example.test', 'ns1.example.test'), ns('example.test', 'ns2.example.test')],
          additionals: [a('ns1.example.test', SILENT), a('ns2.example.test', AUTH1)],
        }),
      [SILENT]: () => undefined,
      [AUTH1]: (q) => reply(q, { answers: [a(qname(q), '192.0.2.10')] }),
    });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port, tryTimeoutMs: 300 });
    for (let i = 0; i < 10; i++) {
      expect((await resolver.resolve(clientQuery(`h${i}.example.test`))).rcode).toBe(RCODE.NOERROR);
    }
    // Random order would ask the silent server about 5 times; after its first timeout it goes last.
    expect(h.servers[SILENT]!.queries.length).toBeLessThanOrEqual(1);
    expect(h.servers[AUTH1]!.queries.length).toBe(10);
  });

  it('ends a glue-less NS cycle in SERVFAIL within the limits', async () => {
    const h = await hierarchy({
      // a.test is served by ns.b.test and b.test by ns.a.test, neither with glue.
      [ROOT]: (q) => {
        const zone = qname(q).endsWith('a.test') ? 'a.test' : 'b.test';
        return reply(q, { aa: false, authorities: [ns(zone, zone === 'a.test' ? 'ns.b.test' : 'ns.a.test')] });
      },
    });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port });
    const answer = await resolver.resolve(clientQuery('www.a.test'));
    expect(answer.rcode).toBe(RCODE.SERVFAIL);
    // www.a.test needs ns.b.test, which needs ns.a.test (its a.test delegation is cached by then), which
    // needs ns.b.test again: the cycle check stops it after two queries, long before the 32-query cap.
    expect(h.servers[ROOT]!.queries.map((q) => q.message.questions[0]!.name)).toEqual(['www.a.test', 'ns.b.test']);
  });

  it('ends an endless CNAME chain across zones in SERVFAIL', async () => {
    const h = await hierarchy({
      [ROOT]: (q) => {
        const zone = qname(q).endsWith('x.test') ? 'x.test' : 'y.test';
        return reply(q, { aa: false, authorities: [ns(zone, `ns.${zone}`)], additionals: [a(`ns.${zone}`, zone === 'x.test' ? AUTH1 : AUTH2)] });
      },
      // n0.x.test -> n1.y.test -> n2.x.test -> ... for ever.
      [AUTH1]: (q) => {
        const n = Number(/^n(\d+)/.exec(qname(q))![1]);
        return reply(q, { answers: [cname(qname(q), `n${n + 1}.y.test`)] });
      },
      [AUTH2]: (q) => {
        const n = Number(/^n(\d+)/.exec(qname(q))![1]);
        return reply(q, { answers: [cname(qname(q), `n${n + 1}.x.test`)] });
      },
    });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port, maxCnameChain: 8 });
    const answer = await resolver.resolve(clientQuery('n0.x.test'));
    expect(answer.rcode).toBe(RCODE.SERVFAIL);
    const asked = h.servers[AUTH1]!.queries.length + h.servers[AUTH2]!.queries.length;
    expect(asked).toBe(9); // n0 .. n8; the ninth CNAME exceeds the cap
  });

  it('ends an endless chain of referrals at the referral depth cap', async () => {
    // Every answer refers one label deeper, towards a very long name.
    const deep = Array.from({ length: 30 }, (_, i) => `l${i}`).join('.') + '.test';
    // One server plays every level: its n-th answer refers to the zone n+1 labels deep, so each referral is valid.
    let asked = 0;
    const h = await hierarchy({
      [ROOT]: (q) => {
        asked++;
        const zone = qname(q).split('.').slice(-(asked + 1)).join('.');
        return reply(q, { aa: false, authorities: [ns(zone, 'ns.test')], additionals: [a('ns.test', ROOT)] });
      },
    });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port, maxReferralDepth: 5 });
    const answer = await resolver.resolve(clientQuery(deep));
    expect(answer.rcode).toBe(RCODE.SERVFAIL);
    expect(h.servers[ROOT]!.queries.length).toBe(6);
  });

  it('tries a server that timed out once more before giving up', async () => {
    let seen = 0;
    const h = await hierarchy({ [ROOT]: (q) => (++seen === 1 ? undefined : reply(q, { answers: [a('slow.test', '192.0.2.5')] })) });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port, tryTimeoutMs: 200 });
    expect((await resolver.resolve(clientQuery('slow.test'))).answers).toMatchObject([{ data: '192.0.2.5' }]);
    expect(seen).toBe(2);
  });

  it('answers stale once the client response timer fires while a silent server is still being waited for', { timeout: 1_500 }, async () => {
    let answered = 0;
    const h = await hierarchy({ [ROOT]: (q) => (answered++ === 0 ? reply(q, { answers: [a('www.example.test', '192.0.2.10', 60)] }) : undefined) });
    const clock = { t: 1_000_000 };
    const resolver = makeResolver({
      rootHints: hintsFor(ROOT),
      upstreamPort: h.port,
      now: () => clock.t,
      tryTimeoutMs: 4_000,
      totalTimeoutMs: 4_000,
      staleAnswerTimeoutMs: 100,
    });
    expect((await resolver.resolve(clientQuery('www.example.test'))).answers).toMatchObject([{ ttl: 60 }]);
    clock.t += 61_000;
    // The server now stays silent: without the timer the client would wait 4 s for the try to time out
    // (longer than this test may take).
    const stale = await resolver.resolve(clientQuery('www.example.test'));
    expect(stale.rcode).toBe(RCODE.NOERROR);
    expect(stale.answers).toMatchObject([{ data: '192.0.2.10', ttl: 30 }]);
    expect(resolver.metrics.snapshot()).toMatchObject({ staleAnswers: 1, servfails: 0 });
  });

  it('retries over TCP when a referral target truncates', async () => {
    const h = await hierarchy({
      [ROOT]: (q, transport) => (transport === 'udp' ? reply(q, { tc: true }) : reply(q, { answers: [a('big.test', '192.0.2.77')] })),
    });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port });
    const answer = await resolver.resolve(clientQuery('big.test'));
    expect(answer.answers).toMatchObject([{ data: '192.0.2.77' }]);
    expect(h.servers[ROOT]!.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('coalesces identical concurrent queries into one resolution', async () => {
    const h = await hierarchy({ [ROOT]: (q) => reply(q, { answers: [a('www.example.test', '192.0.2.10')] }) });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port });
    const answers = await Promise.all(Array.from({ length: 8 }, () => resolver.resolve(clientQuery('WWW.example.test'))));
    expect(answers.every((m) => m.answers.length === 1)).toBe(true);
    expect(answers.map((m) => m.questions[0]!.name)).toEqual(Array(8).fill('WWW.example.test'));
    expect(h.servers[ROOT]!.queries.length).toBe(1);
    expect(resolver.metrics.snapshot().coalesced).toBe(7);
  });

  it('forwards names under a forward zone with RD=1 and caches the answers', async () => {
    const h = await hierarchy({
      [ROOT]: (q) => reply(q, { rcode: RCODE.REFUSED }),
      [AUTH2]: (q) => ({ ...reply(q, { aa: false, answers: [a(qname(q), '192.0.2.99')] }), flags: { ...reply(q).flags, aa: false, ra: true } }),
    });
    const resolver = makeResolver({
      rootHints: hintsFor(ROOT),
      upstreamPort: h.port,
      forwarders: [{ zone: 'corp.test', servers: [{ host: AUTH2, port: h.port }] }],
    });
    const first = await resolver.resolve(clientQuery('app.corp.test'));
    expect(first.answers).toMatchObject([{ data: '192.0.2.99' }]);
    await resolver.resolve(clientQuery('app.corp.test'));
    expect(h.servers[AUTH2]!.queries.map((q) => q.message.flags.rd)).toEqual([true]);
    expect(h.servers[ROOT]!.queries).toHaveLength(0);
    // Outside the forward zone the resolver iterates from the root as usual.
    expect((await resolver.resolve(clientQuery('www.example.test'))).rcode).toBe(RCODE.SERVFAIL);
    expect(h.servers[ROOT]!.queries.length).toBeGreaterThan(0);
  });

  it('answers SERVFAIL when every server is unreachable, and quickly', async () => {
    const resolver = makeResolver({ rootHints: hintsFor('127.0.0.99'), upstreamPort: 9, tryTimeoutMs: 300 });
    const answer = await resolver.resolve(clientQuery('www.example.test'));
    expect(answer.rcode).toBe(RCODE.SERVFAIL);
    expect(resolver.metrics.snapshot().servfails).toBe(1);
  });
  it.each([
    { ttl: 5, minTtl: 60, maxTtl: 86_400, want: 60 },
    { ttl: 999_999, minTtl: 0, maxTtl: 3_600, want: 3_600 },
  ])('gives a fresh upstream answer (TTL $ttl) the clamped TTL the cached copy has: $want', async ({ ttl, minTtl, maxTtl, want }) => {
    const h = await hierarchy({
      [ROOT]: (q) =>
        qname(q) === 'www.example.test'
          ? reply(q, { answers: [a('www.example.test', '192.0.2.10', ttl), a('www.example.test', '192.0.2.11', ttl + 1)] })
          : reply(q, { rcode: RCODE.NXDOMAIN, authorities: [soa('test', ttl, ttl)] }),
    });
    const clock = { t: 1_000_000 };
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port, minTtl, maxTtl, maxNegativeTtl: 86_400, now: () => clock.t });
    const fresh = await resolver.resolve(clientQuery('www.example.test'));
    const cached = await resolver.resolve(clientQuery('www.example.test'));
    expect(fresh.answers.map((r) => r.ttl)).toEqual([want, want]);
    expect(cached.answers.map((r) => r.ttl)).toEqual([want, want]);
    const freshNx = await resolver.resolve(clientQuery('nope.test'));
    const cachedNx = await resolver.resolve(clientQuery('nope.test'));
    expect(freshNx.authorities).toMatchObject([{ type: 'SOA', ttl: want }]);
    expect(cachedNx.authorities).toMatchObject([{ type: 'SOA', ttl: want }]);
    expect(h.servers[ROOT]!.queries).toHaveLength(2); // the second of each came from the cache
  });
  it.each([RCODE.FORMERR, RCODE.NOTIMP])('retries a server that answers rcode %i to EDNS once without OPT and remembers it', async (rcode) => {
    const h = await hierarchy({
      // An old server: any OPT record is rejected without an OPT in the reply (RFC 6891 §7).
      [ROOT]: (q) => (q.edns ? reply(q, { rcode }) : reply(q, { answers: [a(q.questions[0]!.name, '192.0.2.10')] })),
    });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port });
    expect((await resolver.resolve(clientQuery('www.example.test'))).answers).toMatchObject([{ data: '192.0.2.10' }]);
    expect((await resolver.resolve(clientQuery('www2.example.test'))).answers).toMatchObject([{ data: '192.0.2.10' }]);
    // First query: with OPT, then without; the second goes straight without OPT.
    expect(h.servers[ROOT]!.queries.map((q) => q.message.edns !== undefined)).toEqual([true, false, false]);
  });

  it('does not drop EDNS for a FORMERR that carries an OPT record (a real format error)', async () => {
    const h = await hierarchy({ [ROOT]: (q) => ({ ...reply(q, { rcode: RCODE.FORMERR }), edns: { udpPayloadSize: 1232, version: 0, dnssecOk: false, otherOptions: [] } }) });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port });
    expect((await resolver.resolve(clientQuery('www.example.test'))).rcode).toBe(RCODE.SERVFAIL);
    expect(h.servers[ROOT]!.queries.every((q) => q.message.edns !== undefined)).toBe(true);
  });
  it('dials a name server over IPv6 when its only glue is AAAA, and a root hint that is IPv6 only', async () => {
    const aaaa = (name: string, address: string): ResourceRecord => ({ name, type: 'AAAA', class: 'IN', ttl: 300, data: address });
    const h = await hierarchy({
      [ROOT]: (q) => reply(q, { aa: false, authorities: [ns('example.test', 'ns.example.test')], additionals: [aaaa('ns.example.test', '::1')] }),
      '::1': (q) => reply(q, { answers: [a(q.questions[0]!.name, '192.0.2.10')] }),
    });
    const viaGlue = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port });
    expect((await viaGlue.resolve(clientQuery('www.example.test'))).answers).toMatchObject([{ data: '192.0.2.10' }]);
    expect(h.servers['::1']!.queries).toHaveLength(1);

    const v6Hints = { nameServers: ['a.root-servers.test'], addresses: new Map([['a.root-servers.test', ['::1']]]) };
    const viaHints = makeResolver({ rootHints: v6Hints, upstreamPort: h.port });
    expect((await viaHints.resolve(clientQuery('other.test'))).answers).toMatchObject([{ data: '192.0.2.10' }]);
    expect(h.servers['::1']!.queries).toHaveLength(2);
    expect(h.servers[ROOT]!.queries).toHaveLength(1);
  });
  it('primes the root (RFC 8109): asks a hints server for . NS once and uses the servers it names', async () => {
    const isPriming = (q: Message): boolean => qname(q) === '' && q.questions[0]!.type === 'NS';
    const h = await hierarchy({
      // The hints name an old root that still answers priming; anything else it answers is wrong.
      [ROOT]: (q) =>
        isPriming(q)
          ? reply(q, { answers: [ns('.', 'b.root-servers.test')], additionals: [a('b.root-servers.test', TLD), a('elsewhere.test', '6.6.6.6')] })
          : reply(q, { answers: [a(q.questions[0]!.name, '6.6.6.6')] }),
      [TLD]: (q) => reply(q, { answers: [a(q.questions[0]!.name, '192.0.2.10')] }),
    });
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port, primeRoot: true });
    const answers = await Promise.all(['www.example.test', 'www2.example.test'].map((n) => resolver.resolve(clientQuery(n))));
    expect(answers.map((m) => m.answers[0]?.type === 'A' && m.answers[0].data)).toEqual(['192.0.2.10', '192.0.2.10']);
    expect((await resolver.resolve(clientQuery('www3.example.test'))).answers).toMatchObject([{ data: '192.0.2.10' }]);
    // One priming query, shared by the concurrent queries and not repeated while the root NS set is cached.
    expect(h.servers[ROOT]!.queries.map((q) => isPriming(q.message))).toEqual([true]);
    expect(resolver.cache.lookup('elsewhere.test', 'A', 'IN', { minRank: 'glue' }).kind).toBe('miss');
  });

  it.each([
    { case: 'REFUSED', answer: (q: Message) => reply(q, { rcode: RCODE.REFUSED }) },
    { case: 'no glue', answer: (q: Message) => reply(q, { answers: [ns('.', 'b.root-servers.test')] }) },
  ])('falls back to the root hints when priming fails ($case) and retries priming only later', async ({ answer }) => {
    const h = await hierarchy({
      [ROOT]: (q) => (qname(q) === '' ? answer(q) : reply(q, { answers: [a(q.questions[0]!.name, '192.0.2.10')] })),
    });
    const clock = { t: 1_000_000 };
    const resolver = makeResolver({ rootHints: hintsFor(ROOT), upstreamPort: h.port, primeRoot: true, now: () => clock.t });
    expect((await resolver.resolve(clientQuery('www.example.test'))).answers).toMatchObject([{ data: '192.0.2.10' }]);
    expect((await resolver.resolve(clientQuery('www2.example.test'))).answers).toMatchObject([{ data: '192.0.2.10' }]);
    clock.t += 61_000;
    await resolver.resolve(clientQuery('www3.example.test'));
    const asked = h.servers[ROOT]!.queries.map((q) => (qname(q.message) === '' ? 'prime' : 'query'));
    expect(asked).toEqual(['prime', 'query', 'query', 'prime', 'query']);
  });
});
