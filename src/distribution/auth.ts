import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Bearer-token check for push, purge, journal and replica endpoints. Both sides are hashed first so the
 * comparison is constant-time whatever the lengths; the token itself is never logged or echoed.
 */
export function hasValidToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization;
  if (header === undefined) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  return timingSafeEqual(digest(m[1]!), digest(token));
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
