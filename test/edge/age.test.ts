/**
 * RFC 9111 §4.2.3: the age of a stored response counts from the origin's Date (apparent_age), the Age it
 * arrived with plus the request's round trip (corrected_age_value), whichever is larger, plus resident time.
 * Absurd Dates are clamped: a future one adds no freshness, a far past one stops at 2^31 s.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decideStorage, initialAge, MAX_AGE_SEC } from '../../src/edge/freshness.js';
import { startFixture, type Fixture } from './harness.js';

const T0 = Date.parse('2024-06-01T12:00:00Z');

describe('corrected_initial_age (§4.2.3)', () => {
  it.each([
    ['no Date, no Age, no delay', 0, NaN, T0, T0, 0],
    ['Date 100 s before receipt', 0, T0 - 100_000, T0, T0, 100],
    ['sub-second Date resolution is not age', 0, T0, T0 + 900, T0 + 900, 0],
    ['Age larger than apparent_age wins', 30, T0 - 10_000, T0, T0, 30],
    ['response_delay is added to Age', 30, T0, T0 - 2000, T0, 32],
    ['apparent_age larger than Age + delay wins', 5, T0 - 60_000, T0 - 1000, T0, 60],
    ['a Date in the future gives apparent_age 0', 0, T0 + 86_400_000 * 365 * 50, T0, T0, 0],
    ['a Date before 1970 is capped at 2^31 s', 0, Date.parse('Mon, 01 Jan 1900 00:00:00 GMT'), T0, T0, MAX_AGE_SEC],
  ])('%s', (_name, age, date, requestTime, responseTime, want) => {
    expect(initialAge(age, date, requestTime, responseTime)).toBe(want);
  });

  it('a future Date cannot stretch the Last-Modified heuristic', () => {
    const headers = { date: 'Fri, 01 Jan 2100 00:00:00 GMT', 'last-modified': new Date(T0 - 100_000).toUTCString() };
    const d = decideStorage({ method: 'GET', url: '/x', headers: {} }, 200, headers, () => T0);
    expect(d.storable && d.freshness.lifetimeSec).toBe(10);
    expect(d.storable && d.freshness.initialAgeSec).toBe(0);
  });
});

describe('Age over real sockets, with an origin whose Date is old', () => {
  let f: Fixture;
  let dateOffsetMs = 0;
  beforeEach(async () => {
    f = await startFixture();
    dateOffsetMs = 0;
  });
  afterEach(async () => {
    await f.close();
  });

  function serve(path: string, cacheControl: string, extra: Record<string, string> = {}): void {
    f.origin.on(path, (_req, res) => {
      res.writeHead(200, { date: new Date(f.clock.now() + dateOffsetMs).toUTCString(), 'cache-control': cacheControl, 'content-length': '4', ...extra });
      res.end('body');
    });
  }

  it('Age starts at now - Date and the response is stale sooner', async () => {
    dateOffsetMs = -100_000;
    serve('/old', 'max-age=300');
    await f.get('/old');
    const hit = await f.get('/old');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers.age).toBe('100');
    f.clock.advance(150);
    const later = await f.get('/old');
    expect(later.headers.age).toBe('250');
    expect(later.headers['x-cache']).toBe('HIT');
    f.clock.advance(60);
    const stale = await f.get('/old');
    expect(stale.headers['x-cache']).toBe('MISS');
    expect(f.origin.count('/old')).toBe(2);
  });

  it('a Date older than max-age makes the stored copy stale at once', async () => {
    dateOffsetMs = -120_000;
    serve('/older', 'max-age=60');
    await f.get('/older');
    await f.get('/older');
    expect(f.origin.count('/older')).toBe(2);
  });

  it('the larger of Age and apparent_age counts', async () => {
    dateOffsetMs = -10_000;
    serve('/aged', 'max-age=300', { age: '40' });
    await f.get('/aged');
    expect((await f.get('/aged')).headers.age).toBe('40');
  });

  it('a Date far in the future does not make the entry fresh for longer', async () => {
    dateOffsetMs = 86_400_000 * 365 * 30;
    serve('/future', 'max-age=10');
    await f.get('/future');
    const hit = await f.get('/future');
    expect([hit.headers['x-cache'], hit.headers.age]).toEqual(['HIT', '0']);
    f.clock.advance(11);
    expect((await f.get('/future')).headers['x-cache']).toBe('MISS');
    expect(f.origin.count('/future')).toBe(2);
  });

  it('a Date before 1970 gives Age 2147483648 at most (§1.2.2), served stale only where allowed', async () => {
    f.origin.on('/ancient', (_req, res) => {
      if (f.origin.count('/ancient') > 1) {
        res.writeHead(503, { 'content-length': '0' });
        res.end();
        return;
      }
      res.writeHead(200, { date: 'Mon, 01 Jan 1900 00:00:00 GMT', 'cache-control': 'max-age=60, stale-if-error=4294967295', 'content-length': '4' });
      res.end('body');
    });
    await f.get('/ancient');
    const r = await f.get('/ancient');
    expect([r.status, r.headers['x-cache'], r.headers.age]).toEqual([200, 'STALE', '2147483648']);
  });
});
