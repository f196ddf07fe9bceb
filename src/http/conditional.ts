/**
 * Conditional requests answered from the cache (RFC 9110 §13): If-None-Match with weak comparison (§13.1.2),
 * If-Modified-Since only when If-None-Match is absent; If-Range for ranges (§13.1.5, strong comparison).
 */
import { single, type HeaderMap } from './header-value.js';

/** The opaque tag for weak comparison (RFC 9110 §8.8.3.2). */
export function weakTag(tag: string): string {
  return tag.trim().replace(/^W\//, '');
}

/** True when a GET/HEAD with these request headers should get 304 for a response with these validators. */
export function notModified(request: HeaderMap, etag: string | undefined, lastModified: string | undefined): boolean {
  const inm = single(request['if-none-match']);
  if (inm !== undefined) {
    if (etag === undefined) return false;
    if (inm.trim() === '*') return true;
    const mine = weakTag(etag);
    return inm.split(',').some((t) => weakTag(t) === mine);
  }
  const ims = single(request['if-modified-since']);
  if (ims === undefined || lastModified === undefined) return false;
  const since = Date.parse(ims);
  const modified = Date.parse(lastModified);
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
}

/** If-Range (§13.1.5): the range applies only if the validator still matches; ETags compare strongly. */
export function ifRangeAllows(request: HeaderMap, etag: string | undefined, lastModified: string | undefined): boolean {
  const v = single(request['if-range']);
  if (v === undefined) return true;
  const t = v.trim();
  if (t.startsWith('"') || t.startsWith('W/')) return etag !== undefined && !t.startsWith('W/') && !etag.startsWith('W/') && t === etag.trim();
  return lastModified !== undefined && t === lastModified.trim();
}

/** Headers a 304 carries (RFC 9110 §15.4.5): validators and caching metadata, not content headers. */
export const NOT_MODIFIED_HEADERS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'last-modified', 'vary', 'via'];
