/**
 * The DNS role as a deployment describes it: the authoritative server with steering for the pools,
 * health checks of every edge, optional recursion, and the admin listener (GET /metrics for DNS, steering,
 * health and resolver counters; GET /healthz with the edges as steering sees them).
 * A reload (SIGHUP or a change of the file) applies new pools, edges and geo networks; a bad file is
 * refused and the running deployment stays (config/reload.ts). The `dns` keys (listeners, zones folder,
 * transfer, recursion, TCP limits) are read at start only (setup.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { ReloadableDeployment } from '../config/reload.js';
import { DashboardCollector } from '../dashboard/collector.js';
import { DashboardRoutes } from '../dashboard/routes.js';
import type { HealthStatus } from '../health/state.js';
import { HealthChecker } from '../health/checker.js';
import { logger } from '../log.js';
import { createRegistry } from '../metrics.js';
import type { HostPort } from '../net/address.js';
import { GeoLocator } from './geo.js';
import { startDnsServer, type DnsServer } from './server.js';
import { dnsOptionsFromDeployment, dnsServerOptions, withOverrides, type DnsOverrides } from './setup.js';
import { Steering, type EdgeHealth } from './steering.js';

const log = logger('dns');

/** The edges' health as steering reads it, with the per-edge detail for /healthz. */
export interface SteeringHealth extends EdgeHealth {
  status(): Array<{ edge: string; status: HealthStatus; lastReason: string }>;
}

export interface SteeredDns {
  readonly server: DnsServer;
  readonly steering: Steering;
  readonly health: SteeringHealth;
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
  /** `dns.instances.<name>` to run (`--name`); absent: the `dns` section's own listeners. */
  instance?: string;
  /**
   * A DNS worker (workers/worker.ts): health comes from the primary's checker instead of probes of our
   * own, and metrics go to this registry, which the primary aggregates.
   */
  worker?: { health: SteeringHealth; registry: Registry; reusePort: boolean };
}

export async function startSteeredDns(file: string, options: SteeredDnsOptions = {}): Promise<SteeredDns> {
  const source = new ReloadableDeployment(file);
  const d = source.current();
  const registry = options.worker?.registry ?? createRegistry({ labels: { role: 'dns' } });
  // In a worker the primary probes (once per host) and forwards what it finds.
  const checker = options.worker ? undefined : new HealthChecker(d.edges, { registry });
  const health: SteeringHealth = options.worker?.health ?? checker!;
  const geo = await GeoLocator.open(d.geo);
  const steering = new Steering(d, { health, geo, registry });
  const role = withOverrides(dnsOptionsFromDeployment(d, options.instance), options.overrides ?? {});
  const serverOptions = dnsServerOptions(role, registry);
  // A worker's metrics and /healthz are served by the primary's one admin listener (workers/primary.ts).
  if (options.worker) delete serverOptions.metricsListen;
  // The dashboard lives on the admin listener: here for a single process, in the primary with workers.
  const dashboard = serverOptions.metricsListen
    ? new DashboardCollector({
        deployment: () => source.current(),
        health: () => health.status(),
        onHealthChange: (listener) => checker?.onChange(listener),
        preview: (pool, address, prefixLength) => steering.preview(pool, { address, clientSubnet: { family: address.includes(':') ? 2 : 1, sourcePrefixLength: prefixLength, scopePrefixLength: 0, address } }),
      })
    : undefined;
  const dashboardRoutes = dashboard && new DashboardRoutes(dashboard);
  const server = await startDnsServer({
    ...serverOptions,
    dynamicAnswers: steering,
    healthDetails: () => ({ edges: health.status() }),
    ...(options.worker?.reusePort && { reusePort: true }),
    ...(dashboardRoutes && { adminRoutes: () => (req: IncomingMessage, res: ServerResponse, path: string) => dashboardRoutes.handle(req, res, path) }),
  });
  checker?.start();
  source.onChange((next) => {
    // Edges first: new edges start up without a health event, and the new deployment starts every pool's epoch afresh.
    checker?.setEdges(next.edges);
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
      dashboard?.stop();
      checker?.stop();
      await server.close();
    },
  };
}
