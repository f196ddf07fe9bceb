/**
 * The edge's caching policy, read top to bottom like Varnish's builtin.vcl. Freshness arithmetic and the
 * library's storability checks live in freshness.ts; what is decided here is what this edge chooses to share.
 * The lifecycle (pipeline.ts) asks this file at each step; no rule below is restated anywhere else.
 *
 *   recv   Only GET and HEAD are looked up; every other method passes to the origin (RFC 9111 §2: a cache
 *          stores GET responses; §4.4: a successful unsafe method invalidates, pipeline.ts). `looksUp`.
 *   hash   The key is Host (lowercased: RFC 9110 §4.2.3, the host is case-insensitive) without its port + path and
 *          query as requested, built once per request by `cacheKey`; a response's Vary adds one variant per value of
 *          the request headers it names (§4.1, store.ts variantKey). Scheme and port are left out on purpose: the
 *          plain port (8080) and HTTPS (8443) serve the same site, so both share one entry. An origin whose answer
 *          depends on the scheme says `Vary: X-Forwarded-Proto` (the edge sets that header from the connection,
 *          client-request.ts), and the scheme then keys a variant.
 *   fill   A request with Authorization never shares its origin fetch with others (§3.5), and its response is
 *          stored only if it says public, s-maxage or must-revalidate (the library checks §3.5). `sharesFill`.
 *          A fill never carries the client's conditionals or Range (§4.3.1: the cache validates with its own
 *          validators; ranges are cut from the whole stored body). `fillHeaders`.
 *   store  Never stored, whatever else the response says (`storeVeto`):
 *          - Set-Cookie: the cookie is one user's (Varnish's builtin does the same);
 *          - Vary: * (§4.1: no later request can match it);
 *          - a status the edge does not understand (§3), and without explicit freshness any status that
 *            RFC 9110 §15.1 does not call heuristically cacheable (§4.2.2);
 *          - a response to a request carrying a user's Cookie, unless the response is explicitly cacheable.
 *
 * The Cookie rule (issue 10 item 9, web cache deception). A response to a request with a Cookie is stored for
 * everyone only when the response says so: `public`, `s-maxage`, `max-age` or `Expires`, or any CDN-Cache-Control /
 * Surrogate-Control (controls aimed at this cache, RFC 9213). Heuristic freshness (only Last-Modified) is never
 * enough: an origin that forgot its headers on `/account.css` (or on `/account` reached as `/account/x.css`)
 * would otherwise hand one user's page to all. Cookies the operator names as not identifying anyone (analytics:
 * `_ga*`, `_gid`) do not count; they are still forwarded to the origin unchanged.
 * - Varnish's builtin passes every request that carries a Cookie. That is safe but caches nothing for a visitor
 *   with an analytics cookie, so everyone rewrites it in VCL (usually by stripping cookies per URL pattern,
 *   which is where deception bugs come back). Here an explicit origin answer is trusted as it is for requests
 *   without cookies, and only the heuristic case (the origin said nothing) is refused.
 * - Caching by file extension (".css is static, cache it") is the root of web cache deception: the origin
 *   decides what a URL returns, and `/account/x.css` may return `/account`. The edge never looks at the
 *   extension; only the response's own headers can make a cookie request's response shared.
 */
import { cookiePatternProblem } from '../http/cookie-pattern.js';
import { chooseCoding } from './accept-encoding.js';
import { single, type HeaderMap } from './headers.js';

/** The request a fill answers, as the storage policy sees it. */
export interface FillRequest {
  method: string;
  url: string;
  headers: HeaderMap;
  /** The request carries a cookie that identifies a user (see CookieRule); false or absent: it does not. */
  userCookie?: boolean;
}

/** recv: is the method looked up in the cache (else it passes)? */
export function looksUp(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** hash: the primary cache key of a request (Host + path and query, see above). */
export function cacheKey(host: string, path: string): string {
  // `name:port` or `[v6]:port`: the port goes; a bare IPv6 literal in brackets keeps its colons.
  const colon = host.lastIndexOf(':');
  const name = colon > host.lastIndexOf(']') ? host.slice(0, colon) : host;
  return `${name.toLowerCase()}${path}`;
}

/** fill: may this request share an origin fetch with other clients (§3.5: not with credentials)? */
export function sharesFill(headers: HeaderMap): boolean {
  return headers.authorization === undefined;
}

/** Request headers that make the client's request conditional or partial: a shared fill must not carry them. */
const CLIENT_CONDITIONALS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];

/** fill: the origin request headers of a fill: a pass's (`toOriginHeaders`, a fresh object, edited in place) without the client's conditionals. */
export function fillHeaders(originHeaders: HeaderMap): HeaderMap {
  for (const h of CLIENT_CONDITIONALS) delete originHeaders[h];
  // A shared fill asks for the one coding its variant stands for (store.ts variantKey), so an origin that
  // compresses itself cannot answer `deflate` into the variant that `gzip`-only clients are served.
  const ae = originHeaders['accept-encoding'];
  if (ae !== undefined) originHeaders['accept-encoding'] = chooseCoding(Array.isArray(ae) ? ae.join(',') : ae, true, true);
  return originHeaders;
}

/**
 * Statuses this edge may store (RFC 9111 §3: "the response status code is final and understood by the cache").
 * http-cache-semantics 4.3.0 understands a fixed list; we add error statuses that are safe to share when the
 * origin gives them explicit freshness (negative caching protects the origin). Left out on purpose: 206 (we store
 * whole bodies only), 304 (not a representation), 401/407 (challenges for one client's credentials), 408/426/429
 * (about one connection or client), 412/416 (about the request's preconditions and ranges, which fills never send).
 */
const UNDERSTOOD_STATUSES = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405, 410, 414, 451, 500, 501, 502, 503, 504]);
/** RFC 9110 §15.1: the only statuses that may get a heuristic freshness lifetime (206 is never stored here). */
const HEURISTIC_STATUSES = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/** What the response says about its own cacheability, as freshness.ts read it. */
export interface ResponseControls {
  /** s-maxage, max-age or Expires (§4.2.1). */
  explicitFreshness: boolean;
  /** The `public` directive (§5.2.2.9). */
  isPublic: boolean;
  /** CDN-Cache-Control or Surrogate-Control was present (controls aimed at this cache). */
  targeted: boolean;
}

/** store: the reason this response must not be stored, or undefined when the library may decide. */
export function storeVeto(request: FillRequest, status: number, headers: HeaderMap, controls: ResponseControls): string | undefined {
  if (headers['set-cookie'] !== undefined) return 'set-cookie';
  const vary = single(headers.vary);
  if (vary !== undefined && vary.split(',').some((v) => v.trim() === '*')) return 'vary-star';
  if (!UNDERSTOOD_STATUSES.has(status)) return 'status';
  if (!HEURISTIC_STATUSES.has(status) && !controls.explicitFreshness) return 'no-explicit-freshness';
  if (request.userCookie === true && !controls.explicitFreshness && !controls.isPublic && !controls.targeted) return 'cookie-without-explicit-caching';
  return undefined;
}

/**
 * Which cookies identify a user. Every cookie does, except those whose name matches one of the operator's
 * patterns (`*` matches any run of characters; names are case-sensitive, RFC 6265 §5.4).
 */
export class CookieRule {
  private readonly ignored: RegExp | undefined;

  constructor(ignoredPatterns: readonly string[] = []) {
    for (const p of ignoredPatterns) {
      const problem = cookiePatternProblem(p);
      if (problem !== undefined) throw new Error(`cookie pattern "${p}": ${problem}`);
    }
    this.ignored =
      ignoredPatterns.length === 0 ? undefined : new RegExp(`^(?:${ignoredPatterns.map((p) => p.split('*').map(escapeRegExp).join('.*')).join('|')})$`);
  }

  /** Does this Cookie header carry at least one cookie that is not ignored? */
  identifiesUser(cookie: string | string[] | undefined): boolean {
    if (cookie === undefined) return false;
    const text = Array.isArray(cookie) ? cookie.join('; ') : cookie;
    for (const pair of text.split(';')) {
      const trimmed = pair.trim();
      if (trimmed === '') continue;
      const eq = trimmed.indexOf('=');
      const name = (eq < 0 ? trimmed : trimmed.slice(0, eq)).trim();
      if (this.ignored === undefined || !this.ignored.test(name)) return true;
    }
    return false;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
