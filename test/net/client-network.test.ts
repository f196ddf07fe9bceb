import { describe, expect, it } from 'vitest';
import { clientNetwork } from '../../src/net/client-network.js';

const defaults = { ipv4: 24, ipv6: 56 };

describe('the network a client address belongs to', () => {
  it.each([
    ['192.0.2.77', '192.0.2.0/24'],
    ['192.0.2.1', '192.0.2.0/24'],
    ['198.51.100.9', '198.51.100.0/24'],
    ['2001:db8:1234:5600::1', '2001:db8:1234:5600::/56'],
    ['2001:db8:1234:56ff:ffff::9', '2001:db8:1234:5600::/56'],
    ['2001:db8:1234:5700::1', '2001:db8:1234:5700::/56'],
    ['::ffff:192.0.2.77', '192.0.2.0/24'], // what a dual-stack socket reports for an IPv4 peer
    ['::1', '::/56'],
  ])('%s is in %s', (address, network) => {
    expect(clientNetwork(address, defaults)).toBe(network);
  });

  it('takes the prefix lengths it is given', () => {
    expect(clientNetwork('192.0.2.77', { ipv4: 32, ipv6: 128 })).toBe('192.0.2.77/32');
    expect(clientNetwork('10.1.2.3', { ipv4: 8, ipv6: 64 })).toBe('10.0.0.0/8');
    expect(clientNetwork('2001:db8::1', { ipv4: 24, ipv6: 64 })).toBe('2001:db8::/64');
  });

  it('is undefined for text that is not an address', () => {
    for (const bad of ['', 'localhost', '1.2.3', 'fe80::1%eth0']) expect(clientNetwork(bad, defaults)).toBeUndefined();
  });
});
