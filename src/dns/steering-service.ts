/**
 * The DNS role as a deployment describes it: the authoritative server with steering for the pools,
 * health checks of every edge, optional recursion, and the admin listener (GET /metrics for DNS, steering,
 * health and resolver counters; GET /healthz with the edges as steering sees them).
 * A reload (SIGHUP or a change of the file) applies new pools, edges and geo networks; a bad file is
 * refused and the running deployment stays (config/reload.ts). The `dns` keys (listeners, zones folder,
 * transfer, recursion, TCP limits) are read at start only (setup.ts).
 */
import { ReloadableDeployment } from '../config/reload.js';
import { DashboardCollector } from '../dashboard/collector.js';
import { DashboardRoutes } from '../dashboard/routes.js';
import { HealthChecker } from '../health/checker.js';
import { logger } from '../log.js';
import { createRegistry } from '../metrics.js';
import type { HostPort } from '../net/address.js';
import { GeoLocator } from './geo.js';
import { startDnsServer, type DnsServer } from './server.js';
import { dnsOptionsFromDeployment, dnsServerOptions, withOverrides, type DnsOverrides } from './setup.js';
import { Steering } from './steering.js';

const log = logger('dns');

export interface SteeredDns {
  readonly server: DnsServer;
  readonly steering: Steering;
  readonly health: HealthChecker;
  readonly deployment: ReloadableDeployment;
  /** Bound admin address, when the deployment has one. */
  readonly admin?: HostPort;
  reload(): void;
  close(): Promise<void>;
}

export interface SteeredDnsOptions {
  /** Settings that replace the file's `dns` keys, key by key (the command's flags; tests bind port 0). */
  overrides?: DnsOverrides;
  /** Watch the file and SIGHUP for reloads (default true). */
  watch?: boolean;
}

export async function startSteeredDns(file: string, options: SteeredDnsOptions = {}): Promise<SteeredDns> {
  const source = new ReloadableDeployment(file);
  const d = source.current();
  const registry = createRegistry({ labels: { role: 'dns' } });
  const health = new HealthChecker(d.edges, { registry });
  const geo = await GeoLocator.open(d.geo);
  const steering = new Steering(d, { health, geo, registry });
  const role = withOverrides(dnsOptionsFromDeployment(d), options.overrides ?? {});
  const dashboard = new DashboardCollector({
    deployment: () => source.current(),
    health: () => health.status(),
    onHealthChange: (listener) => health.onChange(listener),
    preview: (pool, address, prefixLength) => steering.preview(pool, { address, clientSubnet: { family: address.includes(':') ? 2 : 1, sourcePrefixLength: prefixLength, scopePrefixLength: 0, address } }),
  });
  const dashboardRoutes = new DashboardRoutes(dashboard);
  const server = await startDnsServer({
    ...dnsServerOptions(role, registry),
    dynamicAnswers: steering,
    healthDetails: () => ({ edges: health.status() }),
    adminRoutes: () => (req, res, path) => dashboardRoutes.handle(req, res, path),
  });
  health.start();
  // Sampling costs scrapes of every edge a second: only when there is an admin listener to show it on.
  if (server.metricsAddress) dashboard.start();
  source.onChange((next) => {
    // Edges first: new edges start up without a health event, and the new deployment starts every pool's epoch afresh.
    health.setEdges(next.edges);
    steering.setDeployment(next);
    geo.setNetworks(next.geo.networks);
  });
  const unwatch = (options.watch ?? true) ? source.watch() : () => undefined;
  const admin = server.metricsAddress;
  log.info('dns started from deployment', { file, pools: d.pools.map((p) => p.name).join(','), edges: d.edges.length });
  return {
    server,
    steering,
    health,
    deployment: source,
    ...(admin && { admin }),
    reload: () => {
      source.reload();
      void server.reload();
    },
    close: async () => {
      unwatch();
      dashboard.stop();
      health.stop();
      await server.close();
    },
  };
}
