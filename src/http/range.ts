/**
 * Single byte ranges served from a complete stored body (RFC 9110 §14). A multi-range request gets the whole
 * body (a server MAY ignore Range, §14.2), as does a syntactically invalid one; a syntactically valid range
 * that selects nothing is unsatisfiable (416 with `Content-Range: bytes * /length`, §15.5.17).
 */
export type RangePlan = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

export function planRange(header: string | undefined, length: number): RangePlan {
  if (header === undefined) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) {
    // Several ranges, or junk: serve the whole representation rather than guess.
    return { kind: 'full' };
  }
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return { kind: 'full' };
  // Digits beyond 2^53 are absurd but syntactically valid: they select nothing we have.
  if (first.length > 15 || (first === '' && last.length > 15)) return first === '' ? clampSuffix(length) : { kind: 'unsatisfiable' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || length === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, length - suffix), end: length - 1 };
  }
  const start = Number(first);
  const end = last === '' || last.length > 15 ? length - 1 : Math.min(Number(last), length - 1);
  if (last !== '' && last.length <= 15 && Number(last) < start) return { kind: 'full' }; // invalid: last < first
  if (start >= length) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

function clampSuffix(length: number): RangePlan {
  return length === 0 ? { kind: 'unsatisfiable' } : { kind: 'partial', start: 0, end: length - 1 };
}
