import { describe, expect, it } from 'vitest';
import { ResolverCache, type CacheOptions } from '../../../src/dns/resolver/cache.js';
import { a, ns, soa } from './responder.js';

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
