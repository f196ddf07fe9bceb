import { describe, expect, it } from 'vitest';
import { TcpAdmission } from '../../src/dns/tcp-admission.js';

const limits = { maxPerNetwork: 2, ipv4Prefix: 24, ipv6Prefix: 56 };

describe('TCP admission per client network', () => {
  it('caps a network, not an address, and leaves other networks alone', () => {
    const admission = new TcpAdmission(limits);
    expect(admission.admit('192.0.2.1')).toBeDefined();
    expect(admission.admit('192.0.2.200')).toBeDefined();
    expect(admission.admit('192.0.2.3')).toBeUndefined(); // same /24, third connection
    expect(admission.admit('192.0.3.1')).toBeDefined();
    expect(admission.admit('2001:db8:0:100::1')).toBeDefined();
    expect(admission.admit('2001:db8:0:1ff::2')).toBeDefined();
    expect(admission.admit('2001:db8:0:1aa::3')).toBeUndefined(); // same /56
    expect(admission.networks).toBe(3);
  });

  it('gives a slot back on release, once, and forgets a network at zero (bounded state)', () => {
    const admission = new TcpAdmission(limits);
    const a = admission.admit('192.0.2.1')!;
    const b = admission.admit('192.0.2.2')!;
    a();
    a(); // a second release must not free someone else's slot
    expect(admission.admit('192.0.2.3')).toBeDefined();
    expect(admission.admit('192.0.2.4')).toBeUndefined();
    b();
    expect(admission.networks).toBe(1);

    const many = new TcpAdmission(limits);
    const releases = Array.from({ length: 1000 }, (_, i) => many.admit(`10.${i >> 8}.${i & 0xff}.1`)!);
    expect(many.networks).toBe(1000);
    for (const release of releases) release();
    expect(many.networks).toBe(0);
  });

  it('refuses text that is not an address', () => {
    expect(new TcpAdmission(limits).admit('')).toBeUndefined();
  });
});
