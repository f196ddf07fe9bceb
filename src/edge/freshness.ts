/**
 * Storability and freshness of a response at this edge. http-cache-semantics decides storability (§3) and the
 * freshness lifetime (§4.2.1: s-maxage, then max-age, then Expires against Date, then the Last-Modified
 * heuristic for heuristically cacheable statuses). Where the library is lenient, RFC 9111 rules, and the
 * headers it sees are normalised first (see `policyHeaders`). Its request-time evaluation is NOT used:
 * version 4.3.0 forces revalidation of fresh must-revalidate responses (issue #54) and lets a client's
 * max-stale override no-cache/proxy-revalidate (#56, #58). `evaluateRequest` below implements §4.2/§5.2.1.
 */
import CachePolicy from 'http-cache-semantics';
import { deltaSeconds, formatDirectives, parseDirectives, type Directives } from './cache-control.js';
import { single, type HeaderMap } from './headers.js';
import { storeVeto, type FillRequest } from './policy.js';

/** What the edge learns about a response when it is stored; all times are on the edge's clock. */
export interface Freshness {
  /** Freshness lifetime in seconds (§4.2.1). */
  lifetimeSec: number;
  /** Age of the response when it arrived (Age header, §4.2.3), in seconds. */
  initialAgeSec: number;
  /** Edge clock (ms) when the response arrived: resident time counts from here. */
  responseTime: number;
  /** Absolute deadline (ms) after which the response is stale. */
  freshUntil: number;
  /** no-cache: stored but validated before each use (§5.2.2.4). */
  noCache: boolean;
  /** must-revalidate, proxy-revalidate or s-maxage (§5.2.2.2, .8, .10): never served stale. */
  mustRevalidate: boolean;
  /** RFC 5861 windows after staleness, in seconds. */
  staleWhileRevalidateSec: number;
  staleIfErrorSec: number;
}

export type StoreDecision = { storable: true; freshness: Freshness } | { storable: false; reason: string };

/** A subclass whose clock is ours, so tests move time instead of sleeping (the library reads `this.now()`). */
function policyClass(now: () => number): typeof CachePolicy {
  return class EdgePolicy extends CachePolicy {
    now(): number {
      return now();
    }
  };
}

/**
 * The cache-control an edge obeys: CDN-Cache-Control (RFC 9213 §2.1: when present, Cache-Control and Expires are
 * ignored), else Surrogate-Control (its `max-age=N+M` form counts N), else Cache-Control.
 */
export function effectiveControls(headers: HeaderMap): { directives: Directives; targeted: boolean } {
  const cdn = single(headers['cdn-cache-control']);
  if (cdn !== undefined && cdn.trim() !== '') return { directives: parseDirectives(cdn), targeted: true };
  const surrogate = single(headers['surrogate-control']);
  if (surrogate !== undefined && surrogate.trim() !== '') {
    const d = parseDirectives(surrogate);
    const ma = d.get('max-age');
    if (typeof ma === 'string' && ma.includes('+')) d.set('max-age', ma.slice(0, ma.indexOf('+')));
    return { directives: d, targeted: true };
  }
  const cc = parseDirectives(headers['cache-control']);
  return { directives: cc, targeted: false };
}

/**
 * The response headers handed to http-cache-semantics, normalised so that its answers follow RFC 9111:
 * lowercased directive names; an invalid max-age/s-maxage becomes 0 (stale, §4.2.1); proxy-revalidate is removed
 * (the library treats it as "always stale"; §5.2.2.8 means "never serve stale", which we track ourselves);
 * an invalid Age is ignored and a list keeps its first member (§5.1); targeted controls replace Cache-Control.
 */
function policyHeaders(headers: HeaderMap, directives: Directives, targeted: boolean): HeaderMap {
  const d: Directives = new Map(directives);
  for (const name of ['max-age', 's-maxage']) {
    if (d.has(name) && deltaSeconds(d.get(name)) === undefined) d.set(name, '0');
  }
  d.delete('proxy-revalidate');
  const out: HeaderMap = { ...headers };
  if (d.size > 0) out['cache-control'] = formatDirectives(d);
  else delete out['cache-control'];
  if (targeted) delete out.expires;
  const age = single(headers.age);
  if (age !== undefined) {
    const first = deltaSeconds(age.split(',')[0]!.trim());
    if (first === undefined) delete out.age;
    else out.age = String(first);
  }
  return out;
}

/** Statuses the library does not know; it is asked about them as 302, a status it stores on explicit freshness only. */
const LIBRARY_STATUSES = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);
const STAND_IN_STATUS = 302;

/** §4.2.1: explicit freshness is s-maxage, max-age or Expires (targeted controls were folded into `cache-control`). */
function hasExplicitFreshness(policy: HeaderMap, directives: Directives): boolean {
  return directives.has('s-maxage') || directives.has('max-age') || policy.expires !== undefined;
}

/**
 * Decides whether a response may be stored and, if so, its freshness: first the edge's own rules (policy.ts:
 * Set-Cookie, Vary: *, statuses, the Cookie rule), then the library's §3 checks, then the freshness lifetime.
 */
export function decideStorage(request: FillRequest, status: number, headers: HeaderMap, now: () => number, requestTime?: number): StoreDecision {
  const { directives, targeted } = effectiveControls(headers);
  const resHeaders = policyHeaders(headers, directives, targeted);
  const explicit = hasExplicitFreshness(resHeaders, directives);
  const veto = storeVeto(request, status, headers, { explicitFreshness: explicit, isPublic: directives.has('public'), targeted });
  if (veto !== undefined) return { storable: false, reason: veto };
  const Policy = policyClass(now);
  const reqHeaders: HeaderMap = { ...request.headers };
  const reqCc = parseDirectives(request.headers['cache-control']);
  if (reqCc.size > 0) reqHeaders['cache-control'] = formatDirectives(reqCc);
  const policyStatus = LIBRARY_STATUSES.has(status) ? status : STAND_IN_STATUS;
  const policy = new Policy({ method: request.method, url: request.url, headers: reqHeaders }, { status: policyStatus, headers: resHeaders });
  if (!policy.storable()) return { storable: false, reason: 'policy' };
  const responseTime = now();
  const dateValue = Date.parse(single(headers.date) ?? '');
  const initialAgeSec = initialAge(Number(single(resHeaders.age) ?? 0), dateValue, requestTime ?? responseTime, responseTime);
  const noCache =
    directives.has('no-cache') || (!directives.size && /no-cache/i.test(single(headers.pragma) ?? ''));
  const lifetimeSec = noCache ? 0 : explicit ? policy.maxAge() : heuristicLifetime(single(headers['last-modified']), dateValue, responseTime);
  return {
    storable: true,
    freshness: {
      lifetimeSec,
      initialAgeSec,
      responseTime,
      freshUntil: responseTime + (lifetimeSec - initialAgeSec) * 1000,
      noCache,
      mustRevalidate: directives.has('must-revalidate') || directives.has('proxy-revalidate') || directives.has('s-maxage'),
      staleWhileRevalidateSec: deltaSeconds(directives.get('stale-while-revalidate')) ?? 0,
      staleIfErrorSec: deltaSeconds(directives.get('stale-if-error')) ?? 0,
    },
  };
}

/** Ages beyond 2^31 seconds are sent as 2^31 (§1.2.2 / §5.1). */
export const MAX_AGE_SEC = 2 ** 31;

/**
 * §4.2.3 corrected_initial_age, in seconds, on the edge's clock:
 *   apparent_age = max(0, response_time - date_value); corrected_age_value = age_value + response_delay;
 *   corrected_initial_age = max(apparent_age, corrected_age_value).
 * The Date is the origin's. One in the future (clock skew) gives apparent_age 0, so it never adds freshness;
 * one far in the past makes the response old exactly as far as the formula says, capped at 2^31 s. HTTP-dates
 * have one-second resolution, so apparent_age counts whole seconds (a Date of 12:00:00 received at 12:00:00.9
 * is not 0.9 s old). An absent or invalid Date counts as the receive time (RFC 9110 §6.6.1).
 */
export function initialAge(ageValue: number, dateValue: number, requestTime: number, responseTime: number): number {
  const apparent = Number.isFinite(dateValue) ? Math.max(0, Math.floor((responseTime - dateValue) / 1000)) : 0;
  const responseDelay = Math.max(0, responseTime - requestTime) / 1000;
  return Math.min(Math.max(apparent, ageValue + responseDelay), MAX_AGE_SEC);
}

/**
 * §4.2.2: 10 % of the time since Last-Modified, measured at the origin's Date. A Date later than our receive time
 * is clamped to it, so a skewed origin clock cannot stretch the heuristic; a Last-Modified after Date gives 0.
 */
export function heuristicLifetime(lastModified: string | undefined, dateValue: number, responseTime: number): number {
  const modified = Date.parse(lastModified ?? '');
  if (!Number.isFinite(modified)) return 0;
  const date = Number.isFinite(dateValue) ? Math.min(dateValue, responseTime) : responseTime;
  return Math.max(0, (date - modified) / 1000) * HEURISTIC_FRACTION;
}

/** The usual heuristic fraction (RFC 9111 §4.2.2 suggests "no more than some fraction", typically 10 %). */
const HEURISTIC_FRACTION = 0.1;

/** Current age in seconds (§4.2.3: initial age plus resident time). */
export function currentAge(f: Freshness, now: number): number {
  return f.initialAgeSec + Math.max(0, now - f.responseTime) / 1000;
}

/** The request's cache directives (§5.2.1), names case-insensitive; Pragma: no-cache counts when CC is absent (§5.4). */
export interface RequestControls {
  noCache: boolean;
  noStore: boolean;
  onlyIfCached: boolean;
  maxAge?: number;
  minFresh?: number;
  /** Accepted staleness in seconds, already bounded by the edge's cap (0 when absent). */
  maxStale: number;
}

/** A request without Cache-Control or Pragma asks nothing special; shared so that a plain request allocates nothing. */
const NO_CONTROLS: Readonly<RequestControls> = Object.freeze({ noCache: false, noStore: false, onlyIfCached: false, maxStale: 0 });

export function requestControls(headers: HeaderMap, maxStaleCapSec: number): Readonly<RequestControls> {
  if (headers['cache-control'] === undefined && headers.pragma === undefined) return NO_CONTROLS;
  const d = parseDirectives(headers['cache-control']);
  const pragmaNoCache = d.size === 0 && /no-cache/i.test(single(headers.pragma) ?? '');
  const ms = d.get('max-stale');
  // A client may accept stale content for itself, but a shared cache bounds how stale (STYLE: library trap #56/#58).
  const maxStale = ms === undefined ? 0 : Math.min(ms === true ? Infinity : (deltaSeconds(ms) ?? 0), maxStaleCapSec);
  const out: RequestControls = { noCache: d.has('no-cache') || pragmaNoCache, noStore: d.has('no-store'), onlyIfCached: d.has('only-if-cached'), maxStale };
  const maxAge = deltaSeconds(d.get('max-age'));
  if (d.has('max-age')) out.maxAge = maxAge ?? 0;
  const minFresh = deltaSeconds(d.get('min-fresh'));
  if (minFresh !== undefined) out.minFresh = minFresh;
  return out;
}

export type Usability =
  /** Serve as is. */
  | 'fresh'
  /** Stale, but the client's (bounded) max-stale accepts it. */
  | 'stale-accepted'
  /** Stale within stale-while-revalidate: serve now, revalidate once in the background (RFC 5861 §3). */
  | 'stale-while-revalidate'
  /** Must be validated with the origin before use. */
  | 'revalidate';

/** §4.2 + §5.2.1: may a stored response be used for this request without contacting the origin? */
export function evaluateRequest(f: Freshness, rc: RequestControls, now: number): Usability {
  if (f.noCache || rc.noCache) return 'revalidate';
  const age = currentAge(f, now);
  if (rc.maxAge !== undefined && age > rc.maxAge) return 'revalidate';
  if (rc.minFresh !== undefined && f.lifetimeSec - age < rc.minFresh) return 'revalidate';
  // Fresh responses are used even with must-revalidate: it only forbids serving them stale (§5.2.2.2).
  if (age < f.lifetimeSec) return 'fresh';
  if (f.mustRevalidate) return 'revalidate';
  if (rc.maxStale > 0 && age - f.lifetimeSec <= rc.maxStale) return 'stale-accepted';
  if (age < f.lifetimeSec + f.staleWhileRevalidateSec) return 'stale-while-revalidate';
  return 'revalidate';
}

/** RFC 5861 §4: may this stale response stand in for an origin error now? (Never when must-revalidate.) */
export function staleIfErrorAllows(f: Freshness, now: number): boolean {
  if (f.mustRevalidate) return false;
  return currentAge(f, now) < f.lifetimeSec + f.staleIfErrorSec;
}
