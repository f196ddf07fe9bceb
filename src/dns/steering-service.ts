/**
 * The DNS role as a deployment describes it: the authoritative server with steering for the pools,
 * health checks of every edge, optional recursion, and an admin listener (GET /metrics, GET /health).
 * A reload (SIGHUP or a change of the file) applies new pools, edges and geo networks; a bad file is
 * refused and the running deployment stays (config/reload.ts).
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { ReloadableDeployment } from '../config/reload.js';
import type { Deployment } from '../config/types.js';
import { HealthChecker } from '../health/checker.js';
import { logger } from '../log.js';
import { createRegistry, PROMETHEUS_CONTENT_TYPE } from '../metrics.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import { GeoLocator } from './geo.js';
import { recursionFromFlags } from './resolver/flags.js';
import { startDnsServer, type DnsServer } from './server.js';
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
  /** Listen addresses that replace the file's (tests bind port 0). */
  listen?: HostPort[];
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
  const server = await startDnsServer({
    listen: options.listen ?? d.dns.listen,
    zonesDir: d.dns.zones,
    dynamicAnswers: steering,
    ...recursionOptions(d, registry),
  });
  health.start();
  source.onChange((next) => {
    steering.setDeployment(next);
    health.setEdges(next.edges);
    geo.setNetworks(next.geo.networks);
  });
  const unwatch = (options.watch ?? true) ? source.watch() : () => undefined;
  let adminServer: Server | undefined;
  let admin: HostPort | undefined;
  if (d.dns.admin) {
    adminServer = await listenAdmin(d.dns.admin, registry, health);
    const a = adminServer.address();
    if (a && typeof a === 'object') admin = { host: a.address, port: a.port };
  }
  log.info('dns started from deployment', { file, pools: d.pools.map((p) => p.name).join(','), edges: d.edges.length });
  return {
    server,
    steering,
    health,
    deployment: source,
    ...(admin && { admin }),
    reload: () => {
      source.reload();
      server.reload();
    },
    close: async () => {
      unwatch();
      health.stop();
      if (adminServer) await new Promise<void>((r) => adminServer!.close(() => r()));
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

function listenAdmin(at: HostPort, registry: Registry, health: HealthChecker): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      void registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
        res.end(text);
      });
    } else if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ edges: health.status() })}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      log.info('dns admin listening', { admin: formatHostPort(at) });
      resolve(server);
    });
  });
}
