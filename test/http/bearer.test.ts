import { describe, expect, it } from 'vitest';
import { bearer, BearerCheck } from '../../src/http/bearer.js';

describe('bearer token check (RFC 6750)', () => {
  const check = new BearerCheck('s3cret-token');
  it('accepts exactly the token, case-insensitive scheme, and nothing else', () => {
    expect(check.authorize(bearer('s3cret-token'))).toEqual({ ok: true });
    expect(check.authorize({ authorization: 'bearer s3cret-token ' })).toEqual({ ok: true });
    for (const authorization of ['Bearer s3cret-toke', 'Bearer s3cret-token2', 'Basic s3cret-token', 'Bearer', 'Bearer a b']) {
      expect(check.authorize({ authorization })).toMatchObject({ ok: false, status: 401 });
    }
    expect(check.authorize({})).toMatchObject({ ok: false, status: 401, reason: 'bearer token required' });
  });

  it('with no token configured nothing passes: 403, since no token could succeed', () => {
    const off = new BearerCheck(undefined);
    expect(off.enabled).toBe(false);
    expect(off.authorize(bearer('anything'))).toMatchObject({ ok: false, status: 403 });
    expect(new BearerCheck('').authorize(bearer(''))).toMatchObject({ ok: false });
  });
});
