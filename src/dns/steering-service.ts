/**
 * The DNS role as a deployment describes it: the authoritative server with steering for the pools,
 * health checks of every edge, optional recursion, and the admin listener (GET /metrics for DNS, steering,
 * health and resolver counters; GET /healthz with the edges as steering sees them).
 * A reload (SIGHUP or a change of the file) applies new pools, edges and geo networks; a bad file is
 * refused and the running deployment stays (config/reload.ts).
 */
import type { Registry } from 'prom-client';
import { ReloadableDeployment } from '../config/reload.js';
import type { Deployment, DnsTcpConfig } from '../config/types.js';
import { HealthChecker } from '../health/checker.js';
import { logger } from '../log.js';
import { createRegistry } from '../metrics.js';
import type { HostPort } from '../net/address.js';
import { GeoLocator } from './geo.js';
import { recursionFromFlags } from './resolver/flags.js';
import { startDnsServer, type DnsServer } from './server.js';
import { Steering } from './steering.js';
import { tcpServerOptions } from './tcp-settings.js';

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
  /** Listen addresses that replace the file's (tests bind port 0). */
  listen?: HostPort[];
  /** Watch the file and SIGHUP for reloads (default true). */
  watch?: boolean;
  /** TCP limits that override the file's `dns.tcp`, key by key (the command's flags). */
  tcp?: DnsTcpConfig;
}

export async function startSteeredDns(file: string, options: SteeredDnsOptions = {}): Promise<SteeredDns> {
  const source = new ReloadableDeployment(file);
  const d = source.current();
  const registry = createRegistry({ labels: { role: 'dns' } });
  const health = new HealthChecker(d.edges, { registry });
  const geo = await GeoLocator.open(d.geo);
  const steering = new Steering(d, { health, geo, registry });
  const server = await startDnsServer({
    listen: options.listen ?? d.dns.listen,
    zonesDir: d.dns.zones,
    dynamicAnswers: steering,
    registry,
    ...(d.dns.admin && { metricsListen: d.dns.admin }),
    healthDetails: () => ({ edges: health.status() }),
    ...recursionOptions(d, registry),
    ...tcpServerOptions({ ...d.dns.tcp, ...options.tcp }),
  });
  health.start();
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
      health.stop();
      await server.close();
    },
  };
}

function recursionOptions(d: Deployment, registry: Registry): ReturnType<typeof recursionFromFlags> | Record<string, never> {
  const r = d.dns.recursion;
  if (!r) return {};
  return recursionFromFlags(
    {
      ...(r.rootHints !== undefined && { rootHints: r.rootHints }),
      ...(r.forwarders.length > 0 && { forward: r.forwarders }),
      allowRecursion: r.allowText,
      upstreamPort: 53,
    },
    registry,
  );
}
