import { describe, expect, it } from 'vitest';
import { ResolverCache, type CacheOptions } from '../../../src/dns/resolver/cache.js';
import { answerFromCache, type CacheTrace } from '../../../src/dns/resolver/iterator.js';
import type { RecordType } from '../../../src/dns/types.js';
import { a, cname, ns, soa } from './responder.js';

function makeCache(overrides: Partial<CacheOptions> = {}) {
  const clock = { t: 1_000_000 };
  const cache = new ResolverCache({
    maxEntries: 100,
    minTtl: 0,
    maxTtl: 86_400,
    maxNegativeTtl: 3_600,
    staleWindow: 600,
    now: () => clock.t,
    ...overrides,
  });
  return { cache, clock };
}

describe('resolver cache', () => {
  it('counts TTLs down with the clock and expires entries', () => {
    const { cache, clock } = makeCache();
    cache.putRRset([a('host.example.test', '192.0.2.1', 300), a('host.example.test', '192.0.2.2', 200)], 'answer');
    const first = cache.lookup('HOST.example.test', 'A', 'IN');
    expect(first).toMatchObject({ kind: 'rrset', stale: false, records: [{ ttl: 200 }, { ttl: 200 }] }); // one TTL per RRset
    clock.t += 50_000;
    expect(cache.lookup('host.example.test', 'A', 'IN')).toMatchObject({ records: [{ ttl: 150 }, { ttl: 150 }] });
    clock.t += 150_000;
    expect(cache.lookup('host.example.test', 'A', 'IN')).toEqual({ kind: 'miss' });
  });

  it.each([
    { ttl: 5, min: 60, max: 86_400, want: 60 },
    { ttl: 999_999, min: 0, max: 3_600, want: 3_600 },
    { ttl: 300, min: 0, max: 3_600, want: 300 },
  ])('clamps TTL $ttl to [$min, $max] -> $want', ({ ttl, min, max, want }) => {
    const { cache } = makeCache({ minTtl: min, maxTtl: max });
    cache.putRRset([a('x.test', '192.0.2.1', ttl)], 'answer');
    expect(cache.lookup('x.test', 'A', 'IN')).toMatchObject({ records: [{ ttl: want }] });
  });

  it('does not cache TTL 0 records', () => {
    const { cache } = makeCache();
    expect(cache.putRRset([a('x.test', '192.0.2.1', 0)], 'answer')).toBe(false);
    expect(cache.lookup('x.test', 'A', 'IN').kind).toBe('miss');
  });

  it('caches NXDOMAIN for every type and NODATA per type, for min(SOA TTL, SOA minimum) (RFC 2308 §5)', () => {
    const { cache, clock } = makeCache();
    cache.putNegative('nxdomain', 'nope.example.test', 'A', 'IN', soa('example.test', 3600, 60));
    cache.putNegative('nodata', 'host.example.test', 'AAAA', 'IN', soa('example.test', 30, 900));
    expect(cache.lookup('nope.example.test', 'MX', 'IN')).toMatchObject({ kind: 'nxdomain', soa: { ttl: 60 } });
    expect(cache.lookup('host.example.test', 'AAAA', 'IN')).toMatchObject({ kind: 'nodata', soa: { ttl: 30 } });
    expect(cache.lookup('host.example.test', 'A', 'IN').kind).toBe('miss');
    clock.t += 31_000;
    expect(cache.lookup('host.example.test', 'AAAA', 'IN').kind).toBe('miss');
    expect(cache.lookup('nope.example.test', 'A', 'IN')).toMatchObject({ kind: 'nxdomain', soa: { ttl: 29 } });
  });

  it('does not cache a negative answer without an SOA', () => {
    const { cache } = makeCache();
    expect(cache.putNegative('nxdomain', 'nope.test', 'A', 'IN', undefined)).toBe(false);
  });

  it('keeps fresh answer data over glue, and glue answers only lookups that ask for it', () => {
    const { cache } = makeCache();
    cache.putRRset([a('ns.example.test', '192.0.2.53')], 'answer');
    expect(cache.putRRset([a('ns.example.test', '203.0.113.66')], 'glue')).toBe(false);
    expect(cache.lookup('ns.example.test', 'A', 'IN')).toMatchObject({ records: [{ data: '192.0.2.53' }] });
    cache.putRRset([a('ns.other.test', '192.0.2.54')], 'glue');
    cache.putRRset([ns('other.test', 'ns.other.test')], 'referral');
    expect(cache.lookup('ns.other.test', 'A', 'IN').kind).toBe('miss');
    expect(cache.lookup('ns.other.test', 'A', 'IN', { minRank: 'glue' }).kind).toBe('rrset');
    expect(cache.lookup('other.test', 'NS', 'IN', { minRank: 'referral' }).kind).toBe('rrset');
  });

  it('serves expired entries with TTL 30 only to stale lookups, and only within the stale window (RFC 8767)', () => {
    const { cache, clock } = makeCache({ staleWindow: 600 });
    cache.putRRset([a('host.example.test', '192.0.2.1', 60)], 'answer');
    clock.t += 61_000;
    expect(cache.lookup('host.example.test', 'A', 'IN').kind).toBe('miss');
    expect(cache.lookup('host.example.test', 'A', 'IN', { allowStale: true })).toMatchObject({ stale: true, records: [{ ttl: 30 }] });
    clock.t += 600_000;
    expect(cache.lookup('host.example.test', 'A', 'IN', { allowStale: true }).kind).toBe('miss');
  });

  it('is bounded by its entry count', () => {
    const { cache } = makeCache({ maxEntries: 10 });
    for (let i = 0; i < 50; i++) cache.putRRset([a(`h${i}.test`, '192.0.2.1')], 'answer');
    expect(cache.size).toBe(10);
    expect(cache.lookup('h49.test', 'A', 'IN').kind).toBe('rrset');
    expect(cache.lookup('h0.test', 'A', 'IN').kind).toBe('miss');
  });
  it('is bounded by estimated bytes when given maxBytes, whatever the entry bound', () => {
    const { cache } = makeCache({ maxEntries: 1_000, maxBytes: 4_096 });
    const big = (i: number) => Array.from({ length: 20 }, (_, j) => a(`h${i}.example.test`, `192.0.2.${j}`));
    for (let i = 0; i < 50; i++) cache.putRRset(big(i), 'answer');
    expect(cache.bytes).toBeGreaterThan(0);
    expect(cache.bytes).toBeLessThanOrEqual(4_096);
    expect(cache.size).toBeLessThan(50);
    expect(cache.lookup('h49.example.test', 'A', 'IN')).toMatchObject({ kind: 'rrset', records: big(49).map((r) => ({ data: r.data })) });
    expect(cache.lookup('h0.example.test', 'A', 'IN').kind).toBe('miss');
    // Small entries: many more fit in the same bytes.
    const { cache: small } = makeCache({ maxEntries: 1_000, maxBytes: 4_096 });
    for (let i = 0; i < 50; i++) small.putRRset([a(`h${i}.test`, '192.0.2.1')], 'answer');
    expect(small.size).toBeGreaterThan(cache.size);
  });
});

/**
 * `replay` (the resolver fast path's check) against what matters: a new walk of the cache. While a
 * replay holds, the walk must give the same answer with the replayed TTLs; after any change the walk
 * would see, the replay must fail.
 */
describe('resolver cache replay', () => {
  function filled(overrides: Partial<CacheOptions> = {}) {
    const made = makeCache(overrides);
    made.cache.putRRset([cname('alias.example.test', 'www.example.test', 100)], 'answer');
    made.cache.putRRset([a('www.example.test', '192.0.2.1', 300), a('www.example.test', '192.0.2.2', 300)], 'answer');
    made.cache.putNegative('nxdomain', 'nope.example.test', 'A', 'IN', soa('example.test', 3600, 60));
    made.cache.putNegative('nodata', 'www.example.test', 'MX', 'IN', soa('example.test', 30, 900));
    return made;
  }

  /** A fresh walk, as the resolver's `cachedAnswer` does it: the TTLs in reply order, and its trace. */
  function walk(cache: ResolverCache, name: string, type: RecordType) {
    const trace: CacheTrace = { reads: [], ttlReads: [] };
    const found = answerFromCache(cache, name, type, 'IN', { allowStale: false }, 8, trace);
    if (found.kind !== 'complete' || found.resolution.kind === 'failure') return { trace, ttls: undefined };
    const r = found.resolution;
    const ttls = [...r.records, ...(r.kind !== 'answer' && r.soa ? [r.soa] : [])].map((rr) => rr.ttl);
    return { trace, ttls, kind: r.kind, data: r.records.map((rr) => rr.data) };
  }

  /** The TTLs a replay of `trace` patches in reply order, or undefined when it fails. */
  function replayed(cache: ResolverCache, trace: CacheTrace): number[] | undefined {
    const ttls = new Array<number>(trace.reads.length).fill(-1);
    return cache.replay(trace.reads, ttls) ? trace.ttlReads.map((i) => ttls[i]!) : undefined;
  }

  const QUESTIONS: Array<[string, RecordType, number]> = [
    ['www.example.test', 'A', 2],
    ['alias.example.test', 'A', 3], // the CNAME, then www's two A records
    ['nope.example.test', 'AAAA', 1], // NXDOMAIN: its SOA
    ['www.example.test', 'MX', 1], // NODATA: its SOA
  ];

  it.each(QUESTIONS)('gives a new walk’s TTLs for %s %s while time passes, and fails once an entry expires', (name, type, count) => {
    const { cache, clock } = filled();
    const { trace } = walk(cache, name, type);
    expect(trace.ttlReads).toHaveLength(count);
    // 28.3 s in all: within the shortest TTL (the NODATA's 30 s).
    for (const step of [0, 1, 999, 12_345, 15_000]) {
      clock.t += step;
      const again = walk(cache, name, type);
      expect(again.ttls).toHaveLength(count);
      expect(replayed(cache, trace), `after ${step} ms`).toEqual(again.ttls);
      expect(again.ttls!.every((t) => t! >= 1)).toBe(true); // a fresh answer never shows TTL 0
    }
    clock.t += 3_600_000; // every entry has expired
    expect(walk(cache, name, type).ttls).toBeUndefined();
    expect(replayed(cache, trace)).toBeUndefined();
  });

  it('fails at the millisecond an entry expires, not before', () => {
    const { cache, clock } = filled();
    const { trace } = walk(cache, 'alias.example.test', 'A');
    clock.t += 99_999;
    expect(replayed(cache, trace)).toEqual([1, 201, 201]);
    clock.t += 1; // the CNAME's 100 s are over
    expect(replayed(cache, trace)).toBeUndefined();
    expect(walk(cache, 'alias.example.test', 'A').ttls).toBeUndefined();
  });

  it.each([
    ['the RRset is stored again (a new entry)', (c: ResolverCache) => c.putRRset([a('www.example.test', '192.0.2.9', 300)], 'answer')],
    ['an NXDOMAIN is cached for the name', (c: ResolverCache) => c.putNegative('nxdomain', 'www.example.test', 'AAAA', 'IN', soa('example.test'))],
    ['an NXDOMAIN is cached for the CNAME’s owner', (c: ResolverCache) => c.putNegative('nxdomain', 'alias.example.test', 'AAAA', 'IN', soa('example.test'))],
    ['an answer is cached at the CNAME’s owner for the asked type', (c: ResolverCache) => c.putRRset([a('alias.example.test', '192.0.2.7')], 'answer')],
    ['the CNAME is stored again', (c: ResolverCache) => c.putRRset([cname('alias.example.test', 'other.example.test', 100)], 'answer')],
  ])('fails when %s, as the new walk differs', (_, change) => {
    const { cache } = filled();
    const before = walk(cache, 'alias.example.test', 'A');
    change(cache);
    const after = walk(cache, 'alias.example.test', 'A');
    expect(after.data === undefined ? after : { kind: after.kind, data: after.data }).not.toEqual({ kind: before.kind, data: before.data });
    expect(replayed(cache, before.trace)).toBeUndefined();
  });

  it('holds when only data no client answer uses arrives (glue at the CNAME’s owner), as the walk ignores it too', () => {
    const { cache } = filled();
    const before = walk(cache, 'alias.example.test', 'A');
    cache.putRRset([a('alias.example.test', '192.0.2.7')], 'glue');
    expect(walk(cache, 'alias.example.test', 'A').data).toEqual(before.data);
    expect(replayed(cache, before.trace)).toEqual(before.ttls);
  });

  it('fails once an entry it read was evicted', () => {
    const { cache } = filled({ maxEntries: 4 });
    const { trace } = walk(cache, 'www.example.test', 'A');
    for (let i = 0; i < 4; i++) cache.putRRset([a(`h${i}.test`, '192.0.2.1')], 'answer');
    expect(replayed(cache, trace)).toBeUndefined();
  });
});
