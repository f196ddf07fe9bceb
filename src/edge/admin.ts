/**
 * Operator endpoints under `/.dnscdn/` (and the PURGE method), all behind one bearer token. Other modules
 * (origin push: src/edge/replica.ts) register their routes here. The token is compared in constant time
 * and never logged; without a configured token every admin request is refused (403).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { single } from './headers.js';

export const ADMIN_PREFIX = '/.dnscdn/';

export interface AdminRequest {
  method: string;
  /** Path without the query, e.g. `/.dnscdn/purge`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The request body, read completely (bounded by the server). */
  body: Buffer;
}

export interface AdminReply {
  status: number;
  /** Sent as JSON unless it is a string or Buffer. */
  body?: unknown;
  headers?: Record<string, string>;
}

export type AdminHandler = (req: AdminRequest) => AdminReply | Promise<AdminReply>;

export type Authorization = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export class AdminRoutes {
  private readonly routes = new Map<string, AdminHandler>();
  private readonly tokenDigest: Buffer | undefined;

  constructor(token: string | undefined) {
    this.tokenDigest = token ? digest(token) : undefined;
  }

  /** Registers `handler` for `method path`; `path` must start with `/.dnscdn/`. A second registration replaces the first. */
  add(method: string, path: string, handler: AdminHandler): void {
    if (!path.startsWith(ADMIN_PREFIX)) throw new Error(`admin routes live under ${ADMIN_PREFIX}: ${path}`);
    this.routes.set(`${method.toUpperCase()} ${path}`, handler);
  }

  find(method: string, path: string): AdminHandler | undefined {
    return this.routes.get(`${method} ${path}`);
  }

  hasPath(path: string): boolean {
    for (const k of this.routes.keys()) if (k.slice(k.indexOf(' ') + 1) === path) return true;
    return false;
  }

  /**
   * RFC 6750 §3.1: a missing or wrong token is 401 (`invalid_token`) with a challenge, and changes nothing;
   * 403 only when admin is disabled (no token configured), since no token could ever succeed.
   */
  authorize(headers: IncomingHttpHeaders): Authorization {
    const auth = single(headers.authorization);
    if (auth === undefined) return { ok: false, status: 401, reason: 'bearer token required' };
    if (this.tokenDigest === undefined) return { ok: false, status: 403, reason: 'admin endpoints are disabled (no admin token configured)' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    // Hashing both sides gives equal lengths, so timingSafeEqual does not leak the token's length.
    if (!m || !timingSafeEqual(digest(m[1]!), this.tokenDigest)) return { ok: false, status: 401, reason: 'invalid token' };
    return { ok: true };
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
