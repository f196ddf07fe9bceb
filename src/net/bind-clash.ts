/**
 * Whether two listeners can be bound at once on one host (Linux semantics, no SO_REUSEPORT, as our roles bind).
 * Same port and a shared protocol, and either the same address, or a wildcard that covers the other:
 * `0.0.0.0` takes the port on every IPv4 address; `::` on every IPv6 address and, because Node binds it
 * dual-stack (ipv6Only false), on every IPv4 address too. `0.0.0.0:P` and `[::1]:P` can coexist.
 * Host names are compared as written (resolving them here would make validation depend on the resolver).
 */
import { formatIp, parseIp, type IpAddress } from './cidr.js';

export type Transport = 'udp' | 'tcp';

export interface Listener {
  host: string;
  port: number;
  transports: readonly Transport[];
}

export function listenersClash(a: Listener, b: Listener): boolean {
  // Port 0 asks the kernel for a free port each time: never a clash.
  if (a.port === 0 || a.port !== b.port) return false;
  if (!a.transports.some((t) => b.transports.includes(t))) return false;
  return addressesOverlap(a.host, b.host);
}

/** True when one of the two is a wildcard address (the clash is then not an exact duplicate). */
export function isWildcard(host: string): boolean {
  const ip = parseIp(host);
  return ip !== undefined && ip.bytes.every((b) => b === 0);
}

function addressesOverlap(a: string, b: string): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  if (!x || !y) return a.toLowerCase() === b.toLowerCase();
  return covers(x, y) || covers(y, x) || formatIp(x) === formatIp(y);
}

function covers(wildcard: IpAddress, other: IpAddress): boolean {
  if (!wildcard.bytes.every((b) => b === 0)) return false;
  return wildcard.family === 6 || other.family === 4;
}
