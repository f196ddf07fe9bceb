/**
 * Every core of an edge host: `dnscdn edge --workers N` runs N worker processes under one primary (node:cluster).
 * Default: the number of cores (command.ts); `--workers 1` is a single process with no primary.
 *
 * - Connections: the workers share the public listeners; node:cluster's primary accepts and hands connections
 *   out round-robin (its default on Linux), so every worker serves clients.
 * - Cache space: the workers are the members `NAME#0 .. NAME#N-1` of one consistent-hash ring (the worker tier
 *   of ring-setup.ts). A miss at a worker that does not own the key is asked of the owner over loopback (each
 *   worker has its own peer listener on 127.0.0.1, bound `exclusive`), with the hot local copy for what a worker
 *   serves most; so N workers hold about one copy of each object, not N. The hop header between workers is
 *   signed with the deployment's admin token, or without one with a random secret the primary makes at start
 *   and hands its workers in their environment (readable only by the same user).
 * - Membership: each worker reports its peer URL to the primary, which sends every worker the full list on each
 *   change. A worker that dies leaves the list and is started again (same index, a new peer port); until the
 *   list arrives, a worker fills from the next tier itself. A dead worker is known from its exit at once, and a
 *   failing one is ejected passively by the ring.
 * - Admin: the primary serves the admin listener, so what is bound at a fixed port lives and dies with the
 *   process a supervisor restarts (a worker left over from a killed primary holds only ports it picked itself,
 *   and cannot keep a new primary from binding). `/metrics` there is every worker's registry aggregated
 *   (cluster/metrics.ts; the ready ones only, so a worker starting cannot stall a scrape) plus the primary's own
 *   (`dnscdn_edge_workers`); purges and `/.dnscdn/objects` ask every worker.
 * - Origin push: the primary keeps the host's one replica (journal, catch-up, acknowledgements) and applies each
 *   operation by sending it to every worker; it acknowledges a batch only when every live worker has applied it
 *   (workersSink), so "acknowledged" means the first request at any worker is a HIT, and a purge acknowledged
 *   means no worker serves the object any more. A worker that does not answer within RELAY_TIMEOUT_MS (stopped,
 *   stuck) is logged and not waited for. A worker started again is sent the journal's live state.
 * - Access log: every worker appends its own batches of whole lines to the same file (opened `a`, O_APPEND);
 *   SIGHUP at the primary is passed to every worker, which reopens it (logrotate's postrotate).
 * - Lifetime: SIGTERM/SIGINT at the primary stops every worker; a worker whose primary is gone (IPC channel
 *   closed) stops too.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { Gauge } from 'prom-client';
import { answerLivenessPings, LIVENESS_DEFAULTS, LivenessMonitor } from '../cluster/liveness.js';
import { aggregatedMetrics, workerRestartsCounter } from '../cluster/metrics.js';
import { STOP_GRACE_MS, terminate } from '../cluster/terminate.js';
import type { FollowerSink } from '../distribution/follower.js';
import type { PurgeTarget } from '../distribution/operations.js';
import { AdminListener } from '../http/admin-listener.js';
import { announceListening, logger } from '../log.js';
import { createRegistry } from '../metrics.js';
import { formatHostPort } from '../net/address.js';
import { reportReady } from '../up/child.js';
import { attachReplica, cacheSink, type EdgeReplica } from './replica.js';
import { addCacheAdminRoutes, adminAddressOf, adminBodyLimit, maxObjectBytesOf, startEdge } from './server.js';
import type { EdgeRoleOptions } from './setup.js';
import { WorkerFanout, workersSink } from './worker-fanout.js';
import { isToPrimary, isToWorker, type RelayedOp, type ToPrimary, type ToWorker, type WorkerReady } from './worker-messages.js';
import type { RingMember } from './upstream/peer-ring.js';

const log = logger('edge');

const WORKER_ENV = 'DNSCDN_EDGE_WORKER';
const SECRET_ENV = 'DNSCDN_EDGE_WORKER_SECRET';

/**
 * How long the primary waits for a worker to apply a relayed operation or answer a purge. Applying a put is a
 * store insert (well under a millisecond); the bound is only for a worker that cannot answer at all.
 */
const RELAY_TIMEOUT_MS = 5000;

/** This process's worker index when it is a worker of `dnscdn edge --workers N`, else undefined. */
export function edgeWorkerIndex(): number | undefined {
  const v = process.env[WORKER_ENV];
  return cluster.isWorker && v !== undefined ? Number(v) : undefined;
}

/** The primary: admin listener and replica of the host; starts `count` workers, keeps their ring list, restarts the dead. */
export async function runEdgePrimary(role: EdgeRoleOptions, count: number): Promise<void> {
  const server = role.server;
  const name = server.name ?? 'dnscdn';
  const secret = randomBytes(32).toString('hex');
  // Pushed bodies are relayed as Buffers: the advanced (structured clone) IPC keeps them binary.
  cluster.setupPrimary({ serialization: 'advanced' });
  const workers = new Map<number, Worker>();
  const members = new Map<number, RingMember>();
  const fanout = new WorkerFanout(RELAY_TIMEOUT_MS);
  const registry = createRegistry({ labels: { role: 'edge', edge: name }, processMetrics: false });
  const readyGauge = new Gauge({ name: 'dnscdn_edge_workers', help: 'Edge worker processes serving (ready)', registers: [registry] });
  const restarts = workerRestartsCounter(registry, 'edge', 'Edge workers');
  // A frozen (SIGSTOP) or busy worker still holds the connections the primary handed it and its share of the
  // ring's keys, so the others' peer fills to it stall: the primary pings every ready worker over IPC and kills
  // one that stops answering (src/cluster/liveness.ts, the DNS primary's check with its defaults, 1 s x 3).
  const unresponsive = new Set<Worker>();
  const monitor = new LivenessMonitor(LIVENESS_DEFAULTS, (peer, why) => {
    const found = [...workers].find(([, x]) => x.id === peer.id);
    if (!found) return;
    const [index, w] = found;
    unresponsive.add(w);
    log.warn('edge worker unresponsive: killed, and it is restarted', { worker: index, pid: w.process.pid, missed: why.missed, silentMs: why.silentMs });
    w.process.kill('SIGKILL');
  });
  // Bound first: a taken admin port fails the start before any worker is forked.
  const admin = await AdminListener.start({ listen: adminAddressOf(server), token: server.adminToken, registry: { metrics: async () => aggregatedMetrics((await fanout.ask(readyWorkers(), { type: 'edge:metrics' })).flatMap((a) => (a.metrics ? [a.metrics] : [])), registry) }, role: `edge ${name}`, maxBodyBytes: adminBodyLimit(maxObjectBytesOf(server)), tls: server.adminTls });
  const maxObjectBytes = maxObjectBytesOf(server);
  const relayTo = (targets: () => Iterable<Worker>) => (relayed: RelayedOp) => fanout.ask(targets(), { type: 'edge:apply', relayed });
  const purgeAt = async (targets: Iterable<Worker>, target: PurgeTarget): Promise<number> => (await fanout.ask(targets, { type: 'edge:purge', target })).reduce((sum, a) => sum + (a.purged ?? 0), 0);
  addCacheAdminRoutes(admin, {
    purge: (target) => purgeAt(workers.values(), target),
    list: async () => (await fanout.ask(workers.values(), { type: 'edge:list' })).flatMap((a) => a.objects ?? []),
  });
  let replica: EdgeReplica | undefined;
  let stopping = false;
  let started = false;
  let allReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (allReady = resolve));
  let first: WorkerReady | undefined;

  // Ready: in the ring. A worker still starting has nothing to count yet, and must not hold a scrape.
  const readyWorkers = (): Worker[] => [...members.keys()].flatMap((i) => workers.get(i) ?? []);
  const broadcast = (message: ToWorker): void => {
    for (const w of workers.values()) if (w.isConnected()) w.send(message);
  };
  const sendMembers = (): void => broadcast({ type: 'edge:members', members: [...members.values()] });
  const onReady = (index: number, w: Worker, m: WorkerReady): void => {
    members.set(index, { name: `${name}#${index}`, url: m.peerUrl });
    readyGauge.set(members.size);
    sendMembers();
    first ??= m;
    // A worker started again gets what was pushed (in turn with new operations, which it also receives).
    if (started && replica) void replica.follower.replay(workersSink(relayTo(() => [w]), maxObjectBytes));
    if (!started && members.size === count) allReady();
  };

  const fork = (index: number): void => {
    const w = cluster.fork({ [WORKER_ENV]: String(index), [SECRET_ENV]: secret });
    workers.set(index, w);
    let isReady = false;
    w.on('message', (m: unknown) => {
      if (monitor.receive(w.id, m) || !isToPrimary(m)) return;
      if (m.type === 'edge:answer') return fanout.answered(w, m);
      if (m.type === 'edge:purge-elsewhere') {
        const others = [...workers.values()].filter((o) => o !== w);
        void purgeAt(others, m.target).then((count) => w.isConnected() && w.send({ type: 'edge:purged', id: m.id, count } satisfies ToWorker));
        return;
      }
      isReady = true;
      // Watched from now on: before this the worker loads and binds, which may block its loop for a while.
      monitor.watch(w);
      onReady(index, w, m);
    });
    w.on('exit', (code, signal) => workerExited(index, w, isReady, code, signal));
  };
  /** The one place a worker is declared dead: it leaves the ring and the fan-out, and is started again. */
  function workerExited(index: number, w: Worker, wasReady: boolean, code: number | null, signal: string | null): void {
    if (workers.get(index) === w) workers.delete(index);
    monitor.unwatch(w.id);
    const reason = unresponsive.delete(w) ? 'unresponsive' : 'exited';
    members.delete(index);
    readyGauge.set(members.size);
    fanout.gone(w);
    if (stopping) {
      if (workers.size === 0) void finish();
      return;
    }
    if (!wasReady) {
      // It could not start (a bad setting, an address in use): starting it again would fail the same way.
      log.error('edge worker failed to start; stopping', { worker: index, code, signal });
      process.exitCode = 1;
      stop();
      return;
    }
    log.warn('edge worker exited; starting it again', { worker: index, code, signal, reason });
    restarts.inc({ reason });
    sendMembers();
    fork(index);
  }
  async function finish(): Promise<void> {
    await admin.close();
    await replica?.close();
    process.exit();
  }
  function stop(): void {
    if (stopping) return;
    stopping = true;
    monitor.stop();
    log.info('shutting down', { workers: workers.size });
    if (workers.size === 0) return void finish();
    const onKill = (w: Worker): void => log.warn('edge worker did not stop within the grace period; killed', { worker: w.id, pid: w.process.pid, graceMs: STOP_GRACE_MS });
    for (const w of workers.values()) terminate(w, STOP_GRACE_MS, onKill);
  }
  for (let i = 0; i < count; i++) fork(i);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // logrotate's postrotate signals the edge's pid: every worker reopens its access log (and SIGHUP ends no one).
  process.on('SIGHUP', () => {
    for (const w of workers.values()) w.process.kill('SIGHUP');
  });
  await ready;
  if (stopping) return;
  // The replica restores what was pushed before a restart into every worker before the edge says it is ready.
  if (role.push) replica = await attachReplica({ addAdminRoute: (method, path, handler) => admin.add(method, path, handler) }, role.push, workersSink(relayTo(() => workers.values()), maxObjectBytes));
  started = true;
  monitor.start();
  const at = first!;
  announceListening('edge', `edge ${name} listening on ${at.urls.join(' ')}, admin ${admin.url}, origin ${at.origins}, ${count} workers`, { name, address: at.urls.join(' '), admin: admin.url, origin: at.origins, workers: count });
  reportReady([...at.urls, `${admin.url}/metrics`]);
}

/** A worker: the edge with its worker ring and peer listener; applies what the primary relays. */
export async function runEdgeWorker(role: EdgeRoleOptions, index: number): Promise<void> {
  const server = { ...role.server };
  const name = server.name ?? 'dnscdn';
  const secret = process.env[SECRET_ENV] ?? '';
  server.ring = { ...(server.ring ?? { secret, name }), worker: `${name}#${index}` };
  server.peerListen = { host: '127.0.0.1', port: 0 };
  // The primary serves the host's admin listener; a worker's own is on a port it picks, bound in this process
  // (through the primary, port 0 would even share the public listener's port: node:cluster keys shared handles
  // by address and port, and every `:0` is the same key).
  server.adminListen = { host: '127.0.0.1', port: 0 };
  server.adminExclusive = true;
  // Answered from this event loop from the start; the primary watches only once this worker is ready.
  answerLivenessPings();
  const asked = new Map<number, (count: number) => void>();
  let nextAsk = 0;
  server.purgeElsewhere = (target) =>
    new Promise<number>((resolve) => {
      if (!process.connected) return resolve(0);
      const id = nextAsk++;
      asked.set(id, resolve);
      send({ type: 'edge:purge-elsewhere', id, target });
    });
  const edge = await startEdge(server);
  const local = cacheSink(edge.cache);
  process.on('message', (m: unknown) => {
    if (!isToWorker(m)) return;
    if (m.type === 'edge:members') edge.rings?.setWorkers(m.members);
    else if (m.type === 'edge:apply') {
      apply(local, m.relayed);
      send({ type: 'edge:answer', id: m.id });
    } else if (m.type === 'edge:purge') send({ type: 'edge:answer', id: m.id, purged: edge.cache.purge(m.target) });
    else if (m.type === 'edge:list') send({ type: 'edge:answer', id: m.id, objects: edge.cache.list() });
    else if (m.type === 'edge:metrics') void edge.registry.getMetricsAsJSON().then((metrics) => send({ type: 'edge:answer', id: m.id, metrics }));
    else {
      asked.get(m.id)?.(m.count);
      asked.delete(m.id);
    }
  });
  const urls = [...edge.addresses.map((a) => `http://${formatHostPort(a)}`), ...(edge.httpsUrl ? [edge.httpsUrl] : [])];
  const origins = edge.originPool.status().map((sv) => sv.url).join(' ');
  send({ type: 'edge:ready', index, peerUrl: edge.peerUrl!, urls, origins });
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    void edge.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  process.on('SIGHUP', () => void edge.reopenAccessLog());
}

function send(m: ToPrimary): void {
  if (process.connected) process.send!(m);
}

function apply(sink: FollowerSink, r: RelayedOp): void {
  if (r.kind === 'put') sink.put(r.op, Buffer.from(r.body));
  else if (r.kind === 'purge') sink.purge(r.op);
  else sink.clear();
}
