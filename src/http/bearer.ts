/**
 * Bearer-token authorization (RFC 6750) for every admin endpoint and every link between roles. The expected
 * token is hashed once; a presented token is hashed too, so `timingSafeEqual` compares equal lengths and the
 * comparison leaks neither the token nor its length. Tokens are never logged or echoed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { single, type HeaderMap } from './header-value.js';

export type Authorization = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export class BearerCheck {
  private readonly expected: Buffer | undefined;

  /** Without a token nothing is authorized: such an endpoint is disabled, not open. */
  constructor(token: string | undefined) {
    this.expected = token ? digest(token) : undefined;
  }

  get enabled(): boolean {
    return this.expected !== undefined;
  }

  /**
   * RFC 6750 §3.1: a missing or wrong token is 401 (send a `WWW-Authenticate: Bearer` challenge) and changes
   * nothing; 403 only when no token is configured, since then no token could ever succeed.
   */
  authorize(headers: HeaderMap): Authorization {
    const header = single(headers.authorization);
    if (header === undefined) return { ok: false, status: 401, reason: 'bearer token required' };
    if (this.expected === undefined) return { ok: false, status: 403, reason: 'admin endpoints are disabled (no admin token configured)' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m || !timingSafeEqual(digest(m[1]!), this.expected)) return { ok: false, status: 401, reason: 'invalid token' };
    return { ok: true };
  }
}

/** The challenge header a 401 carries (RFC 6750 §3). */
export const BEARER_CHALLENGE = { 'www-authenticate': 'Bearer realm="dnscdn"' } as const;

/** Request headers that present `token`. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
