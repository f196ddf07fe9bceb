/**
 * The origin role's options, and how the deployment file fills them. command.ts builds the same object from
 * flags and lets a flag override a key, so `dnscdn origin --config FILE` and `dnscdn up` start the same origin.
 */
import { adminToken, edgeAdminUrl, journalDir, requireOrigin } from '../config/reach.js';
import type { Deployment, NatsConfig } from '../config/types.js';
import type { DownstreamTarget } from '../distribution/edge-link.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import type { PathRule } from './rules.js';

export interface OriginRoleOptions {
  content: string;
  listen: HostPort;
  /** Admin listener (metrics, push, purge, status, the in-process node). Absent: command.ts puts it beside `listen`. */
  adminListen?: HostPort;
  /** Empty: the demo content's rules (command.ts DEMO_RULES). */
  rules: PathRule[];
  /** Without a token there is no push, purge or status (and no distribution node). */
  token?: string;
  /** The edges (their admin listeners) the in-process distribution node feeds (unused when publishing to a separate distributor). */
  edges: DownstreamTarget[];
  /** Journal and blobs of the in-process distribution node. */
  dataDir: string;
  /** A separate distribution node to publish to instead of running one in-process. */
  distributor?: string;
  /** Publish to NATS JetStream instead (`distribution.backend: nats`). */
  nats?: NatsConfig;
  /** Push changed files and purge deleted ones automatically. */
  watch: boolean;
}

export function originRoleFromDeployment(d: Deployment): OriginRoleOptions {
  const origin = requireOrigin(d);
  const role: OriginRoleOptions = {
    content: origin.content,
    listen: origin.listen,
    adminListen: origin.admin,
    rules: origin.rules,
    edges: d.edges.map((e) => ({ name: e.name, url: edgeAdminUrl(e) })),
    dataDir: journalDir(d),
    watch: false,
  };
  const token = adminToken(d);
  if (token !== undefined) role.token = token;
  if (d.distribution?.backend === 'nats' && d.distribution.nats) role.nats = d.distribution.nats;
  if (d.distribution?.admin) role.distributor = `http://${formatHostPort(d.distribution.admin)}`;
  return role;
}
