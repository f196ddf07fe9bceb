import { createHash } from 'node:crypto';
import { etagForDigest } from '../src/origin/etags.js';

/**
 * The objects bench:edge serves: 1 KiB and 100 KiB bodies of deterministic bytes, the same in the
 * origin, the Node ceiling and (through the origin) every proxy measured.
 */
export interface BenchObject {
  path: string;
  body: Buffer;
  etag: string;
}

export const OBJECT_SIZES = [
  { path: '/1k', bytes: 1024 },
  { path: '/100k', bytes: 100 * 1024 },
] as const;

export function benchObjects(): BenchObject[] {
  return OBJECT_SIZES.map(({ path, bytes }) => {
    const body = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) body[i] = 97 + (i % 26);
    return { path, body, etag: `"${path.slice(1)}-v1"` };
  });
}

/**
 * The head a Node ceiling answers `o` with, as writeHead's flat list (its cheapest form, the one the edge uses).
 * By default it is the head a dnscdn hit on `o` carries (`curl -I` through the edge, in the same order): the
 * origin's Content-Type, ETag (the same value: origin/etags.ts), Last-Modified, Cache-Control, Accept-Ranges, Date
 * and Content-Length, then the cache's Via, Age, X-Cache and Cache-Status: 11 fields. A ceiling has to write the
 * same head to be one: node validates, lowercases and copies every field it writes, and the 7 fields a cache
 * adds to a bare answer's 4 cost 7 % of a 1 KiB HTTPS answer (node:https ceiling, wrk as in bench:edge, 5
 * process pairs: medians 72.4k req/s with 4 fields, 67.2k with 11).
 * `bare`: the 4 fields the ceilings sent until then (Content-Type, Content-Length, Cache-Control, Age), measured
 * as a reference row so that figures taken against it stay comparable.
 */
export function ceilingHead(o: BenchObject, bare: boolean): string[] {
  const length = String(o.body.length);
  if (bare) return ['content-type', 'application/octet-stream', 'content-length', length, 'cache-control', 'max-age=3600', 'age', '0'];
  const date = new Date().toUTCString();
  const etag = etagForDigest(createHash('sha256').update(o.body).digest('hex'));
  return [
    ...['content-type', 'application/octet-stream', 'etag', etag, 'last-modified', date, 'cache-control', 'public, max-age=3600', 'accept-ranges', 'bytes'],
    ...['date', date, 'via', '1.1 dnscdn', 'content-length', length, 'age', '0', 'x-cache', 'HIT', 'cache-status', 'dnscdn; hit'],
  ];
}
