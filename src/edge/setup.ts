/**
 * The edge role's options, and how the deployment file fills them. `dnscdn edge --config FILE --name X` and
 * `dnscdn up` start exactly this; command.ts builds the same object from flags and lets a flag override a key.
 */
import { originPoolOf } from '../config/origin-pool.js';
import { adminToken, edgeAdmin, edgeListeners, edgeReplicaDir, findEdge, distributionUrl, originServerUrls } from '../config/reach.js';
import type { Deployment, LinkTlsConfig } from '../config/types.js';
import { DEFAULT_COMPRESSION } from './compression.js';
import type { EdgePushSettings } from './replica.js';
import type { EdgeOptions } from './server.js';

/** Everything one edge process runs: the cache and, when it takes part in origin push, its replica. */
export interface EdgeRoleOptions {
  server: EdgeOptions;
  /** Absent: a plain pull cache (no replica routes, no catch-up). */
  push?: EdgePushSettings;
  /** TLS between roles: the CA links trust, the admin listener's certificate (http/link-tls.ts). */
  linkTls?: LinkTlsConfig;
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
  const role: EdgeRoleOptions = { server };
  if (d.tls) role.linkTls = d.tls;
  if (d.origin && token !== undefined) {
    const nats = d.distribution?.backend === 'nats' ? d.distribution.nats : undefined;
    role.push = nats ? { stateDir: edgeReplicaDir(d, edge), token, nats: { config: nats, edge: edge.name } } : { distributor: distributionUrl(d), stateDir: edgeReplicaDir(d, edge), token };
  }
  return role;
}
