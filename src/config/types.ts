/**
 * The validated deployment: what `loadDeployment` returns once every rule in load.ts has passed.
 * Paths are absolute (resolved against the config file's folder); durations are milliseconds; sizes bytes.
 */
import type { HostPort } from '../net/address.js';
import type { Cidr } from '../net/cidr.js';
import type { CachePolicyName } from './cache-policies.js';
import type { TsigKey } from './tsig-keys.js';
import type { LogSettings } from '../log.js';

export interface GeoPoint {
  /** Degrees, -90..90. */
  lat: number;
  /** Degrees, -180..180. */
  lon: number;
}

export interface HealthCheckConfig {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive successes that bring a down edge back. */
  rise: number;
  /** Consecutive failures that take an up edge out of answers. */
  fall: number;
}

/** How an edge spreads its origin requests over the servers of its pool (src/edge/upstream/pool-policies.ts). */
export const ORIGIN_POLICIES = ['round-robin', 'weighted', 'least-connections', 'hash', 'failover'] as const;
export type OriginPolicy = (typeof ORIGIN_POLICIES)[number];

export interface OriginServerConfig {
  /** Names the server in a sticky cookie (never its address): from the file, else an HMAC of the URL. */
  id: string;
  /** `http://host:port` */
  url: string;
  /** Relative share for `weighted` (and `least-connections`, `hash`); 1 by default. */
  weight: number;
  /** Used only while every non-backup server is unavailable (nginx `backup`). */
  backup: boolean;
}

/** An edge's origin pool (`origin` on an edge or in `edgeDefaults`). */
export interface OriginPoolConfig {
  policy: OriginPolicy;
  servers: OriginServerConfig[];
  /** Active checks of every server; absent = passive checks only. */
  health?: HealthCheckConfig;
  /** `maxFails` consecutive connect errors, timeouts, resets or 5xx eject a server for `ejectMs`. */
  passive: { maxFails: number; ejectMs: number };
  /** Further servers a GET/HEAD that could not connect (or was reset or silent before any byte) is tried on. */
  retries: number;
  /**
   * `timeouts.header`: how long a GET/HEAD waits for the first byte of the answer from one server before that
   * server counts as failed (passive check) and the request is retried on another (when `retries` allows).
   */
  headerTimeoutMs: number;
  /** Pin passed requests to the server that answered the first one (`sticky: { cookie: NAME }`). */
  sticky?: { cookie: string };
}

export interface EdgeConfig {
  name: string;
  /** IPv4 and/or IPv6 addresses DNS answers with (advertised), and health checks probe. */
  addresses: string[];
  port: number;
  /**
   * What the edge binds, when not `addresses` at `port` (behind NAT, or a wildcard such as 0.0.0.0:8080). Absent:
   * the edge listens on every one of its addresses.
   */
  listen?: HostPort[];
  /** Absent: a pool of the origin role's servers (`origin.listen` plus `origin.replicas`), round-robin. */
  origin?: OriginPoolConfig;
  location: GeoPoint;
  /** Relative share for `weighted` pools (default 1). */
  weight: number;
  health: HealthCheckConfig;
  /** `ignoreCookies`: cookie names (`*` wildcards) that do not make a response private (src/edge/policy.ts). */
  /**
   * `expectedObjectBytes`: the mean object size the operator expects; sizes the policy's fixed tables (frequency
   * sketch, ghost queue: src/edge/eviction/capacity.ts). Default 4 KiB.
   */
  cache: { maxBytes: number; maxObjectBytes?: number; expectedObjectBytes?: number; ignoreCookies?: string[]; policy?: CachePolicyName };
  /**
   * Admin listener (metrics, purge, replica): `edges.NAME.admin`. load.ts always sets it (a default beside the
   * public port); optional so that edges built in code for DNS steering need not name one.
   */
  admin?: HostPort;
  /** Networks (CIDR text) whose PURGE the public port accepts, with the token; absent or empty = admin listener only. */
  purgeAllow?: string[];
  /** `accessLog`: one line per request (src/edge/access-log.ts); absent = no access log. */
  accessLog?: AccessLogConfig;
  /** `compression`: br/gzip variants of stored objects (src/edge/compression.ts); absent = the defaults, false = off. */
  compression?: EdgeCompressionConfig | false;
  /** The cluster (clusters.NAME) whose ring this edge shares; set by load.ts from `clusters`. */
  cluster?: string;
  /** An edge or cluster asked instead of the origin: the edge's own `shield`, else its cluster's. */
  shield?: string;
  /** Worker processes (`workers`, `--workers`); absent: one per core; 1 = a single process. */
  workers?: number;
  /** HTTPS (and HTTP/2) beside the plain port: `edges.NAME.tls` over `edgeDefaults.tls`, key by key. */
  tls?: EdgeTlsConfig;
}

export interface EdgeCompressionConfig {
  /** Content types (a value ending in `/` is a prefix); absent = the edge's default list. */
  types?: string[];
  /** Smallest body compressed, bytes. */
  minBytes?: number;
  br?: boolean;
  gzip?: boolean;
}

export const ACCESS_LOG_FORMATS = ['combined', 'json'] as const;
export type AccessLogFormat = (typeof ACCESS_LOG_FORMATS)[number];

export interface AccessLogConfig {
  /** An absolute file path, or `stderr`. */
  to: { path: string } | { stderr: true };
  format: AccessLogFormat;
}

/** `workers` of an edge and `dnscdn edge --workers`. */
export const EDGE_WORKERS_RANGE = { min: 1, max: 256 } as const;

/** A named group of edges sharing their cache space through a consistent-hash ring (`clusters.NAME`). */
export interface ClusterConfig {
  name: string;
  edges: string[];
  /** An edge or another cluster that the members ask instead of the origin. */
  shield?: string;
}

/** A certificate chain and its key (PEM files); `names` default to the certificate's DNS subjectAltNames. */
export interface TlsCertificateFiles {
  cert: string;
  key: string;
  names?: string[];
}

/** ACME (RFC 8555) certificates for `names`, answered by HTTP-01 on the edges (src/edge/tls/acme.ts). */
export interface AcmeConfig {
  /** The CA's directory URL. */
  directory: string;
  names: string[];
  email?: string;
  /** Account key and issued certificates (0600). */
  dir: string;
  /** Where pending HTTP-01 key authorizations are kept; every edge serves `/.well-known/acme-challenge/` from it. */
  challengeDir: string;
  /** PEM bundle to trust for the CA's own HTTPS (a test CA such as Pebble); absent = the system CAs. */
  caFile?: string;
}

/** HTTP/2 abuse limits (src/edge/tls/h2-limits.ts); absent keys keep the defaults written there. */
export interface Http2LimitsConfig {
  maxConcurrentStreams?: number;
  maxHeaderListBytes?: number;
  /** RST_STREAMs a client may send per `resetWindowMs` before its connection is closed (CVE-2023-44487). */
  maxResets?: number;
  resetWindowMs?: number;
}

export interface EdgeTlsConfig {
  port: number;
  certificates: TlsCertificateFiles[];
  /** Served to clients without SNI or with a name no certificate has; absent = the first certificate. */
  default?: TlsCertificateFiles;
  /** A folder where a demo CA and a certificate for the CDN's names are made on first start (`npm start`). */
  demoCa?: string;
  acme?: AcmeConfig;
  /** The plain port answers 308 to https:// (except /healthz and ACME challenges). */
  redirectHttp: boolean;
  /** Strict-Transport-Security max-age on HTTPS answers (RFC 6797), seconds; absent = no header. */
  hstsMaxAgeSec?: number;
  handshakeTimeoutMs?: number;
  /** HTTP/1.1 connections with no byte moving and HTTP/2 sessions without frames close after this (default 120 s). */
  idleTimeoutMs?: number;
  ticketKeyRotationMs?: number;
  http2?: Http2LimitsConfig;
}

export const POOL_POLICIES = ['round-robin', 'weighted', 'geo-nearest', 'failover'] as const;
export type PoolPolicy = (typeof POOL_POLICIES)[number];

export interface PoolConfig {
  /** Owner name, lower case, no trailing dot. */
  name: string;
  policy: PoolPolicy;
  /** Edge names; for `failover`, in order of preference. */
  edges: string[];
  /** TTL of the answers (seconds): short, so that health changes reach clients quickly. */
  ttl: number;
  /** How many edges one answer names (each contributes all its addresses of the asked type). */
  answers: number;
}

/** A network the geo database does not know (private ranges, loopback): placed at a point, or pinned to an edge. */
export type GeoNetwork = { cidr: Cidr; text: string } & ({ location: GeoPoint; edge?: undefined } | { edge: string; location?: undefined });

export interface RecursionConfig {
  /** Clients allowed to recurse (RFC 5358: open resolvers are abused); absent = the role's default (loopback). */
  allow?: Cidr[];
  allowText?: string[];
  rootHints?: string;
  /** zone -> upstream servers asked with RD=1. */
  forwarders: Array<{ zone: string; servers: HostPort[] }>;
  /** Port of the servers found through hints and referrals (`--upstream-port`). */
  upstreamPort?: number;
  /** Seconds expired answers may be served when no authority answers (`--stale-window`, RFC 8767). */
  staleWindow?: number;
  /** 0x20: random letter case in upstream questions (`--randomize-case`). */
  randomizeCase?: boolean;
}

/** Zone transfer out (`dns.transfer`): who may pull our zones, and whom we tell when they change. */
export interface DnsTransferConfig {
  /** Clients allowed AXFR/IXFR over TCP (`--allow-transfer`); empty = nobody. */
  allow: Cidr[];
  allowText: string[];
  /** Secondaries sent a NOTIFY when a zone's serial changes (`--notify`). */
  notify: HostPort[];
  /** TSIG keys (`--tsig-key`): with any, transfers must be signed by one, and NOTIFY is signed with the first. */
  tsigKeys: TsigKey[];
}

/** Allowed EDNS UDP payload sizes (`dns.udpSize`, `--udp-size`): RFC 6891 §6.2.5 treats below 512 as 512. */
export const DNS_UDP_SIZE_RANGE = { min: 512, max: 65_535 } as const;

/** The query log's sample (`dns.queryLogSample`, `--query-log-sample`): the fraction of queries logged; 0 = off, 1 = every query. */
export const QUERY_LOG_SAMPLE_RANGE = { min: 0, max: 1 } as const;

/** Limits on DNS over TCP (`dns.tcp`); an absent key keeps the server's default (src/dns/tcp.ts, tcp-admission.ts). */
export interface DnsTcpConfig {
  /** Close a connection with no query in progress this long after opening or its last reply. */
  idleTimeoutMs?: number;
  /** A query must arrive whole this long after its first byte. */
  frameTimeoutMs?: number;
  /** Open connections per listen address. */
  maxConnections?: number;
  /** Open connections per client network, over all listen addresses. */
  maxPerNetwork?: number;
  /** Prefix lengths that make one client network. */
  ipv4Prefix?: number;
  ipv6Prefix?: number;
}

/** Allowed values of the whole-number TCP limits, shared by the file and the `dnscdn dns` flags. */
export const DNS_TCP_RANGES = {
  maxConnections: { min: 1, max: 65_535 },
  maxPerNetwork: { min: 1, max: 65_535 },
  ipv4Prefix: { min: 0, max: 32 },
  ipv6Prefix: { min: 0, max: 128 },
} as const;

/** Response-rate limiting of UDP replies (`dns.rrl`, src/dns/rrl.ts); absent = off. */
export interface DnsRrlConfig {
  responsesPerSecond: number;
  /** Every Nth limited reply is sent truncated (TC=1); 0 = drop all limited, 1 = truncate all. */
  slip?: number;
  /** Seconds a flooding network stays limited after it stops. */
  window?: number;
  ipv4Prefix?: number;
  ipv6Prefix?: number;
  /** Networks never limited (CIDR text, validated). */
  exempt: string[];
}

/** Allowed values of the RRL settings, shared by the file and the `dnscdn dns` flags. */
export const DNS_RRL_RANGES = {
  responsesPerSecond: { min: 1, max: 1_000_000 },
  slip: { min: 0, max: 10 },
  window: { min: 1, max: 3600 },
  ipv4Prefix: { min: 0, max: 32 },
  ipv6Prefix: { min: 0, max: 128 },
} as const;

/** Processes answering DNS on one host (`dns.workers`, `--workers`): 1 = a single process, no cluster. */
export const DNS_WORKERS_RANGE = { min: 1, max: 1024 } as const;

/** `dns.workerLiveness`: the primary's ping of its workers (src/cluster/liveness.ts); absent keys take its defaults. */
export interface DnsWorkerLivenessConfig {
  /** Time between pings; 0 = off. */
  intervalMs?: number;
  /** Pings in a row without an answer before the worker is killed and restarted. */
  misses?: number;
}

/**
 * One more name server for the same zones and pools (`dns.instances.<name>`, `dnscdn dns --name <name>`):
 * ns2 on another host. Only where it listens differs; everything else is the `dns` section's.
 */
export interface DnsInstanceConfig {
  name: string;
  listen: HostPort[];
  admin?: HostPort;
}

export interface DnsConfig {
  listen: HostPort[];
  zones: string;
  /** EDNS UDP payload size we advertise and send up to (`--udp-size`). */
  udpSize?: number;
  transfer?: DnsTransferConfig;
  recursion?: RecursionConfig;
  tcp?: DnsTcpConfig;
  rrl?: DnsRrlConfig;
  /** HTTP listener for GET /metrics and GET /healthz (edge health as steering sees it). */
  admin?: HostPort;
  /** Fraction of queries written to the query log (src/dns/query-log.ts); absent = off. */
  queryLogSample?: number;
  /** Worker processes (node:cluster); absent = one per core. */
  workers?: number;
  /** How the primary finds a frozen or blocked worker; absent = the defaults (1s x 3). */
  workerLiveness?: DnsWorkerLivenessConfig;
  /** Further named instances (ns2, ...) started with `--name`; the section itself is the unnamed one. */
  instances: DnsInstanceConfig[];
}

export interface GeoConfig {
  /** MaxMind-format database files (.mmdb); empty means geo comes only from `networks`. */
  databases: string[];
  networks: GeoNetwork[];
}

export interface OriginRule {
  pattern: string;
  cacheControl?: string;
  surrogateKeys?: string[];
}

export interface OriginConfig {
  listen: HostPort;
  /**
   * Content-only copies of the origin (`origin.replicas`): further origin processes serving the same content
   * folder with the same rules, each on its own address (admin beside it). Push and the distribution node stay
   * with the main origin; edges spread their requests over all of them.
   */
  replicas: HostPort[];
  /** `origin.url`: where edges reach the origin when not at `listen` (NAT, a wildcard listener, an https:// name behind TLS); absent = http://listen. */
  url?: string;
  /** Admin listener (metrics, push, purge, status, the in-process distribution node): `origin.admin`. */
  admin: HostPort;
  content: string;
  rules: OriginRule[];
}

export interface DistributionConfig {
  /** Where a separate distributor listens; absent = the distribution node runs inside the origin. */
  listen?: HostPort;
  /** Admin listener of the separate distributor (metrics, publish, journal, status): with `listen` only. */
  admin?: HostPort;
  journal: string;
  /** Where push and purge go: dnscdn's own journal (the default) or NATS JetStream (src/distribution/nats/). */
  backend: 'journal' | 'nats';
  /** With `backend: nats` only (src/config/nats.ts reads it). */
  nats?: NatsConfig;
}

/** `distribution.nats`: the JetStream cluster that carries operations, bodies and the per-path state. */
export interface NatsConfig {
  /** host:port of each server (the client fails over among them). */
  servers: string[];
  /** Stream of operations; the state stream and the body bucket are named after it (`<stream>_STATE`, `<stream>_BODIES`). */
  stream: string;
  /** Raft replicas of the streams and the bucket: 3 (or 5); 1 only with allowUnsafeSingleReplica. */
  replicas: number;
  allowUnsafeSingleReplica: boolean;
  /** Operations the stream keeps; an edge further behind rebuilds from the per-path state. */
  retainOps: number;
  /** The publisher lease (`publisherLease`): one origin publishes; another takes over once it is unrenewed this long. */
  leaseMs: number;
  /** Body garbage collection by the lease holder: every `bodyGcInterval` (0 = never), bodies unreferenced and older than `bodyGcGrace`. */
  bodyGcIntervalMs: number;
  bodyGcGraceMs: number;
  /** Credentials: user + password, a token, or a `.creds` file (NATS decentralised auth). */
  user?: string;
  password?: string;
  token?: string;
  credsFile?: string;
  /** TLS to the servers: CA to trust, and a client certificate for mutual TLS. */
  tls?: { ca?: string; cert?: string; key?: string };
}

export interface Deployment {
  file: string;
  dns: DnsConfig;
  edges: EdgeConfig[];
  pools: PoolConfig[];
  /** `clusters`: absent or empty when no edge shares a ring. */
  clusters?: ClusterConfig[];
  geo: GeoConfig;
  origin?: OriginConfig;
  distribution?: DistributionConfig;
  /** Bearer tokens accepted by push/purge/journal endpoints (never logged). */
  adminTokens: string[];
  /** `log: { format, level }`; `--log-format`/`--log-level` and DNSCDN_LOG(_FORMAT) win over it (src/log.ts). */
  log?: LogSettings;
  /** `tls`: TLS between roles (src/http/link-tls.ts); absent = links over plain HTTP, public CAs for https origins. */
  tls?: LinkTlsConfig;
}

/** TLS between roles: one CA the deployment's clients trust, one certificate its admin listeners serve. */
export interface LinkTlsConfig {
  /** PEM CA bundle every link client trusts (origin URL, push, purge, catch-up, status); absent = Node's public CAs. */
  ca?: string;
  /** PEM certificate and key every admin listener serves HTTPS with; absent = admin listeners speak HTTP. */
  admin?: { cert: string; key: string };
}
