/**
 * Where each role of a deployment is reached and keeps its state, derived from the validated Deployment alone.
 * Several roles need the same answer (the origin feeds the edges it finds here, an edge catches up from the
 * node found here, `up` prints these URLs, `journal verify --edge` opens the replica found here), so it is
 * worked out once. Nothing here imports a role: each role's setup.ts turns these into its own options.
 */
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import type { Deployment, EdgeConfig, OriginConfig } from './types.js';

/** The edge `--name` picks; the error lists the edges the file has. */
export function findEdge(d: Deployment, name: string | undefined): EdgeConfig {
  const names = d.edges.map((e) => e.name).join(', ');
  if (name === undefined) throw new ConfigError({ file: d.file }, `--name is required with --config (edges: ${names})`);
  const edge = d.edges.find((e) => e.name === name);
  if (!edge) throw new ConfigError({ file: d.file, key: 'edges' }, `no edge named "${name}" (edges: ${names})`);
  return edge;
}

export function requireOrigin(d: Deployment): OriginConfig {
  if (!d.origin) throw new ConfigError({ file: d.file, key: 'origin' }, 'the deployment has no origin');
  return d.origin;
}

/** Where edges reach the origin: `origin.url` (behind NAT, or a wildcard listener), else its listener. */
export function originUrl(d: Deployment): string {
  const origin = requireOrigin(d);
  return origin.url ?? `http://${formatHostPort(origin.listen)}`;
}

/** Every origin process serving the content: the origin, then each content-only replica (`origin.replicas`). */
export function originServerUrls(d: Deployment): string[] {
  return [originUrl(d), ...requireOrigin(d).replicas.map((r) => `http://${formatHostPort(r)}`)];
}

/** The addresses an edge binds: `listen` if the file names it, else each of its addresses at its port. */
export function edgeListeners(edge: EdgeConfig): HostPort[] {
  return edge.listen ?? edge.addresses.map((host) => ({ host, port: edge.port }));
}

/** `https` when the deployment's admin listeners serve TLS (`tls.admin`), else `http`. */
export function adminScheme(d: Pick<Deployment, 'tls'>): 'http' | 'https' {
  return d.tls?.admin ? 'https' : 'http';
}

/** The origin's admin listener: push, purge, status, and the in-process distribution node. */
export function originAdminUrl(d: Deployment): string {
  return `${adminScheme(d)}://${formatHostPort(requireOrigin(d).admin)}`;
}

/** Where an edge is reached: its first (advertised) address; it listens on all of them (edgeListeners). */
export function edgeUrl(edge: EdgeConfig): string {
  return `http://${formatHostPort({ host: edge.addresses[0]!, port: edge.port })}`;
}

/**
 * The HTTPS listeners of an edge from its `tls` settings: `tls.port` on the host of each of its listeners
 * (edgeListeners: every address, or the `listen` entries, e.g. a wildcard behind NAT), so a dual-stack edge
 * serves HTTPS on every address it serves HTTP on.
 */
export function edgeHttpsListeners(edge: EdgeConfig): HostPort[] {
  return edgeListeners(edge).map((l) => ({ host: l.host, port: edge.tls?.port ?? 8443 }));
}

/** Where an edge's HTTPS listener is reached: its first (advertised) address, at `tls.port`. */
export function edgeHttpsUrl(edge: EdgeConfig): string {
  return `https://${formatHostPort({ host: edge.addresses[0]!, port: edge.tls?.port ?? 8443 })}`;
}

/**
 * An edge's admin listener (metrics, purge, `/.dnscdn/replica`). load.ts always sets it; an EdgeConfig built
 * by hand without one gets a loopback address on a port the system picks.
 */
export function edgeAdmin(edge: EdgeConfig): HostPort {
  return edge.admin ?? { host: '127.0.0.1', port: 0 };
}

/** Where the distribution tier feeds an edge: its admin listener (`/.dnscdn/replica`). */
export function edgeAdminUrl(edge: EdgeConfig, d: Pick<Deployment, 'tls'> = {}): string {
  return `${adminScheme(d)}://${formatHostPort(edgeAdmin(edge))}`;
}

/**
 * Where the distribution tier's API is reached: the separate distributor's admin listener if the deployment
 * has one, else the origin's (which runs the node in-process).
 */
export function distributionUrl(d: Deployment): string {
  return d.distribution?.admin ? `${adminScheme(d)}://${formatHostPort(d.distribution.admin)}` : originAdminUrl(d);
}

/** The journal folder of the deployment's distribution node (in the origin or a separate distributor). */
export function journalDir(d: Deployment): string {
  return d.distribution?.journal ?? resolve(dirname(d.file), 'var/journal');
}

/** The token roles use for push, purge and replica calls: the file's first admin token. */
export function adminToken(d: Deployment): string | undefined {
  return d.adminTokens[0];
}

/** Where an edge keeps its replica of the pushed state: beside the distribution journal, under `edges/NAME`. */
export function edgeReplicaDir(d: Deployment, edge: EdgeConfig): string {
  return resolve(dirname(journalDir(d)), 'edges', edge.name);
}
