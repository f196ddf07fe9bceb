/**
 * The edge role's options, and how the deployment file fills them. `dnscdn edge --config FILE --name X` and
 * `dnscdn up` start exactly this; command.ts builds the same object from flags and lets a flag override a key.
 */
import { originPoolOf } from '../config/origin-pool.js';
import { adminToken, edgeAdmin, edgeHttpsListeners, edgeListeners, edgeReplicaDir, edgeUrl, findEdge, distributionUrl, originServerUrls } from '../config/reach.js';
import type { AcmeConfig, Deployment, EdgeConfig, LinkTlsConfig } from '../config/types.js';
import { DEFAULT_COMPRESSION } from './compression.js';
import type { EdgeRingOptions, PeerTarget } from './ring/ring-setup.js';
import type { EdgePushSettings } from './replica.js';
import type { EdgeOptions, EdgeTlsOptions } from './server.js';
import { demoCertificateNames } from './tls/demo-setup.js';

/** Everything one edge process runs: the cache and, when it takes part in origin push, its replica. */
export interface EdgeRoleOptions {
  server: EdgeOptions;
  /** Absent: a plain pull cache (no replica routes, no catch-up). */
  push?: EdgePushSettings;
  /** TLS between roles: the CA links trust, the admin listener's certificate (http/link-tls.ts). */
  linkTls?: LinkTlsConfig;
  /** Worker processes (workers.ts); absent: one per core (`os.availableParallelism()`); 1 = a single process. */
  workers?: number;
  /** A demo CA folder and the names its certificate must carry (made before the listener starts, if missing). */
  demoCa?: { dir: string; names: string[] };
  /** Certificates ordered from an ACME CA (tls/acme.ts). */
  acme?: AcmeConfig;
}

/**
 * `token` is the admin token the edge runs with (default: the file's first). The edge takes part in origin push
 * when the deployment has an origin and there is a token to guard the replica routes; else it is a pull cache.
 */
export function edgeRoleFromDeployment(d: Deployment, name: string | undefined, token: string | undefined = adminToken(d)): EdgeRoleOptions {
  const edge = findEdge(d, name);
  const server: EdgeOptions = {
    listen: edgeListeners(edge),
    // Without its own pool, an edge spreads over every process of the origin role.
    origin: edge.origin ?? originPoolOf(originServerUrls(d)),
    maxBytes: edge.cache.maxBytes,
    name: edge.name,
    adminListen: edgeAdmin(edge),
  };
  if (edge.purgeAllow !== undefined && edge.purgeAllow.length > 0) server.purgeAllow = edge.purgeAllow;
  if (edge.cache.maxObjectBytes !== undefined) server.maxObjectBytes = edge.cache.maxObjectBytes;
  if (edge.cache.expectedObjectBytes !== undefined) server.expectedObjectBytes = edge.cache.expectedObjectBytes;
  if (edge.cache.ignoreCookies !== undefined) server.ignoreCookies = edge.cache.ignoreCookies;
  if (edge.cache.policy !== undefined) server.cachePolicy = edge.cache.policy;
  if (edge.accessLog !== undefined) server.accessLog = edge.accessLog;
  if (edge.compression !== undefined) server.compression = edge.compression === false ? false : { ...DEFAULT_COMPRESSION, ...edge.compression };
  if (token !== undefined) server.adminToken = token;
  const ring = token === undefined ? undefined : ringFromDeployment(d, edge, token);
  if (ring) server.ring = ring;
  const role: EdgeRoleOptions = { server };
  if (d.tls) role.linkTls = d.tls;
  if (edge.workers !== undefined) role.workers = edge.workers;
  if (edge.tls) {
    server.tls = edgeTlsOptions(edge);
    if (edge.tls.demoCa !== undefined) role.demoCa = { dir: edge.tls.demoCa, names: demoCertificateNames(d) };
    if (edge.tls.acme) {
      role.acme = edge.tls.acme;
      server.acmeChallengeDir = edge.tls.acme.challengeDir;
    }
  }
  if (d.origin && token !== undefined) {
    const nats = d.distribution?.backend === 'nats' ? d.distribution.nats : undefined;
    role.push = nats ? { stateDir: edgeReplicaDir(d, edge), token, nats: { config: nats, edge: edge.name } } : { distributor: distributionUrl(d), stateDir: edgeReplicaDir(d, edge), token };
  }
  return role;
}

/** The edge's cluster peers and shield from the file (config/clusters.ts validated them); undefined when it has neither. */
export function ringFromDeployment(d: Deployment, edge: EdgeConfig, secret: string): EdgeRingOptions | undefined {
  const byName = new Map(d.edges.map((e) => [e.name, e]));
  const target = (e: EdgeConfig): PeerTarget => ({ name: e.name, url: edgeUrl(e), health: e.health });
  const membersOf = (name: string): EdgeConfig[] => {
    const cluster = d.clusters?.find((c) => c.name === name);
    return cluster ? cluster.edges.map((n) => byName.get(n)!) : [byName.get(name)!];
  };
  const cluster = edge.cluster === undefined ? [] : membersOf(edge.cluster).filter((e) => e.name !== edge.name);
  const shield = edge.shield === undefined ? [] : membersOf(edge.shield);
  if (edge.cluster === undefined && shield.length === 0) return undefined;
  return { secret, name: edge.name, cluster: cluster.map(target), shield: shield.map(target) };
}

/** The HTTPS listeners of an edge from its `tls` settings: at `tls.port` on each of its addresses (edgeHttpsListeners). */
function edgeTlsOptions(edge: EdgeConfig): EdgeTlsOptions {
  const t = edge.tls!;
  const o: EdgeTlsOptions = { listen: edgeHttpsListeners(edge), certificates: [...t.certificates], redirectHttp: t.redirectHttp };
  if (t.default) o.default = t.default;
  if (t.hstsMaxAgeSec !== undefined) o.hstsMaxAgeSec = t.hstsMaxAgeSec;
  if (t.handshakeTimeoutMs !== undefined) o.handshakeTimeoutMs = t.handshakeTimeoutMs;
  if (t.idleTimeoutMs !== undefined) o.idleTimeoutMs = t.idleTimeoutMs;
  if (t.ticketKeyRotationMs !== undefined) o.ticketKeyRotationMs = t.ticketKeyRotationMs;
  if (t.http2) o.http2 = t.http2;
  return o;
}
