/**
 * Header rules of a proxy: what is not forwarded (hop-by-hop, RFC 9110 §7.6.1), what the edge adds toward the
 * origin (Via §7.6.3, X-Forwarded-For, Forwarded RFC 7239), and what never reaches a client (edge-only controls).
 */
import type { IncomingHttpHeaders } from 'node:http';

import { single, type HeaderMap } from '../http/header-value.js';
import { HOP_AUTH_HEADER, HOP_HEADER } from './ring/hops.js';

// The shared value helpers live in the HTTP toolkit (origin and distribution use them too).
export { single, type HeaderMap } from '../http/header-value.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
]);

/**
 * Cache controls aimed at this edge (RFC 9213 CDN-Cache-Control, Edge Architecture Surrogate-Control) and the
 * purge tags it indexes (Surrogate-Key, Cache-Tag): consumed here, never delivered to clients.
 */
export const EDGE_ONLY = new Set(['cdn-cache-control', 'surrogate-control', 'surrogate-key', 'cache-tag']);

/** The hop header between edges (ring/hops.ts): never forwarded as a client sent it. */
const EDGE_HOP = [HOP_HEADER, HOP_AUTH_HEADER];

/**
 * A copy without hop-by-hop headers, including those the Connection header names (RFC 9110 §7.6.1), and without
 * HTTP/2 pseudo-headers (`:path`, ...: they describe the client's request, RFC 9113 §8.3, and HTTP/1.1 to the
 * origin has no place for them; client-request.ts leaves them in node's object).
 */
export function endToEnd(headers: HeaderMap | IncomingHttpHeaders): HeaderMap {
  const named = new Set<string>();
  const conn = headers.connection;
  if (typeof conn === 'string') for (const t of conn.split(',')) named.add(t.trim().toLowerCase());
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || k[0] === ':' || HOP_BY_HOP.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  return out;
}

export interface ClientInfo {
  address: string;
  /** The Host the client asked for; preserved toward the origin so it can serve virtual hosts. */
  host: string;
  /** The scheme the client used (RFC 7239 `proto`); default http. */
  scheme?: 'http' | 'https';
}

/** Headers for a request to the origin: end-to-end ones plus Via, X-Forwarded-For and Forwarded. */
export function toOriginHeaders(request: IncomingHttpHeaders, client: ClientInfo, via: string): HeaderMap {
  // Framing (Content-Length, Transfer-Encoding, Expect) is set by the origin client from the body it sends.
  const out = endToEnd(request);
  // The hop header is between edges only: the ring upstream signs a new one for each forward (ring/hops.ts).
  for (const h of EDGE_HOP) delete out[h];
  out.host = client.host;
  const xff = single(out['x-forwarded-for']);
  out['x-forwarded-for'] = xff ? `${xff}, ${client.address}` : client.address;
  // RFC 7239 §6: IPv6 addresses are quoted and bracketed; the host value is quoted when it holds a ':'.
  const forNode = client.address.includes(':') ? `"[${client.address}]"` : client.address;
  const element = `for=${forNode};host="${client.host.replace(/["\\]/g, '')}";proto=${client.scheme ?? 'http'}`;
  const fwd = single(out.forwarded);
  out.forwarded = fwd ? `${fwd}, ${element}` : element;
  const prior = single(out.via);
  out.via = prior ? `${prior}, ${via}` : via;
  return out;
}

/**
 * Response headers as a client may see them: end-to-end, without edge-only controls, with our Via appended.
 * Content-Length is left to the caller (stored bodies know their length; streamed ones keep the origin's).
 */
export function toClientHeaders(response: HeaderMap, via: string): HeaderMap {
  const out = endToEnd(response);
  for (const k of EDGE_ONLY) delete out[k];
  const prior = single(out.via);
  out.via = prior ? `${prior}, ${via}` : via;
  return out;
}

/** Flattens to node's raw header list `[name, value, name, value, ...]` (repeated names for arrays). */
export function flatten(headers: HeaderMap): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) out.push(k, one);
    else out.push(k, v);
  }
  return out;
}
