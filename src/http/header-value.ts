/** Header values as node delivers them: names lower-cased, set-cookie the only array. */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** One string value (lists joined as node joins repeated headers). */
export function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
