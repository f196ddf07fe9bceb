/**
 * The resolver cache's name watches (what the resolver's fast path checks instead of walking the
 * cache): a version per name that changes on every store, replacement and removal at the name, and a
 * map of watches that never outgrows the entries.
 */
import { describe, expect, it } from 'vitest';
import { ResolverCache, type EntryRead } from '../../../src/dns/resolver/cache.js';
import { ResolverAnswerCache, type CachedAnswers } from '../../../src/dns/resolver-fastpath.js';
import { readPlainQuery } from '../../../src/dns/fastpath.js';
import type { CachedReply } from '../../../src/dns/resolver/resolver.js';
import { encodeMessage } from '../../../src/dns/wire.js';
import { query } from '../query-client.js';
import { a, reply as replyTo, soa } from './responder.js';

function makeCache(maxEntries = 100) {
  const clock = { t: 1_000_000 };
  const cache = new ResolverCache({ maxEntries, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 3_600, staleWindow: 600, now: () => clock.t });
  return { cache, clock };
}

function readOf(cache: ResolverCache, name: string): EntryRead {
  const hit = cache.lookup(name, 'A', 'IN');
  if (hit.kind === 'miss') throw new Error(`${name}: miss`);
  return hit.read;
}

const unchanged = (read: EntryRead): boolean => read.watch.version === read.version;

describe('name watches', () => {
  it('change on any store at the name, and only there', () => {
    const { cache } = makeCache();
    cache.putRRset([a('www.example.test', '192.0.2.1', 300)], 'answer');
    cache.putRRset([a('other.example.test', '192.0.2.9', 300)], 'answer');
    const www = readOf(cache, 'www.example.test');
    const other = readOf(cache, 'OTHER.example.test');
    expect(unchanged(www) && unchanged(other)).toBe(true);
    // Another type at www: the A entry is untouched, but a walk at www may now read differently.
    cache.putNegative('nodata', 'www.example.test', 'MX', 'IN', soa('example.test', 300));
    expect(unchanged(www)).toBe(false);
    expect(unchanged(other)).toBe(true);
    const again = readOf(cache, 'www.example.test');
    cache.putNegative('nxdomain', 'WWW.example.test', 'A', 'IN', soa('example.test', 300));
    expect(unchanged(again)).toBe(false);
  });

  it('change when the entry is replaced, evicted or aged out, and leave with the last entry', () => {
    const { cache, clock } = makeCache(2);
    cache.putRRset([a('one.test', '192.0.2.1', 60)], 'answer');
    const first = readOf(cache, 'one.test');
    cache.putRRset([a('one.test', '192.0.2.2', 60)], 'answer');
    expect(unchanged(first)).toBe(false);
    const second = readOf(cache, 'one.test');
    cache.putRRset([a('two.test', '192.0.2.3', 60)], 'answer');
    cache.putRRset([a('three.test', '192.0.2.4', 60)], 'answer'); // evicts one.test
    expect(unchanged(second)).toBe(false);
    expect(cache.watchedNames).toBe(2);
    const three = readOf(cache, 'three.test');
    clock.t += 61_000 + 600_000; // past the TTL and the stale window: the lookup drops it
    expect(cache.lookup('three.test', 'A', 'IN')).toEqual({ kind: 'miss' });
    expect(unchanged(three)).toBe(false);
    expect(cache.watchedNames).toBe(1);
  });

  it('stay bounded by the entries under a flood of names', () => {
    const { cache } = makeCache(50);
    for (let i = 0; i < 5_000; i++) cache.putRRset([a(`n${i}.flood.test`, '192.0.2.1', 60)], 'answer');
    expect(cache.size).toBe(50);
    expect(cache.watchedNames).toBe(50);
  });
});

describe('the resolver fast path and the LRU order', () => {
  it('keeps the entries of a reply answered only by the fast path as recently used', () => {
    const { cache, clock } = makeCache(3);
    const question = { name: 'hot.test', type: 'A' as const, class: 'IN' as const };
    const answers: CachedAnswers = {
      cachedAnswer(): CachedReply | undefined {
        const hit = cache.lookup(question.name, 'A', 'IN');
        return hit.kind === 'rrset' ? { rcode: 0, reads: [hit.read], expiries: [hit.read.expiresAt] } : undefined;
      },
      cacheNow: () => clock.t,
      touchCached: (reads) => cache.touch(reads),
      countCacheHit: () => undefined,
    };
    const fast = new ResolverAnswerCache(answers);
    cache.putRRset([a('hot.test', '192.0.2.1', 3_600)], 'answer');
    cache.putRRset([a('b.test', '192.0.2.2', 3_600)], 'answer');
    cache.putRRset([a('c.test', '192.0.2.3', 3_600)], 'answer');
    const bytes = encodeMessage(query('hot.test', 'A', { rd: true, id: 1 }));
    const plain = readPlainQuery(bytes)!;
    const reply = encodeMessage(replyTo(query('hot.test', 'A', { rd: true, id: 1 }), { answers: [a('hot.test', '192.0.2.1', 3_600)] }));
    fast.store(plain, question, reply);
    // b and c are looked up later than hot; only the fast path answers hot from now on.
    cache.lookup('b.test', 'A', 'IN');
    cache.lookup('c.test', 'A', 'IN');
    clock.t += 1_500;
    expect(fast.answer(bytes, plain, 512)).toBeDefined();
    cache.putRRset([a('d.test', '192.0.2.4', 3_600)], 'answer'); // evicts the least recently used
    expect(cache.lookup('hot.test', 'A', 'IN').kind).toBe('rrset');
    expect(cache.lookup('b.test', 'A', 'IN').kind).toBe('miss');
  });
});
