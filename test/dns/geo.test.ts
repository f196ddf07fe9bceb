import { beforeAll, describe, expect, it } from 'vitest';
import { builtinGeoDatabaseFiles } from '../../src/config/load.js';
import type { GeoNetwork } from '../../src/config/types.js';
import { clientNetwork, distanceKm, GeoLocator } from '../../src/dns/geo.js';
import { formatIp, parseCidr } from '../../src/net/cidr.js';

const LONDON = { lat: 51.507, lon: -0.128 };
const TOKYO = { lat: 35.69, lon: 139.692 };

function net(text: string, rest: { location: { lat: number; lon: number } } | { edge: string }): GeoNetwork {
  const p = parseCidr(text);
  if (!p.ok) throw new Error(p.reason);
  return { cidr: p.cidr, text, ...rest } as GeoNetwork;
}

describe('geo location of DNS clients', () => {
  let geo: GeoLocator;
  beforeAll(async () => {
    geo = await GeoLocator.open({
      databases: builtinGeoDatabaseFiles(),
      networks: [net('10.0.0.0/8', { location: TOKYO }), net('10.1.0.0/16', { edge: 'london' })],
    });
  });

  it('measures great-circle distances', () => {
    expect(distanceKm(LONDON, TOKYO)).toBeGreaterThan(9500);
    expect(distanceKm(LONDON, TOKYO)).toBeLessThan(9620);
    expect(distanceKm(LONDON, LONDON)).toBe(0);
    // Antipodes: half the circumference.
    expect(distanceKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 })).toBeCloseTo(Math.PI * 6371.0088, 0);
  });

  // Real addresses from well-known public ranges, placed by DB-IP Lite.
  it.each([
    ['81.2.69.160', LONDON, 'London (Andrews & Arnold)'],
    ['212.58.244.1', LONDON, 'London (BBC)'],
    ['133.242.0.1', TOKYO, 'Tokyo (Sakura Internet)'],
    ['2a00:1450:4009::1', LONDON, 'London (Google, IPv6)'],
    ['2001:240::1', TOKYO, 'Tokyo (IIJ, IPv6)'],
  ])('places %s near %s', (address, where) => {
    const n = clientNetwork({ address })!;
    const found = geo.locate(n);
    expect(found.location).toBeDefined();
    expect(distanceKm(found.location!, where)).toBeLessThan(100);
    expect(found.prefixLength).toBeGreaterThan(0);
    expect(found.prefixLength).toBeLessThanOrEqual(n.ip.family === 4 ? 24 : 56);
  });

  it('uses the ECS subnet over the source address, truncated to /24 and /56 (RFC 7871 §11.1)', () => {
    const v4 = clientNetwork({ address: '127.0.0.1', clientSubnet: { family: 1, sourcePrefixLength: 32, scopePrefixLength: 0, address: '133.242.0.77' } })!;
    expect(v4).toMatchObject({ prefixLength: 24, fromEcs: true });
    expect(formatIp(v4.ip)).toBe('133.242.0.0');
    expect(distanceKm(geo.locate(v4).location!, TOKYO)).toBeLessThan(100);
    const v6 = clientNetwork({ address: '::1', clientSubnet: { family: 2, sourcePrefixLength: 64, scopePrefixLength: 0, address: '2a00:1450:4009:81f::' } })!;
    expect(v6.prefixLength).toBe(56);
    expect(formatIp(v6.ip)).toBe('2a00:1450:4009:800::');
    const short = clientNetwork({ address: '::1', clientSubnet: { family: 1, sourcePrefixLength: 16, scopePrefixLength: 0, address: '81.2.0.0' } })!;
    expect(short.prefixLength).toBe(16);
    // A source prefix of 0 asks us not to use client information (RFC 7871 §7.1.2).
    expect(clientNetwork({ address: '81.2.69.160', clientSubnet: { family: 1, sourcePrefixLength: 0, scopePrefixLength: 0, address: '0.0.0.0' } })).toBeUndefined();
    // IPv4-mapped source addresses from dual-stack sockets count as IPv4.
    expect(clientNetwork({ address: '::ffff:81.2.69.160' })!.ip.family).toBe(4);
  });

  it('places private ranges by the config networks, most specific first, and caps the scope at the source prefix', () => {
    expect(geo.locate(clientNetwork({ address: '10.9.9.9' })!)).toEqual({ location: TOKYO, prefixLength: 8 });
    expect(geo.locate(clientNetwork({ address: '10.1.2.3' })!)).toEqual({ edge: 'london', prefixLength: 16 });
    const loopback = geo.locate(clientNetwork({ address: '127.0.0.1' })!);
    expect(loopback.location).toBeUndefined();
    expect(loopback.edge).toBeUndefined();
  });

  it('works with config networks alone (no database)', () => {
    const only = GeoLocator.withoutDatabase([net('192.168.0.0/16', { location: LONDON })]);
    expect(only.locate(clientNetwork({ address: '192.168.1.1' })!)).toEqual({ location: LONDON, prefixLength: 16 });
    expect(only.locate(clientNetwork({ address: '81.2.69.160' })!)).toEqual({ prefixLength: 0 });
  });
});
