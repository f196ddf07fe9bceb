/**
 * Issue 10 item 9 (web cache deception): a response to a request carrying a user's Cookie is shared only when the
 * response says so explicitly; heuristic freshness (Last-Modified alone) is not enough. Counted at the origin.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CookieRule } from '../../src/edge/policy.js';
import { fixed, startFixture, type Fixture, type OriginHandler } from './harness.js';

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

const LAST_MODIFIED = new Date(Date.now() - 30 * 86_400_000).toUTCString();

/** Answers with the user named in the request's session cookie, so a leak shows in the body. */
function personal(headers: Record<string, string>): OriginHandler {
  return (req, res) => {
    const user = /session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? 'anonymous';
    const body = `.account { content: "${user}" }`;
    res.writeHead(200, { 'content-type': 'text/css', 'content-length': String(body.length), ...headers });
    res.end(body);
  };
}

describe('responses to requests with a Cookie', () => {
  it('heuristic freshness only: not stored, the next user gets their own page', async () => {
    f = await startFixture();
    f.origin.on('/account.css', personal({ 'last-modified': LAST_MODIFIED }));
    const alice = await f.get('/account.css', { cookie: 'session=alice' });
    expect(alice.body).toContain('alice');
    expect(alice.headers['cache-status']).toBe('dnscdn; fwd=miss; fwd-status=200; detail=cookie-without-explicit-caching');
    const bob = await f.get('/account.css');
    expect(bob.body).toContain('anonymous');
    expect(bob.headers['x-cache']).toBe('MISS');
    expect(f.origin.count('/account.css')).toBe(2);
    // Without a cookie the same response is stored as before (heuristic freshness is fine for anonymous fills).
    expect((await f.get('/account.css')).headers['x-cache']).toBe('HIT');
    expect(f.origin.count('/account.css')).toBe(2);
  });

  it('a 304 to a cookie request freshens the shared copy it selects instead of dropping it', async () => {
    f = await startFixture();
    f.origin.on('/logo.css', fixed(200, { etag: '"v1"', 'last-modified': LAST_MODIFIED }, 'shared'));
    await f.get('/logo.css'); // stored from an anonymous fill, heuristically fresh for 3 days
    f.clock.advance(4 * 86_400);
    const alice = await f.get('/logo.css', { cookie: 'session=alice' });
    expect(alice.headers['x-cache']).toBe('REVALIDATED');
    expect(f.origin.seen[1]!.headers['if-none-match']).toBe('"v1"');
    const bob = await f.get('/logo.css');
    expect(bob.headers['x-cache']).toBe('HIT');
    expect(bob.body).toBe('shared');
    expect(f.origin.count('/logo.css')).toBe(2);
  });

  const explicit: Array<[string, Record<string, string>]> = [
    ['public', { 'cache-control': 'public', 'last-modified': LAST_MODIFIED }],
    ['max-age', { 'cache-control': 'max-age=60' }],
    ['s-maxage', { 'cache-control': 's-maxage=60' }],
    ['Expires', { expires: new Date(Date.now() + 3_600_000).toUTCString() }],
    ['CDN-Cache-Control', { 'cdn-cache-control': 'max-age=60' }],
    ['Surrogate-Control', { 'surrogate-control': 'max-age=60' }],
  ];
  for (const [name, headers] of explicit) {
    it(`explicitly cacheable (${name}): stored and served to others`, async () => {
      f = await startFixture();
      f.origin.on('/site.css', personal(headers));
      await f.get('/site.css', { cookie: 'session=alice' });
      const other = await f.get('/site.css');
      expect(other.headers['x-cache']).toBe('HIT');
      expect(f.origin.count('/site.css')).toBe(1);
    });
  }

  it('cookies the operator ignores do not count; any other cookie still does', async () => {
    f = await startFixture({ ignoreCookies: ['_ga*', '_gid'] });
    f.origin.on('/a.css', personal({ 'last-modified': LAST_MODIFIED }));
    f.origin.on('/b.css', personal({ 'last-modified': LAST_MODIFIED }));
    await f.get('/a.css', { cookie: '_ga=GA1.2.3; _gid=GA1.4; _ga_XYZ=GS1' });
    expect((await f.get('/a.css')).headers['x-cache']).toBe('HIT');
    expect(f.origin.count('/a.css')).toBe(1);
    // The ignored cookies still reach the origin on the fill.
    expect(f.origin.seen[0]!.headers.cookie).toBe('_ga=GA1.2.3; _gid=GA1.4; _ga_XYZ=GS1');
    await f.get('/b.css', { cookie: '_ga=GA1.2.3; session=alice' });
    const bob = await f.get('/b.css');
    expect(bob.headers['x-cache']).toBe('MISS');
    expect(bob.body).toContain('anonymous');
  });
});

describe('CookieRule', () => {
  it('matches names with * wildcards, case-sensitively, and treats a nameless pair as a cookie', () => {
    const rule = new CookieRule(['_ga*', '_gid', 'utm.x']);
    expect(rule.identifiesUser(undefined)).toBe(false);
    expect(rule.identifiesUser('')).toBe(false);
    expect(rule.identifiesUser(' _ga=1 ;  _gid=2; _ga_ABC=3')).toBe(false);
    expect(rule.identifiesUser('utm.x=1')).toBe(false);
    expect(rule.identifiesUser('utmax=1')).toBe(true); // '.' is literal, not a regex wildcard
    expect(rule.identifiesUser('_GA=1')).toBe(true);
    expect(rule.identifiesUser('_gidx=1')).toBe(true);
    expect(rule.identifiesUser('_ga=1; token')).toBe(true);
    expect(new CookieRule().identifiesUser('_ga=1')).toBe(true);
  });

  it('refuses patterns that are not cookie names, and a bare *', () => {
    expect(() => new CookieRule(['*'])).toThrow(/cookie pattern "\*"/);
    expect(() => new CookieRule(['a b'])).toThrow(/token characters/);
    expect(() => new CookieRule(['a=b'])).toThrow(/token characters/);
  });
});
