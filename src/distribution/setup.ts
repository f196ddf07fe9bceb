/**
 * The distributor role's options (`dnscdn distributor`), and how the deployment file fills them. command.ts
 * builds the same object from flags and lets a flag override a key.
 */
import { adminToken, edgeAdminUrl } from '../config/reach.js';
import type { Deployment, LinkTlsConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { HostPort } from '../net/address.js';
import type { DownstreamTarget } from './edge-link.js';

export interface DistributorRoleOptions {
  listen: HostPort;
  /** Admin listener (metrics, publish, journal, status, replica). Absent: command.ts puts it beside `listen`. */
  adminListen?: HostPort;
  /** Journal and blobs. */
  dataDir: string;
  /** Edges (or downstream nodes) to feed, at their admin listeners. */
  edges: DownstreamTarget[];
  /** Replicate this node instead of accepting publishes. */
  upstream?: string;
  token?: string;
  /** Compact the journal after this many operations. */
  compactAfter: number;
  /** TLS between roles: the CA links trust, the admin listener's certificate (http/link-tls.ts). */
  linkTls?: LinkTlsConfig;
}

export const DEFAULT_COMPACT_AFTER = 10_000;

/** A separate distribution node feeding every edge; refused when the deployment runs it inside the origin. */
export function distributorRoleFromDeployment(d: Deployment): DistributorRoleOptions {
  const listen = d.distribution?.listen;
  if (!d.distribution || !listen) throw new ConfigError({ file: d.file, key: 'distribution.listen' }, 'no separate distribution node (the origin runs it in-process)');
  const role: DistributorRoleOptions = {
    listen,
    dataDir: d.distribution.journal,
    edges: d.edges.map((e) => ({ name: e.name, url: edgeAdminUrl(e, d) })),
    compactAfter: DEFAULT_COMPACT_AFTER,
  };
  if (d.distribution.admin !== undefined) role.adminListen = d.distribution.admin;
  const token = adminToken(d);
  if (token !== undefined) role.token = token;
  if (d.tls) role.linkTls = d.tls;
  return role;
}
