/**
 * Which content coding a client gets: `Accept-Encoding` (RFC 9110 §12.5.3) reduced to br, gzip or identity, so a
 * URL has at most three stored variants however many spellings clients send ("gzip, deflate, br",
 * "br;q=1.0, gzip;q=0.8, *;q=0.1", ...).
 *
 * Bounded and allocation-free: the header is scanned in place (no split, no regex), only its first
 * MAX_SCAN_BYTES and MAX_CODINGS elements are read (a header of 1,000 codings costs no more than one of 64), and
 * a q-value that is not RFC 9110 §12.4.2's `0[.ddd]` or `1[.000]` (q=1e999, q=-1, q=NaN, q=0.0001) makes its
 * element count as absent. At equal weight br wins over gzip (smaller for text, and every browser that sends br
 * decodes it).
 */

export type Coding = 'br' | 'gzip' | 'identity';

/** Bytes of the header that are read; browsers send about 30. */
const MAX_SCAN_BYTES = 1024;
/** List elements that are read. */
const MAX_CODINGS = 64;

/** The coding to serve, among those the edge can make (`offered`: br and/or gzip), or identity. */
export function chooseCoding(header: string | undefined, offerBr: boolean, offerGzip: boolean): Coding {
  if (header === undefined || header.length === 0) return 'identity';
  const end = Math.min(header.length, MAX_SCAN_BYTES);
  let br = -1;
  let gzip = -1;
  let star = -1;
  let i = 0;
  for (let n = 0; n < MAX_CODINGS && i < end; n++) {
    while (i < end && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9 || header.charCodeAt(i) === 44)) i++;
    const nameStart = i;
    while (i < end && header.charCodeAt(i) !== 44 && header.charCodeAt(i) !== 59 && header.charCodeAt(i) !== 32 && header.charCodeAt(i) !== 9) i++;
    const nameEnd = i;
    if (nameEnd === nameStart) break;
    i = readWeight(header, i, end);
    const w = lastWeight;
    if (w < 0) continue;
    if (matches(header, nameStart, nameEnd, 'br')) br = Math.max(br, w);
    else if (matches(header, nameStart, nameEnd, 'gzip') || matches(header, nameStart, nameEnd, 'x-gzip')) gzip = Math.max(gzip, w);
    else if (nameEnd - nameStart === 1 && header.charCodeAt(nameStart) === 42) star = Math.max(star, w);
  }
  // `*` stands for every coding not named (§12.5.3).
  if (br < 0) br = star;
  if (gzip < 0) gzip = star;
  const brOk = offerBr && br > 0;
  const gzipOk = offerGzip && gzip > 0;
  if (brOk && (!gzipOk || br >= gzip)) return 'br';
  if (gzipOk) return 'gzip';
  return 'identity';
}

/** readWeight's second result (a module slot rather than a returned object: no allocation per element). */
let lastWeight = 1000;

/**
 * The element's parameters up to the next comma: its `q` in thousandths (1000 when absent), or -1 when the q-value
 * is malformed, left in `lastWeight`. Returns where the next element starts.
 */
function readWeight(h: string, from: number, end: number): number {
  let i = from;
  let weight = 1000;
  while (i < end && h.charCodeAt(i) !== 44) {
    const c = h.charCodeAt(i);
    if ((c === 113 || c === 81) && i + 1 < end && h.charCodeAt(i + 1) === 61 && precededByParamStart(h, i, from)) {
      const start = i + 2;
      let j = start;
      while (j < end && h.charCodeAt(j) !== 44 && h.charCodeAt(j) !== 59 && h.charCodeAt(j) !== 32 && h.charCodeAt(j) !== 9) j++;
      weight = parseQValue(h, start, j);
      i = j;
      continue;
    }
    i++;
  }
  lastWeight = weight;
  return i;
}

function precededByParamStart(h: string, i: number, from: number): boolean {
  for (let k = i - 1; k >= from; k--) {
    const c = h.charCodeAt(k);
    if (c === 59) return true;
    if (c !== 32 && c !== 9) return false;
  }
  return false;
}

/** RFC 9110 §12.4.2: `( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` in thousandths; -1 otherwise. */
function parseQValue(h: string, start: number, end: number): number {
  const len = end - start;
  if (len < 1 || len > 5) return -1;
  const first = h.charCodeAt(start);
  if (first !== 48 && first !== 49) return -1;
  if (len > 1 && h.charCodeAt(start + 1) !== 46) return -1;
  let frac = 0;
  let scale = 100;
  for (let k = start + 2; k < end; k++) {
    const d = h.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return -1;
    if (first === 49 && d !== 0) return -1;
    frac += d * scale;
    scale /= 10;
  }
  return first === 49 ? 1000 : frac;
}

function matches(h: string, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let k = 0; k < name.length; k++) if ((h.charCodeAt(start + k) | 0x20) !== name.charCodeAt(k)) return false;
  return true;
}
