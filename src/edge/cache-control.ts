/**
 * Cache-Control style directive lists (RFC 9111 §5.2), shared by Cache-Control, CDN-Cache-Control (RFC 9213)
 * and Surrogate-Control. Parsed here rather than by http-cache-semantics because RFC 9111 is stricter than it:
 * directive names are case-insensitive (§5.2), delta-seconds are 1*DIGIT (§1.2.2), and a directive that
 * appears twice with different values is invalid (§4.2.1: treat such freshness information as stale).
 */
export type Directives = Map<string, string | true>;

/** Parses `a, b=1, c="x, y"` into lowercased names. Quoted values may contain commas. */
export function parseDirectives(value: string | string[] | undefined): Directives {
  const out: Directives = new Map();
  if (value === undefined) return out;
  const text = Array.isArray(value) ? value.join(',') : value;
  const re = /\s*([^=,\s]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,]*))?\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    const name = m[1]!.toLowerCase();
    const raw = m[2];
    const v: string | true = raw === undefined ? true : raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw.trim();
    const prior = out.get(name);
    // §4.2.1: conflicting duplicates make the value invalid; we keep a marker that parses as no number.
    out.set(name, prior !== undefined && prior !== v ? 'invalid-duplicate' : v);
    if (m[0] === '') break;
  }
  return out;
}

/** delta-seconds (RFC 9111 §1.2.2): digits only; anything else is undefined (invalid). Huge values saturate at 2^31. */
export function deltaSeconds(v: string | true | undefined): number | undefined {
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return undefined;
  return Math.min(Number(v), 2 ** 31);
}

/** Serialises directives back into a header value with lowercased names (what http-cache-semantics expects). */
export function formatDirectives(d: Directives): string {
  const parts: string[] = [];
  for (const [k, v] of d) parts.push(v === true ? k : /[\s,"]/.test(v) ? `${k}="${v.replace(/["\\]/g, '\\$&')}"` : `${k}=${v}`);
  return parts.join(', ');
}
