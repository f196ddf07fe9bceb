/**
 * Domain names above the wire layer are strings in the escaped presentation form of name-codec.ts
 * (labels joined by '.', a dot inside a label written `\.`, other odd bytes `\DDD`), without the
 * trailing dot; the root is '.'. Lookups use a *key*: the name lowercased (RFC 4343: ASCII
 * case-insensitive; the form is pure ASCII, so toLowerCase folds only A-Z), root ''.
 *
 * A '.' separates labels only when it is not escaped. Names without a backslash (nearly all) keep the
 * plain string operations; the others are scanned escape by escape.
 */

const DOT = 46;
const BACKSLASH = 92;

/** True when the character at `at` (a '.') is a separator: preceded by an even run of backslashes. */
function isSeparatorAt(name: string, at: number): boolean {
  let backslashes = 0;
  for (let i = at - 1; i >= 0 && name.charCodeAt(i) === BACKSLASH; i--) backslashes++;
  return backslashes % 2 === 0;
}

/** Index of the first separator in a name, or -1 for a single label. */
function firstSeparator(name: string): number {
  if (name.indexOf('\\') < 0) return name.indexOf('.');
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === BACKSLASH) i++; // the escaped character (or the first digit of \DDD, never a dot)
    else if (c === DOT) return i;
  }
  return -1;
}

/** The lookup key of a name: ASCII-lowercased, no trailing dot, root = ''. */
export function nameKey(name: string): string {
  let n = name;
  if (n.endsWith('.') && isSeparatorAt(n, n.length - 1)) n = n.slice(0, -1);
  return n.toLowerCase();
}

/** The key of the parent name ('' for a single label, undefined for the root). */
export function parentKey(key: string): string | undefined {
  if (key === '') return undefined;
  const dot = firstSeparator(key);
  return dot < 0 ? '' : key.slice(dot + 1);
}

/** True when `key` equals `ancestor` or lies below it (whole labels only: `a\.b.c` is not below `b.c`). */
export function isAtOrBelow(key: string, ancestor: string): boolean {
  if (ancestor === '') return true;
  if (key === ancestor) return true;
  const at = key.length - ancestor.length - 1;
  return at > 0 && key.charCodeAt(at) === DOT && key.endsWith(ancestor) && isSeparatorAt(key, at);
}

/** Number of labels in a key (root = 0). */
export function labelCount(key: string): number {
  if (key === '') return 0;
  let n = 1;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === DOT) n++;
  }
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
