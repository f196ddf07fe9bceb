import { describe, expect, it } from 'vitest';
import { serialNewer } from '../../src/dns/transfer.js';

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
