/**
 * The edge role's options, and how the deployment file fills them. `dnscdn edge --config FILE --name X` and
 * `dnscdn up` start exactly this; command.ts builds the same object from flags and lets a flag override a key.
 */
import { adminToken, edgeAdmin, edgeReplicaDir, findEdge, distributionUrl, originUrl } from '../config/reach.js';
import type { Deployment } from '../config/types.js';
import type { EdgePushSettings } from './replica.js';
import type { EdgeOptions } from './server.js';

/** Everything one edge process runs: the cache and, when it takes part in origin push, its replica. */
export interface EdgeRoleOptions {
  server: EdgeOptions;
  /** Absent: a plain pull cache (no replica routes, no catch-up). */
  push?: EdgePushSettings;
}

/**
 * `token` is the admin token the edge runs with (default: the file's first). The edge takes part in origin push
 * when the deployment has an origin and there is a token to guard the replica routes; else it is a pull cache.
 */
export function edgeRoleFromDeployment(d: Deployment, name: string | undefined, token: string | undefined = adminToken(d)): EdgeRoleOptions {
  const edge = findEdge(d, name);
  const server: EdgeOptions = {
    listen: { host: edge.addresses[0]!, port: edge.port },
    origin: originUrl(d),
    maxBytes: edge.cache.maxBytes,
    name: edge.name,
    adminListen: edgeAdmin(edge),
  };
  if (edge.purgeAllow !== undefined && edge.purgeAllow.length > 0) server.purgeAllow = edge.purgeAllow;
  if (edge.cache.maxObjectBytes !== undefined) server.maxObjectBytes = edge.cache.maxObjectBytes;
  if (edge.cache.ignoreCookies !== undefined) server.ignoreCookies = edge.cache.ignoreCookies;
  if (edge.cache.policy !== undefined) server.cachePolicy = edge.cache.policy;
  if (token !== undefined) server.adminToken = token;
  const role: EdgeRoleOptions = { server };
  if (d.origin && token !== undefined) {
    const nats = d.distribution?.backend === 'nats' ? d.distribution.nats : undefined;
    role.push = nats ? { stateDir: edgeReplicaDir(d, edge), token, nats: { config: nats, edge: edge.name } } : { distributor: distributionUrl(d), stateDir: edgeReplicaDir(d, edge), token };
  }
  return role;
}
