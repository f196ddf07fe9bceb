/**
 * From one deployment to each role's own options, so that `dnscdn <role> --config FILE [--name X]`
 * starts exactly what `dnscdn up` starts, and each role's command keeps its plain flags as well.
 */
import { dirname, resolve } from 'node:path';
import { formatHostPort, type HostPort } from '../net/address.js';
import type { EdgeOptions } from '../edge/server.js';
import type { PathRule } from '../origin/rules.js';
import { ConfigError } from '../errors.js';
import type { Deployment, EdgeConfig } from './types.js';

export function findEdge(d: Deployment, name: string | undefined): EdgeConfig {
  const names = d.edges.map((e) => e.name).join(', ');
  if (name === undefined) throw new ConfigError({ file: d.file }, `--name is required with --config (edges: ${names})`);
  const edge = d.edges.find((e) => e.name === name);
  if (!edge) throw new ConfigError({ file: d.file, key: 'edges' }, `no edge named "${name}" (edges: ${names})`);
  return edge;
}

export function originUrl(d: Deployment): string {
  if (!d.origin) throw new ConfigError({ file: d.file, key: 'origin' }, 'the deployment has no origin');
  return `http://${formatHostPort(d.origin.listen)}`;
}

/** The origin's admin listener: push, purge, status, and the in-process distribution node. */
export function originAdminUrl(d: Deployment): string {
  if (!d.origin) throw new ConfigError({ file: d.file, key: 'origin' }, 'the deployment has no origin');
  return `http://${formatHostPort(d.origin.admin)}`;
}

/** Where the distribution tier feeds an edge: its admin listener (`/.dnscdn/replica`). */
export function edgeAdminUrl(edge: EdgeConfig): string {
  return `http://${formatHostPort(edgeAdmin(edge))}`;
}

function edgeAdmin(edge: EdgeConfig): HostPort {
  return edge.admin ?? { host: '127.0.0.1', port: 0 };
}

/** Where an edge is reached: its first address (an edge process listens on one address). */
export function edgeUrl(edge: EdgeConfig): string {
  return `http://${formatHostPort({ host: edge.addresses[0]!, port: edge.port })}`;
}

export function edgeOptionsFromConfig(d: Deployment, name: string | undefined): EdgeOptions {
  const edge = findEdge(d, name);
  const options: EdgeOptions = {
    listen: { host: edge.addresses[0]!, port: edge.port },
    origin: originUrl(d),
    maxBytes: edge.cache.maxBytes,
    name: edge.name,
    adminListen: edgeAdmin(edge),
  };
  if (edge.purgeAllow !== undefined && edge.purgeAllow.length > 0) options.purgeAllow = edge.purgeAllow;
  if (edge.cache.maxObjectBytes !== undefined) options.maxObjectBytes = edge.cache.maxObjectBytes;
  if (edge.cache.ignoreCookies !== undefined) options.ignoreCookies = edge.cache.ignoreCookies;
  if (edge.cache.policy !== undefined) options.cachePolicy = edge.cache.policy;
  if (d.adminTokens[0] !== undefined) options.adminToken = d.adminTokens[0];
  return options;
}

/** The origin command's settings: content, listener, rules, token, and the edges its distribution node feeds. */
export interface OriginSettings {
  content: string;
  listen: string;
  adminListen: string;
  rules: PathRule[];
  token?: string;
  /** `name=url` (the edge's admin listener) for each edge (the origin command's `--edge` form). */
  edges: string[];
  /** Journal folder of the in-process distribution node. */
  dataDir: string;
  /** A separate distribution node to publish to, when the deployment has one. */
  distributor?: string;
}

export function originSettingsFromConfig(d: Deployment): OriginSettings {
  if (!d.origin) throw new ConfigError({ file: d.file, key: 'origin' }, 'the deployment has no origin');
  const s: OriginSettings = {
    content: d.origin.content,
    listen: formatHostPort(d.origin.listen),
    adminListen: formatHostPort(d.origin.admin),
    rules: d.origin.rules,
    edges: d.edges.map((e) => `${e.name}=${edgeAdminUrl(e)}`),
    dataDir: d.distribution?.journal ?? resolve(dirname(d.file), 'var/journal'),
  };
  if (d.adminTokens[0] !== undefined) s.token = d.adminTokens[0];
  if (d.distribution?.admin) s.distributor = `http://${formatHostPort(d.distribution.admin)}`;
  return s;
}

/**
 * Where the distribution tier's API is reached: the separate distributor's admin listener if the deployment
 * has one, else the origin's (which runs the node in-process).
 */
export function distributionUrl(d: Deployment): string {
  return d.distribution?.admin ? `http://${formatHostPort(d.distribution.admin)}` : originAdminUrl(d);
}

/** `dnscdn distributor --config FILE`: a separate distribution node feeding every edge. */
export interface DistributorSettings {
  listen: string;
  adminListen: string;
  dataDir: string;
  token?: string;
  /** `name=url` for each edge (the command's `--edge` form). */
  edges: string[];
}

export function distributorSettingsFromConfig(d: Deployment): DistributorSettings {
  const listen = d.distribution?.listen;
  if (!d.distribution || !listen) throw new ConfigError({ file: d.file, key: 'distribution.listen' }, 'no separate distribution node (the origin runs it in-process)');
  const admin = d.distribution.admin ?? { host: '127.0.0.1', port: 0 };
  const s: DistributorSettings = { listen: formatHostPort(listen), adminListen: formatHostPort(admin), dataDir: d.distribution.journal, edges: d.edges.map((e) => `${e.name}=${edgeAdminUrl(e)}`) };
  if (d.adminTokens[0] !== undefined) s.token = d.adminTokens[0];
  return s;
}

/** An edge's part in origin push: catch up from the distribution tier, keep its replica beside the journal. */
export interface EdgePushSettings {
  distributor: string;
  stateDir: string;
  token: string;
}

/** Undefined when the deployment has no origin or no admin token (then the edge is a plain pull cache). */
export function edgePushSettingsFromConfig(d: Deployment, name: string | undefined): EdgePushSettings | undefined {
  const edge = findEdge(d, name);
  const token = d.adminTokens[0];
  if (!d.origin || token === undefined) return undefined;
  const journal = d.distribution?.journal ?? resolve(dirname(d.file), 'var/journal');
  return { distributor: distributionUrl(d), stateDir: resolve(dirname(journal), 'edges', edge.name), token };
}
