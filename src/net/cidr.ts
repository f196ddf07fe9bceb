/**
 * IP addresses as bytes and CIDR prefixes: parsing, membership and truncation to a prefix.
 * Used by the deployment config (geo networks, recursion ACL) and by geo steering (RFC 7871 ECS
 * addresses are truncated to a prefix before lookup). Node's `net` validates addresses but gives no bytes.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

export interface Cidr {
  family: IpFamily;
  /** The network address, bits past `prefixLength` zero. */
  bytes: Uint8Array;
  prefixLength: number;
}

function parseV4(text: string, out: Uint8Array, at: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return false;
    out[at + i] = Number(p);
  }
  return true;
}

/** Parses a textual IPv4 or IPv6 address (no zone id, no brackets); undefined when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  if (isIPv4(text)) {
    const bytes = new Uint8Array(4);
    parseV4(text, bytes, 0);
    return { family: 4, bytes };
  }
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const bytes = new Uint8Array(16);
  // Split around "::" (at most one, guaranteed by isIPv6); an embedded IPv4 tail fills the last 4 bytes.
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const headGroups = groups(head);
  const tailGroups = tail === undefined ? [] : groups(tail);
  const writeGroups = (list: string[], start: number): number => {
    let pos = start;
    for (const g of list) {
      if (g.includes('.')) {
        parseV4(g, bytes, pos);
        pos += 4;
      } else {
        const v = parseInt(g, 16);
        bytes[pos] = v >> 8;
        bytes[pos + 1] = v & 0xff;
        pos += 2;
      }
    }
    return pos;
  };
  writeGroups(headGroups, 0);
  if (tail !== undefined) {
    const tailBytes = tailGroups.reduce((n, g) => n + (g.includes('.') ? 4 : 2), 0);
    writeGroups(tailGroups, 16 - tailBytes);
  }
  return { family: 6, bytes };
}

export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return Array.from(ip.bytes).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip.bytes[i]! << 8) | ip.bytes[i + 1]!);
  // RFC 5952 §4.2: compress the longest run (of at least two) of zero groups, the first if tied.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function maxPrefixLength(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** The address with every bit past `prefixLength` cleared. */
export function truncateIp(ip: IpAddress, prefixLength: number): IpAddress {
  const bytes = new Uint8Array(ip.bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLength - i * 8));
    bytes[i] = ip.bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return { family: ip.family, bytes };
}

/** True when any bit past `prefixLength` is set (RFC 7871 §6 requires them zero in an ECS address). */
export function hasBitsPastPrefix(ip: IpAddress, prefixLength: number): boolean {
  const t = truncateIp(ip, prefixLength);
  return t.bytes.some((b, i) => b !== ip.bytes[i]);
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; reason: string };

/** Parses `10.0.0.0/8` or `fd00::/8`; a bare address is a host prefix. Host bits must be zero. */
export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return { ok: false, reason: `"${text}" is not an IPv4 or IPv6 prefix` };
  const max = maxPrefixLength(ip.family);
  let prefixLength = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return { ok: false, reason: `"${text}": prefix length must be 0-${max}` };
    prefixLength = Number(p);
  }
  if (hasBitsPastPrefix(ip, prefixLength)) {
    return { ok: false, reason: `"${text}": address has bits set past /${prefixLength} (did you mean ${formatIp(truncateIp(ip, prefixLength))}/${prefixLength}?)` };
  }
  return { ok: true, cidr: { family: ip.family, bytes: ip.bytes, prefixLength } };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, bytes: c.bytes })}/${c.prefixLength}`;
}

export function cidrContains(c: Cidr, ip: IpAddress): boolean {
  if (c.family !== ip.family) return false;
  const t = truncateIp(ip, c.prefixLength);
  for (let i = 0; i < t.bytes.length; i++) if (t.bytes[i] !== c.bytes[i]) return false;
  return true;
}
