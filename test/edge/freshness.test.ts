/** RFC 9111 rules where http-cache-semantics 4.3.0 is lenient or strict (STYLE: known traps), table-driven. */
import { describe, expect, it } from 'vitest';
import { decideStorage, evaluateRequest, requestControls, type Freshness } from '../../src/edge/freshness.js';
import { parseDirectives } from '../../src/edge/cache-control.js';

const T0 = Date.parse('2024-06-01T00:00:00Z');
const DATE = new Date(T0).toUTCString();
const get = { method: 'GET', url: '/x', headers: { host: 'example.test' } };

function freshness(headers: Record<string, string>, status = 200, req = get): Freshness | string {
  const d = decideStorage(req, status, { date: DATE, ...headers }, () => T0);
  return d.storable ? d.freshness : d.reason;
}

function lifetime(headers: Record<string, string>, status = 200): number | string {
  const f = freshness(headers, status);
  return typeof f === 'string' ? f : f.lifetimeSec;
}

describe('freshness lifetime (§4.2.1)', () => {
  it.each([
    ['s-maxage over max-age', { 'cache-control': 'max-age=10, s-maxage=30' }, 30],
    ['max-age over Expires', { 'cache-control': 'max-age=10', expires: new Date(T0 + 99_000).toUTCString() }, 10],
    ['Expires against Date', { expires: new Date(T0 + 42_000).toUTCString() }, 42],
    ['invalid Expires is already expired (§5.3)', { expires: '0' }, 0],
    ['directive names are case-insensitive (§5.2)', { 'cache-control': 'Max-Age=20' }, 20],
    ['non-integer max-age is invalid: stale (§1.2.2)', { 'cache-control': 'max-age=1.5' }, 0],
    ['conflicting duplicate max-age is invalid: stale', { 'cache-control': 'max-age=10, max-age=20' }, 0],
    ['heuristic from Last-Modified: 10% of its age', { 'last-modified': new Date(T0 - 1000_000).toUTCString() }, 100],
    ['CDN-Cache-Control overrides Cache-Control (RFC 9213)', { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=50' }, 50],
    ['Surrogate-Control max-age=N+M counts N', { 'cache-control': 'max-age=1', 'surrogate-control': 'max-age=25+60' }, 25],
    ['proxy-revalidate keeps max-age (the library would make it 0)', { 'cache-control': 'max-age=15, proxy-revalidate' }, 15],
  ])('%s', (_name, headers, want) => {
    expect(lifetime(headers)).toBe(want);
  });

  it('heuristic freshness only for heuristically cacheable statuses (302 with Last-Modified is not stored)', () => {
    expect(lifetime({ 'last-modified': new Date(T0 - 1000_000).toUTCString() }, 302)).toBe('no-explicit-freshness');
    expect(lifetime({ 'cache-control': 'max-age=5' }, 302)).toBe(5);
  });

  it.each([
    ['no-store', { 'cache-control': 'no-store' }, 'policy'],
    ['private (shared cache)', { 'cache-control': 'private, max-age=60' }, 'policy'],
    ['Set-Cookie is never stored (our decision)', { 'cache-control': 'public, max-age=60', 'set-cookie': 'a=b' }, 'set-cookie'],
    ['Vary: * is never stored', { 'cache-control': 'max-age=60', vary: '*' }, 'vary-star'],
    ['CDN-Cache-Control: no-store wins over a cacheable Cache-Control', { 'cache-control': 'max-age=60', 'cdn-cache-control': 'no-store' }, 'policy'],
  ])('not stored: %s', (_name, headers, reason) => {
    expect(freshness(headers)).toBe(reason);
  });

  it('Authorization: stored only when the response allows it (§3.5)', () => {
    const auth = { ...get, headers: { ...get.headers, authorization: 'Bearer x' } };
    expect(typeof freshness({ 'cache-control': 'max-age=60' }, 200, auth)).toBe('string');
    expect(typeof freshness({ 'cache-control': 'public, max-age=60' }, 200, auth)).toBe('object');
    expect(typeof freshness({ 'cache-control': 's-maxage=60' }, 200, auth)).toBe('object');
  });

  it('ignores an invalid Age and keeps the first of a list (§5.1)', () => {
    expect((freshness({ 'cache-control': 'max-age=60', age: 'abc' }) as Freshness).initialAgeSec).toBe(0);
    expect((freshness({ 'cache-control': 'max-age=60', age: '7, 9' }) as Freshness).initialAgeSec).toBe(7);
  });
});

describe('request evaluation (§4.2, §5.2.1, RFC 5861)', () => {
  const at = (seconds: number): number => T0 + seconds * 1000;
  const f = (cc: string): Freshness => freshness({ 'cache-control': cc }) as Freshness;
  const rc = (cc?: string) => requestControls(cc ? { 'cache-control': cc } : {}, 60);

  it.each([
    ['fresh', 'max-age=10', undefined, 5, 'fresh'],
    ['stale', 'max-age=10', undefined, 11, 'revalidate'],
    ['no-cache response: revalidated every time', 'no-cache, max-age=100', undefined, 1, 'revalidate'],
    ['must-revalidate does not force revalidation while fresh (library issue #54)', 'max-age=10, must-revalidate', undefined, 5, 'fresh'],
    ['must-revalidate is never served stale, whatever max-stale says', 'max-age=10, must-revalidate', 'max-stale=100', 11, 'revalidate'],
    ['client max-stale within the bound', 'max-age=10', 'max-stale=30', 20, 'stale-accepted'],
    ['client max-stale is bounded by the edge (60 s)', 'max-age=10', 'max-stale=1000', 200, 'revalidate'],
    ['client max-stale cannot override no-cache (library #56/#58)', 'no-cache', 'max-stale', 1, 'revalidate'],
    ['client no-cache', 'max-age=10', 'no-cache', 1, 'revalidate'],
    ['client NO-CACHE in capitals', 'max-age=10', 'NO-CACHE', 1, 'revalidate'],
    ['client max-age', 'max-age=100', 'max-age=5', 10, 'revalidate'],
    ['client min-fresh', 'max-age=100', 'min-fresh=95', 10, 'revalidate'],
    ['stale-while-revalidate window', 'max-age=10, stale-while-revalidate=30', undefined, 20, 'stale-while-revalidate'],
    ['after the stale-while-revalidate window', 'max-age=10, stale-while-revalidate=30', undefined, 41, 'revalidate'],
  ])('%s', (_name, response, request, seconds, want) => {
    expect(evaluateRequest(f(response), rc(request), at(seconds))).toBe(want);
  });

  it('only-if-cached and Pragma: no-cache are read', () => {
    expect(requestControls({ 'cache-control': 'only-if-cached' }, 60).onlyIfCached).toBe(true);
    expect(requestControls({ pragma: 'no-cache' }, 60).noCache).toBe(true);
  });

  it('parses quoted values with commas and lowercases names', () => {
    const d = parseDirectives('No-Cache="set-cookie, x", MAX-AGE=3');
    expect(d.get('no-cache')).toBe('set-cookie, x');
    expect(d.get('max-age')).toBe('3');
  });
});
