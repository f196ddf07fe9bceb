/**
 * RFC 9111 §3: any final status the cache understands may be stored when it has explicit freshness; heuristic
 * freshness only for RFC 9110 §15.1's heuristically cacheable statuses. http-cache-semantics stores a fixed list.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decideStorage } from '../../src/edge/freshness.js';
import { fixed, startFixture, type Fixture } from './harness.js';

let f: Fixture;
beforeEach(async () => {
  f = await startFixture();
});
afterEach(async () => {
  await f.close();
});

const T0 = Date.parse('2024-06-01T00:00:00Z');
const get = { method: 'GET', url: '/x', headers: { host: 'example.test' } };
const old = new Date(T0 - 1000_000).toUTCString();

function decide(status: number, headers: Record<string, string>): number | string {
  const d = decideStorage(get, status, { date: new Date(T0).toUTCString(), ...headers }, () => T0);
  return d.storable ? d.freshness.lifetimeSec : d.reason;
}

describe('which statuses are stored (§3, RFC 9110 §15.1)', () => {
  it.each([
    [302, { 'cache-control': 'max-age=30' }, 30],
    [307, { expires: new Date(T0 + 20_000).toUTCString() }, 20],
    [308, { 'cache-control': 's-maxage=40' }, 40],
    [404, { 'cache-control': 'max-age=10' }, 10],
    [410, { 'cdn-cache-control': 'max-age=50' }, 50],
    [403, { 'cache-control': 'max-age=12' }, 12],
    [451, { 'cache-control': 'max-age=13' }, 13],
    [503, { 'cache-control': 'max-age=5' }, 5],
    [400, { 'cache-control': 'Max-Age=7' }, 7],
  ])('%i with explicit freshness is stored', (status, headers, want) => {
    expect(decide(status, headers)).toBe(want);
  });

  it.each([
    [404, 100],
    [410, 100],
    [301, 100],
    [200, 100],
  ])('%i is heuristically cacheable (10%% of Last-Modified age)', (status, want) => {
    expect(decide(status, { 'last-modified': old })).toBe(want);
  });

  it.each([
    [302, { 'last-modified': old }, 'no-explicit-freshness'],
    [307, { 'cache-control': 'public', 'last-modified': old }, 'no-explicit-freshness'],
    [503, { 'last-modified': old }, 'no-explicit-freshness'],
    [403, {}, 'no-explicit-freshness'],
    [206, { 'cache-control': 'max-age=60', 'content-range': 'bytes 0-1/10' }, 'status'],
    [304, { 'cache-control': 'max-age=60' }, 'status'],
    [401, { 'cache-control': 'max-age=60' }, 'status'],
    [407, { 'cache-control': 'max-age=60' }, 'status'],
    [429, { 'cache-control': 'max-age=60' }, 'status'],
    [299, { 'cache-control': 'max-age=60' }, 'status'],
    [503, { 'cache-control': 'max-age=60, no-store' }, 'policy'],
    [404, { 'cache-control': 'private, max-age=60' }, 'policy'],
  ])('%i %j is not stored', (status, headers, reason) => {
    expect(decide(status, headers)).toBe(reason);
  });
});

describe('stored statuses over real sockets (origin request counts)', () => {
  it.each([
    [302, { 'cache-control': 'max-age=60', location: '/elsewhere' }],
    [307, { 'cache-control': 'max-age=60', location: '/elsewhere' }],
    [308, { 'cache-control': 'max-age=60', location: '/elsewhere' }],
    [404, { 'cache-control': 'max-age=60' }],
    [410, { 'cache-control': 'max-age=60' }],
    [403, { 'cache-control': 'max-age=60' }],
    [503, { 'cache-control': 'max-age=60' }],
  ])('%i with max-age: the second request is a HIT', async (status, headers) => {
    f.origin.on('/s', fixed(status, headers, `status ${status}`));
    const a = await f.get('/s');
    const b = await f.get('/s');
    expect([a.status, b.status]).toEqual([status, status]);
    expect(b.body).toBe(`status ${status}`);
    expect(a.headers['cache-status']).toContain('stored');
    expect(b.headers['x-cache']).toBe('HIT');
    expect(f.origin.count('/s')).toBe(1);
  });

  it('a 503 without explicit freshness passes every time', async () => {
    f.origin.on('/down', fixed(503, { 'last-modified': old }, 'down'));
    await f.get('/down');
    const b = await f.get('/down');
    expect(b.status).toBe(503);
    expect(b.headers['x-cache']).toBe('MISS');
    expect(f.origin.count('/down')).toBe(2);
  });

  it('a cacheable 503 does not replace a stale copy that stale-if-error still covers (RFC 5861 §4)', async () => {
    let broken = false;
    f.origin.on('/sie', (_req, res) => {
      if (broken) {
        res.writeHead(503, { 'cache-control': 'max-age=30', 'content-length': '4' });
        res.end('down');
        return;
      }
      res.writeHead(200, { 'cache-control': 'max-age=1, stale-if-error=60', 'content-length': '4' });
      res.end('good');
    });
    await f.get('/sie');
    broken = true;
    f.clock.advance(5);
    const r = await f.get('/sie');
    expect([r.status, r.body, r.headers['x-cache']]).toEqual([200, 'good', 'STALE']);
    const again = await f.get('/sie');
    expect([again.status, again.body, again.headers['x-cache']]).toEqual([200, 'good', 'STALE']);
    expect(f.origin.count('/sie')).toBe(3);
  });
});
