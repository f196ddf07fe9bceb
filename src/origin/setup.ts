/**
 * The origin role's options, and how the deployment file fills them. command.ts builds the same object from
 * flags and lets a flag override a key, so `dnscdn origin --config FILE` and `dnscdn up` start the same origin.
 */
import { adminScheme, adminToken, edgeAdminUrl, journalDir, requireOrigin } from '../config/reach.js';
import type { Deployment, LinkTlsConfig, NatsConfig } from '../config/types.js';
import type { DownstreamTarget } from '../distribution/edge-link.js';
import { ConfigError } from '../errors.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import { defaultAdminAddress } from '../net/admin-address.js';
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
  /**
   * A content-only replica (`origin.replicas`): serves the same folder with the same rules, and nothing else: no
   * token (so no push, purge or distribution node) and no generation of the demo's large files, which the main
   * origin writes (two writers of one file would serve each other half-written bytes).
   */
  replica?: boolean;
  /** TLS between roles: the CA links trust, the admin listener's certificate (http/link-tls.ts). */
  linkTls?: LinkTlsConfig;
}

/** The replica of the file's origin that listens at `listen` (one of `origin.replicas`). */
export function originReplicaFromDeployment(d: Deployment, listen: HostPort): OriginRoleOptions {
  const origin = requireOrigin(d);
  const known = origin.replicas.some((r) => r.host === listen.host && r.port === listen.port);
  if (!known) {
    const list = origin.replicas.map(formatHostPort).join(', ') || 'none';
    throw new ConfigError({ file: d.file, key: 'origin.replicas' }, `no replica at ${formatHostPort(listen)} (replicas: ${list})`);
  }
  return { ...originReplica(origin.content, listen, origin.rules), dataDir: journalDir(d) };
}

/** A content-only origin at `listen` (its admin listener, for /metrics, beside it). */
export function originReplica(content: string, listen: HostPort, rules: PathRule[]): OriginRoleOptions {
  const role: OriginRoleOptions = { content, listen, rules, edges: [], dataDir: '', watch: false, replica: true };
  const admin = defaultAdminAddress(listen);
  if (admin) role.adminListen = admin;
  return role;
}

export function originRoleFromDeployment(d: Deployment): OriginRoleOptions {
  const origin = requireOrigin(d);
  const role: OriginRoleOptions = {
    content: origin.content,
    listen: origin.listen,
    adminListen: origin.admin,
    rules: origin.rules,
    edges: d.edges.map((e) => ({ name: e.name, url: edgeAdminUrl(e, d) })),
    dataDir: journalDir(d),
    watch: false,
  };
  const token = adminToken(d);
  if (token !== undefined) role.token = token;
  if (d.distribution?.backend === 'nats' && d.distribution.nats) role.nats = d.distribution.nats;
  if (d.distribution?.admin) role.distributor = `${adminScheme(d)}://${formatHostPort(d.distribution.admin)}`;
  if (d.tls) role.linkTls = d.tls;
  return role;
}
