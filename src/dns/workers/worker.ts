/**
 * One DNS worker (node:cluster): the whole query path of the role, in a process of its own. What the
 * host has once stays in the primary (workers/primary.ts): the health probes, whose results arrive here
 * (ForwardedHealth), the admin listener, which aggregates this process's registry, and SIGHUP, relayed as
 * a reload message. Per worker, and so not shared: the encoded-answer caches, the resolver cache, and the
 * RRL table (a client network spread over N workers gets up to N x the configured rate).
 */
import type { Registry } from 'prom-client';
import { answerLivenessPings } from '../../cluster/liveness.js';
import { shareMetricsWithPrimary } from '../../cluster/metrics.js';
import { logger } from '../../log.js';
import { createRegistry } from '../../metrics.js';
import type { HostPort } from '../../net/address.js';
import { ForwardedHealth } from './forwarded-health.js';
import { isPrimaryMessage, type WorkerMessage } from './messages.js';
import type { UdpSocketMode } from './socket-mode.js';

const log = logger('dns.worker');

/** The primary tells each worker how to bind UDP in its environment (cluster.fork's env). */
export const SOCKET_MODE_ENV = 'DNSCDN_DNS_SOCKET_MODE';

/** Health the primary sends within this time, or the worker starts with every edge up (HealthChecker's own start). */
const HEALTH_WAIT_MS = 5_000;

/** What the role started in a worker hands back. */
export interface WorkerRole {
  readonly addresses: HostPort[];
  reload(): void;
  close(): Promise<void>;
}

/** What a worker's role is started with. */
export interface WorkerContext {
  health: ForwardedHealth;
  /** Aggregated by the primary's admin listener. */
  registry: Registry;
  /** Bind UDP with SO_REUSEPORT (socket-mode.ts) rather than through the primary's shared handle. */
  reusePort: boolean;
}

export async function runDnsWorker(start: (context: WorkerContext) => Promise<WorkerRole>): Promise<WorkerRole> {
  const registry = createRegistry({ labels: { role: 'dns' } });
  shareMetricsWithPrimary([registry]);
  // The primary's liveness pings (cluster/liveness.ts) are answered from this event loop from the start; the
  // primary watches only once this worker is ready.
  answerLivenessPings();
  const health = new ForwardedHealth();
  let role: WorkerRole | undefined;
  let heard: () => void = () => undefined;
  const firstHealth = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, HEALTH_WAIT_MS);
    heard = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    if (message.kind === 'dnscdn:dns:health') {
      health.apply(message.edges);
      heard();
    } else {
      log.info('dns reload from the primary', { pid: process.pid });
      role?.reload();
    }
  });
  send({ kind: 'dnscdn:dns:hello' });
  await firstHealth;
  const mode: UdpSocketMode = process.env[SOCKET_MODE_ENV] === 'reuseport' ? 'reuseport' : 'shared';
  role = await start({ health, registry, reusePort: mode === 'reuseport' });
  const stop = (): void => void role!.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Reloads come from the primary (one SIGHUP, relayed); a hang-up of the process group must not end workers.
  process.on('SIGHUP', () => undefined);
  send({ kind: 'dnscdn:dns:ready', listening: role.addresses });
  log.info('dns worker ready', { pid: process.pid, socket: mode });
  return role;
}

function send(message: WorkerMessage): void {
  process.send?.(message);
}
