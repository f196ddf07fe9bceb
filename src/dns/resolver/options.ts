/**
 * Resolver settings: what the deployment file (`dns.recursion`) and the `dnscdn dns` flags map onto.
 * Every limit that bounds work done for one client query lives here, with the reason for its default.
 */
import type { HostPort } from '../../net/address.js';

/** One server to ask: an address and port (port 53 in the real world, a test port on loopback). */
export type ServerAddress = HostPort;

/** Unbound-style forward-zone: names at or below `zone` are asked of `servers` with RD=1 instead of iterating. */
export interface ForwardZone {
  zone: string;
  servers: ServerAddress[];
}

export interface ResolverOptions {
  /** Root name servers and their addresses (from a named.root file, see hints.ts). */
  rootHints: RootHints;
  /** Port used for every address learned from hints, referrals and glue. 53 except in loopback tests. */
  upstreamPort?: number;
  forwarders?: ForwardZone[];
  /** Cache bounds and TTL clamps (seconds). */
  cacheMaxEntries?: number;
  /** Also bound the cache by estimated bytes (0 = entries only). */
  cacheMaxBytes?: number;
  minTtl?: number;
  maxTtl?: number;
  /** RFC 2308 §5: negative answers are cached for at most this long (seconds). */
  maxNegativeTtl?: number;
  /** RFC 8767: how long after expiry an entry may still be served when no authority answers (seconds; 0 = off). */
  staleWindow?: number;
  /** RFC 8767 §5 client response timer (ms): past it, a stale answer is sent while resolution goes on. */
  staleAnswerTimeoutMs?: number;
  /** Per upstream try and per client query (milliseconds). */
  tryTimeoutMs?: number;
  totalTimeoutMs?: number;
  /** Caps on the work one client query may cause. */
  maxUpstreamQueries?: number;
  maxReferralDepth?: number;
  maxCnameChain?: number;
  /** How deep name-server-name lookups may nest (NS without glue whose own NS lack glue ...). */
  maxSubResolutionDepth?: number;
  /** Distinct resolutions in flight at once; further client queries get SERVFAIL instead of queueing. */
  maxInflight?: number;
  /** Our EDNS(0) UDP payload size (RFC 6891), also the largest UDP reply we accept. */
  udpPayloadSize?: number;
  /** draft-vixie-dnsext-dns0x20: randomise the case of the query name and require the reply to echo it. */
  randomizeCase?: boolean;
  /** RFC 8109: ask a hints server for the current root NS set (with glue) before using the hints. Default true. */
  primeRoot?: boolean;
  /** Clock in milliseconds; tests inject one to make TTLs count down without sleeping. */
  now?: () => number;
}

export interface RootHints {
  /** Names of the root servers (NS records of '.'). */
  nameServers: string[];
  /** Their IPv4/IPv6 addresses by name key. */
  addresses: Map<string, string[]>;
}

export type ResolvedOptions = Required<Omit<ResolverOptions, 'forwarders'>> & { forwarders: ForwardZone[] };

/** Defaults close to Unbound's where it has one (max-ttl 1 day, serve-stale TTL 30 s per RFC 8767 §4). */
export function resolveOptions(o: ResolverOptions): ResolvedOptions {
  return {
    rootHints: o.rootHints,
    upstreamPort: o.upstreamPort ?? 53,
    forwarders: o.forwarders ?? [],
    cacheMaxEntries: o.cacheMaxEntries ?? 50_000,
    cacheMaxBytes: o.cacheMaxBytes ?? 0,
    minTtl: o.minTtl ?? 0,
    maxTtl: o.maxTtl ?? 86_400,
    maxNegativeTtl: o.maxNegativeTtl ?? 3_600,
    staleWindow: o.staleWindow ?? 86_400,
    // RFC 8767 §5 suggests 1.8 s: under the 2 s many stub resolvers wait before retrying.
    staleAnswerTimeoutMs: o.staleAnswerTimeoutMs ?? 1_800,
    tryTimeoutMs: o.tryTimeoutMs ?? 800,
    totalTimeoutMs: o.totalTimeoutMs ?? 4_000,
    // Unbound's MAX_SENT_COUNT is 32; NS-name lookups count against the same budget.
    maxUpstreamQueries: o.maxUpstreamQueries ?? 32,
    maxReferralDepth: o.maxReferralDepth ?? 16,
    maxCnameChain: o.maxCnameChain ?? 8,
    maxSubResolutionDepth: o.maxSubResolutionDepth ?? 3,
    maxInflight: o.maxInflight ?? 1_000,
    udpPayloadSize: o.udpPayloadSize ?? 1232,
    randomizeCase: o.randomizeCase ?? false,
    primeRoot: o.primeRoot ?? true,
    now: o.now ?? Date.now,
  };
}

/** RFC 8767 §4: the TTL put on records served stale. */
export const STALE_TTL = 30;
