/** AddressAcl: CIDR membership, with verdicts kept per address (each address keeps its own answer). */
import { describe, expect, it } from 'vitest';
import { AddressAcl } from '../../src/dns/acl.js';

describe('AddressAcl', () => {
  it('answers each address by its own CIDR membership, every time it is asked', () => {
    const acl = new AddressAcl(['127.0.0.0/8', '::1', '192.0.2.0/25']);
    const cases: Array<[string, boolean]> = [
      ['127.0.0.1', true],
      ['127.255.0.9', true],
      ['10.0.0.1', false],
      ['::1', true],
      ['::2', false],
      ['192.0.2.127', true],
      ['192.0.2.128', false],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [address, allowed] of cases) expect(acl.allows(address), `${address} round ${round}`).toBe(allowed);
    }
  });

  it('an empty list allows nobody', () => {
    expect(new AddressAcl([]).allows('127.0.0.1')).toBe(false);
  });

  it('stays right for addresses past the kept verdicts', () => {
    const acl = new AddressAcl(['10.0.0.0/16']);
    for (let i = 0; i < 5000; i++) acl.allows(`10.${(i >> 8) & 1}.${i & 0xff}.${(i >> 9) & 0xff}`);
    expect(acl.allows('10.0.0.1')).toBe(true);
    expect(acl.allows('10.1.0.1')).toBe(false);
  });
});
