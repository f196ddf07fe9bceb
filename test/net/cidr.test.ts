import { describe, expect, it } from 'vitest';
import { cidrContains, formatIp, parseCidr, parseIp, truncateIp } from '../../src/net/cidr.js';

describe('IP addresses and CIDR prefixes', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['fe80::', 'fe80::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])('parses %s and formats it as %s (RFC 5952)', (input, formatted) => {
    expect(formatIp(parseIp(input)!)).toBe(formatted);
  });

  it('rejects what is not an address', () => {
    for (const bad of ['', '1.2.3', '256.1.1.1', '1::2::3', 'fe80::1%eth0', 'example.com']) expect(parseIp(bad)).toBeUndefined();
  });

  it('truncates to a prefix and tests membership', () => {
    expect(formatIp(truncateIp(parseIp('81.2.69.160')!, 24))).toBe('81.2.69.0');
    expect(formatIp(truncateIp(parseIp('2a00:1450:4009:81f::200e')!, 56))).toBe('2a00:1450:4009:800::');
    const net = parseCidr('10.0.0.0/8');
    expect(net.ok && cidrContains(net.cidr, parseIp('10.200.1.1')!)).toBe(true);
    expect(net.ok && cidrContains(net.cidr, parseIp('11.0.0.1')!)).toBe(false);
    expect(net.ok && cidrContains(net.cidr, parseIp('::a00:1')!)).toBe(false);
  });

  it('refuses prefixes with host bits or bad lengths', () => {
    expect(parseCidr('10.0.0.1/8')).toMatchObject({ ok: false });
    expect(parseCidr('10.0.0.0/40')).toMatchObject({ ok: false });
    expect(parseCidr('fd00::/129')).toMatchObject({ ok: false });
    expect(parseCidr('fd00::/8')).toMatchObject({ ok: true });
  });
});
