/**
 * The network a client address belongs to, for limits that must hold per client rather than per
 * address: one host usually owns a whole IPv4 /24 or IPv6 /56 (RFC 6177 §2 suggests /56 for a home
 * site), so a per-address limit is no limit at all against an attacker who rotates source addresses.
 */
import { formatIp, parseIp, truncateIp, type IpAddress } from './cidr.js';

/** Prefix lengths that make one client network, per address family. */
export interface NetworkPrefixLengths {
  ipv4: number;
  ipv6: number;
}

/**
 * The client's network in CIDR notation (`192.0.2.0/24`), usable as a map key and readable in logs;
 * undefined for text that is not an IP address. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a
 * dual-stack socket reports for an IPv4 peer) counts as the IPv4 client it is.
 */
export function clientNetwork(address: string, prefixes: NetworkPrefixLengths): string | undefined {
  const parsed = parseIp(address);
  if (!parsed) return undefined;
  const ip = unmapIpv4(parsed);
  const prefixLength = ip.family === 4 ? prefixes.ipv4 : prefixes.ipv6;
  return `${formatIp(truncateIp(ip, prefixLength))}/${prefixLength}`;
}

/** RFC 4291 §2.5.5.2: ::ffff:0:0/96 carries an IPv4 address in its last 4 bytes. */
function unmapIpv4(ip: IpAddress): IpAddress {
  if (ip.family === 4) return ip;
  for (let i = 0; i < 10; i++) if (ip.bytes[i] !== 0) return ip;
  if (ip.bytes[10] !== 0xff || ip.bytes[11] !== 0xff) return ip;
  return { family: 4, bytes: ip.bytes.slice(12) };
}
