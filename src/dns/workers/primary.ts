/**
 * The DNS primary of `dnscdn dns --workers N` (N > 1): it answers no query itself. It
 *   - forks N workers (node:cluster; each runs the same command line and so reads the same file and flags),
 *     which share the DNS port: UDP per socket-mode.ts, TCP accepted here and handed out round-robin;
 *   - runs the one HealthChecker of the host and sends its results to every worker (probe traffic does
 *     not grow with N, and every worker steers with the same up/down set);
 *   - relays SIGHUP to every worker as a reload of zones and deployment;
 *   - serves the one admin listener: /metrics sums the workers' registries (prom-client's
 *     AggregatorRegistry) and adds its own (health, socket mode, workers, restarts); /healthz lists
 *     the workers and the edges;
 *   - restarts a worker that dies, after a backoff (restart-backoff.ts), while the others keep answering;
 *   - pings every ready worker over IPC (src/cluster/liveness.ts) and SIGKILLs one that stops answering (frozen
 *     by SIGSTOP, or its event loop blocked), so that it is restarted like one that died. Without this a frozen
 *     worker keeps what is already its own for as long as it is frozen: the TCP connections it had accepted (all
 *     their queries go unanswered), the one connection the round-robin handed it last, and with 'reuseport' the
 *     datagrams the kernel hashes to its socket. On the shared UDP socket (Node 20) the others read every
 *     datagram, so UDP is not lost (measured: README "A worker that stops answering"). Killing it also ends
 *     cluster's hand-outs to it: node:cluster drops a worker from its round-robin when it exits, and until then
 *     hands a worker a new connection only after it acknowledged the previous one, which a frozen worker never
 *     does (that last one stays open in the primary: a node:cluster limit, see the README).
 * A worker that dies before every worker is ready fails the start: that is a configuration problem
 * (a zones folder missing, a port taken), which restarting would only repeat.
 */
import cluster, { type Worker } from 'node:cluster';
import { Gauge } from 'prom-client';
import { clusterMetrics, workerRestartsCounter } from '../../cluster/metrics.js';
import { ReloadableDeployment } from '../../config/reload.js';
import { HealthChecker } from '../../health/checker.js';
import { logger } from '../../log.js';
import { createRegistry } from '../../metrics.js';
import { formatHostPort, type HostPort } from '../../net/address.js';
import { DashboardCollector } from '../../dashboard/collector.js';
import { DashboardRoutes } from '../../dashboard/routes.js';
import { ask } from '../ask.js';
import { listenMetrics, type MetricsListener } from '../metrics-listener.js';
import { LIVENESS_DEFAULTS, LivenessMonitor, type LivenessSettings } from '../../cluster/liveness.js';
import { STOP_GRACE_MS, terminate } from '../../cluster/terminate.js';
import type { ServerTls } from '../../http/link-tls.js';
import { isWorkerMessage, type PrimaryMessage } from './messages.js';
import { RestartBackoff, type RestartBackoffOptions } from './restart-backoff.js';
import { detectUdpSocketMode, type UdpSocketMode } from './socket-mode.js';
import { SOCKET_MODE_ENV } from './worker.js';

const log = logger('dns.workers');

export interface DnsPrimaryOptions {
  workers: number;
  /** The role's DNS listen addresses: a port 0 among them rules out 'reuseport' (each socket would get its own port). */
  listen: readonly HostPort[];
  /** The admin listener (/metrics, /healthz); absent = none. */
  metricsListen?: HostPort;
  /** The admin listener serves HTTPS with this certificate (the deployment's `tls.admin`). */
  metricsTls?: ServerTls;
  /** The deployment file whose edges the primary probes; absent = no steering, nothing to probe. */
  deploymentFile?: string;
  backoff?: RestartBackoffOptions;
  /** The ping of the workers (default 1 s x 3 misses; interval 0 = off). */
  liveness?: LivenessSettings;
}

export interface DnsPrimary {
  /** The DNS addresses the workers bound (port 0 resolved). */
  readonly addresses: HostPort[];
  readonly admin?: HostPort;
  readonly socketMode: UdpSocketMode;
  /** Reloads the deployment here and the zones and deployment in every worker (SIGHUP). */
  reload(): void;
  close(): Promise<void>;
}

/** Why a worker was restarted: it exited by itself (a crash, a signal from outside), or the primary killed it. */
type RestartReason = 'exited' | 'unresponsive';

interface Running {
  worker: Worker;
  startedAt: number;
  listening?: HostPort[];
  /** Set when the primary SIGKILLs it, so that its exit is counted and logged for that reason. */
  killedFor?: RestartReason;
}

export async function startDnsPrimary(options: DnsPrimaryOptions): Promise<DnsPrimary> {
  const detected = await detectUdpSocketMode();
  const socketMode: UdpSocketMode = detected === 'reuseport' && options.listen.every((a) => a.port !== 0) ? 'reuseport' : 'shared';
  // The page is the workers' aggregated metrics, process_* and nodejs_* included (prom-client's aggregators sum
  // or average them across workers), then this registry: it must not repeat those families.
  const registry = createRegistry({ labels: { role: 'dns' }, processMetrics: false });
  const running = new Map<number, Running>();
  const socketGauge = new Gauge({ name: 'dnscdn_dns_socket_mode', help: 'How the DNS workers share the UDP port: 1 for the mode in use (reuseport: a socket per worker; shared: one socket handed to all)', labelNames: ['mode'], registers: [registry] });
  for (const mode of ['reuseport', 'shared'] as const) socketGauge.set({ mode }, mode === socketMode ? 1 : 0);
  new Gauge({
    name: 'dnscdn_dns_workers',
    help: 'DNS worker processes answering (ready)',
    registers: [registry],
    collect() {
      this.set([...running.values()].filter((r) => r.listening).length);
    },
  });
  const restarts = workerRestartsCounter(registry, 'dns', 'DNS workers');
  const liveness = options.liveness ?? LIVENESS_DEFAULTS;
  const monitor = new LivenessMonitor(liveness, (peer, why) => {
    const r = running.get(peer.id);
    if (!r) return;
    r.killedFor = 'unresponsive';
    log.warn('dns worker unresponsive: killed, and it is restarted', { worker: peer.id, pid: r.worker.process.pid, reason: 'unresponsive', missed: why.missed, silentMs: why.silentMs });
    r.worker.process.kill('SIGKILL');
  });

  const source = options.deploymentFile !== undefined ? new ReloadableDeployment(options.deploymentFile) : undefined;
  const checker = source ? new HealthChecker(source.current().edges, { registry }) : undefined;
  const healthMessage = (): PrimaryMessage => ({ kind: 'dnscdn:dns:health', edges: checker?.status() ?? [] });
  const broadcast = (message: PrimaryMessage): void => {
    for (const r of running.values()) if (r.worker.isConnected()) r.worker.send(message);
  };
  checker?.onChange(() => broadcast(healthMessage()));
  source?.onChange((next) => {
    // New edges start up and dropped ones go, without a health change: tell the workers the new list.
    checker!.setEdges(next.edges);
    broadcast(healthMessage());
  });
  const unwatch = source ? source.watch() : () => undefined;

  const backoff = new RestartBackoff(options.backoff);
  const restartTimers = new Set<NodeJS.Timeout>();
  let closing = false;
  let started = false;
  let startFailed: (err: Error) => void = () => undefined;
  let allReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    allReady = resolve;
    startFailed = reject;
  });

  const fork = (): void => {
    const worker = cluster.fork({ [SOCKET_MODE_ENV]: socketMode });
    running.set(worker.id, { worker, startedAt: Date.now() });
  };
  const onMessage = (worker: Worker, message: unknown): void => {
    if (monitor.receive(worker.id, message) || !isWorkerMessage(message)) return;
    const r = running.get(worker.id);
    if (!r) return;
    if (message.kind === 'dnscdn:dns:hello') {
      worker.send(healthMessage());
      return;
    }
    r.listening = message.listening;
    // Watched from now on: before this the worker loads its zones, which may block its loop for a while.
    monitor.watch(worker);
    if (started) {
      log.info('dns worker restarted', { worker: worker.id, pid: worker.process.pid });
      return;
    }
    if (running.size === options.workers && [...running.values()].every((x) => x.listening)) {
      started = true;
      allReady();
    }
  };
  const onExit = (worker: Worker, code: number | null, signal: string | null): void => {
    const r = running.get(worker.id);
    running.delete(worker.id);
    monitor.unwatch(worker.id);
    if (closing || !r) return;
    const how = signal ?? `code ${code}`;
    if (!started) {
      startFailed(new Error(`dns worker ${worker.id} exited during start-up (${how})`));
      return;
    }
    const delayMs = backoff.delayAfterExit(r.startedAt);
    const reason = r.killedFor ?? 'exited';
    log.warn('dns worker died; the others keep answering, and it is restarted', { worker: worker.id, pid: worker.process.pid, exit: how, reason, restartInMs: delayMs });
    restarts.inc({ reason });
    const timer = setTimeout(() => {
      restartTimers.delete(timer);
      if (!closing) fork();
    }, delayMs);
    restartTimers.add(timer);
  };
  cluster.on('message', onMessage);
  cluster.on('exit', onExit);

  const stopWorkers = async (): Promise<void> => {
    closing = true;
    monitor.stop();
    for (const t of restartTimers) clearTimeout(t);
    const exits = [...running.values()].map((r) => new Promise<void>((resolve) => (r.worker.isDead() ? resolve() : r.worker.once('exit', () => resolve()))));
    const onKill = (w: Worker): void => log.warn('dns worker did not stop within the grace period; killed', { worker: w.id, pid: w.process.pid, graceMs: STOP_GRACE_MS });
    for (const r of running.values()) terminate(r.worker, STOP_GRACE_MS, onKill);
    await Promise.all(exits);
    cluster.off('message', onMessage);
    cluster.off('exit', onExit);
  };

  for (let i = 0; i < options.workers; i++) fork();
  let admin: MetricsListener | undefined;
  let dashboard: DashboardCollector | undefined;
  try {
    await ready;
    monitor.start();
    checker?.start();
    if (options.metricsListen && source && checker) {
      // The dashboard on the one admin listener. The workers hold the steering, so the pools' answers for the
      // sample networks are asked of them over DNS (with ECS), as a client would.
      const dns = [...running.values()][0]!.listening![0]!;
      dashboard = new DashboardCollector({
        deployment: () => source.current(),
        health: () => checker.status(),
        onHealthChange: (listener) => checker.onChange(listener),
        preview: async (pool, address, prefixLength) => {
          const answer = await ask(dns.host, dns.port, pool, 'A', { family: address.includes(':') ? 2 : 1, sourcePrefixLength: prefixLength, scopePrefixLength: 0, address }, 500);
          const edges = source.current().edges;
          return answer?.data.map((a) => edges.find((e) => e.addresses.includes(a))?.name ?? a);
        },
      });
    }
    const routes = dashboard && new DashboardRoutes(dashboard);
    if (options.metricsListen) {
      admin = await listenMetrics(options.metricsListen, clusterMetrics(registry), () => ({
        workers: [...running.entries()].map(([id, r]) => ({ id, pid: r.worker.process.pid, ready: r.listening !== undefined })),
        ...(checker && { edges: checker.status() }),
      }), routes && (() => (req, res, path) => routes.handle(req, res, path)), options.metricsTls);
    }
  } catch (err) {
    unwatch();
    await stopWorkers();
    throw err;
  }
  const addresses = [...running.values()][0]!.listening!;
  log.info('dns workers started', {
    workers: options.workers,
    socket: socketMode,
    listen: addresses.map(formatHostPort).join(','),
    liveness: monitor.enabled ? `${liveness.intervalMs}ms x ${liveness.misses}` : 'off',
  });
  return {
    addresses,
    ...(admin && { admin: admin.address }),
    socketMode,
    reload: () => {
      source?.reload();
      broadcast({ kind: 'dnscdn:dns:reload' });
    },
    close: async () => {
      unwatch();
      dashboard?.stop();
      checker?.stop();
      await stopWorkers();
      await admin?.close();
    },
  };
}

