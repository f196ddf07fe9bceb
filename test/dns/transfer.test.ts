import { describe, expect, it } from 'vitest';
import { asksForTransfer, serialNewer } from '../../src/dns/transfer.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { query } from './query-client.js';

describe('serialNewer (RFC 1982 serial arithmetic)', () => {
  it.each([
    [2, 1, true],
    [1, 2, false],
    [5, 5, false],
    [0, 0xffffffff, true], // wraps around
    [0xffffffff, 0, false],
    [0x7fffffff, 0, true],
    [0x80000000, 0, false], // exactly half way: undefined, never "newer"
  ])('%i newer than %i: %s', (a, b, newer) => {
    expect(serialNewer(a, b)).toBe(newer);
  });
});

describe('asksForTransfer', () => {
  it('looks at the question type only, and never throws on short or odd input', () => {
    expect(asksForTransfer(encodeMessage(query('cdn.test', 'AXFR')))).toBe(true);
    expect(asksForTransfer(encodeMessage(query('cdn.test', 'IXFR', { edns: {} })))).toBe(true);
    expect(asksForTransfer(encodeMessage(query('cdn.test', 'SOA')))).toBe(false);
    const axfr = encodeMessage(query('cdn.test', 'AXFR'));
    for (let n = 0; n < axfr.length; n++) expect(asksForTransfer(axfr.subarray(0, n))).toBe(false);
    expect(asksForTransfer(Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 252, 0, 1]))).toBe(false);
  });
});
