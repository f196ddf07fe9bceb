/**
 * Domain names above the wire layer are dotted strings without the trailing dot (dns-packet's form);
 * the root is '.'. Lookups use a *key*: the name lowercased (RFC 4343: ASCII case-insensitive), root ''.
 */

/** The lookup key of a name: ASCII-lowercased, no trailing dot, root = ''. */
export function nameKey(name: string): string {
  let n = name;
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n.toLowerCase();
}

/** The key of the parent name ('' for a single label, undefined for the root). */
export function parentKey(key: string): string | undefined {
  if (key === '') return undefined;
  const dot = key.indexOf('.');
  return dot < 0 ? '' : key.slice(dot + 1);
}

/** True when `key` equals `ancestor` or lies below it. */
export function isAtOrBelow(key: string, ancestor: string): boolean {
  if (ancestor === '') return true;
  return key === ancestor || key.endsWith('.' + ancestor);
}

/** Number of labels in a key (root = 0). */
export function labelCount(key: string): number {
  if (key === '') return 0;
  let n = 1;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) === 46) n++;
  return n;
}

/** The display form of a key for records: dns-packet writes the root as '.'. */
export function nameFromKey(key: string): string {
  return key === '' ? '.' : key;
}

/** Joins a relative name to an origin key ('' origin = root). */
export function joinName(relative: string, origin: string): string {
  if (origin === '') return relative;
  return `${relative}.${origin}`;
}
