/**
 * Every core of an edge host: `dnscdn edge --workers N` runs N worker processes under one primary (node:cluster).
 * The default stays 1 (one process, exactly as before): with N > 1, `/metrics` is worker 0's alone and a pushed
 * object reaches the other workers a moment after worker 0 acknowledged it, which operators should choose.
 *
 * - Connections: the workers share the public listener; node:cluster's primary accepts and hands connections
 *   out round-robin (its default on Linux), so every worker serves clients.
 * - Cache space: the workers are the members `NAME#0 .. NAME#N-1` of one consistent-hash ring (the worker tier
 *   of ring-setup.ts). A miss at a worker that does not own the key is asked of the owner over loopback (each
 *   worker has its own peer listener on 127.0.0.1, bound `exclusive`), with the hot local copy for what a worker
 *   serves most; so N workers hold about one copy of each object, not N. The hop header between workers is
 *   signed with the deployment's admin token, or without one with a random secret the primary makes at start
 *   and hands its workers in their environment (readable only by the same user).
 * - Membership: each worker reports its peer URL to the primary, which sends every worker the full list on each
 *   change. A worker that dies leaves the list and is started again (same index, a new peer port); until the
 *   list arrives, a worker fills from the next tier itself. Workers are not probed: a dead one is known from
 *   its exit at once, and a failing one is ejected passively by the ring.
 * - Origin push: worker 0 alone keeps the host's replica (journal, catch-up, acknowledgements) on the admin
 *   listener, as a single process does, and every operation it applies is relayed through the primary to the
 *   other workers, which apply it to their own stores. So every worker holds every pushed object (pushed
 *   content is what must be at the edge, whichever worker a client reaches), purges reach every copy, and
 *   "nothing acknowledged is lost" holds as before: the journal is acknowledged only once written, and a worker
 *   started again is sent the journal's live state (worker 0 replays it) or fills from the ring or origin.
 * - Admin: worker 0 serves the configured admin listener (metrics, purge, replica); `/metrics` there counts
 *   worker 0's requests only (each worker has its own registry).
 * - Access log: every worker appends its own batches of whole lines to the same file (opened `a`, O_APPEND);
 *   SIGHUP at the primary is passed to every worker, which reopens it (logrotate's postrotate).
 * - Lifetime: SIGTERM/SIGINT at the primary stops every worker; a worker whose primary is gone (IPC channel
 *   closed) stops too.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Operation, PurgeTarget, PutOperation } from '../distribution/operations.js';
import type { FollowerSink } from '../distribution/follower.js';
import { logger } from '../log.js';
import { formatHostPort } from '../net/address.js';
import { reportReady } from '../up/child.js';
import { attachReplica, cacheSink, type EdgeReplica } from './replica.js';
import { startEdge } from './server.js';
import type { EdgeRoleOptions } from './setup.js';
import type { RingMember } from './upstream/peer-ring.js';

const log = logger('edge');

const WORKER_ENV = 'DNSCDN_EDGE_WORKER';
const SECRET_ENV = 'DNSCDN_EDGE_WORKER_SECRET';

type RelayedOp = { kind: 'put'; op: PutOperation; body: Buffer } | { kind: 'purge'; op: Extract<Operation, { kind: 'purge' }> } | { kind: 'clear' };

/** A purge asked of one worker (public PURGE, admin API) goes to all, and the answer counts every worker's objects. */
type PurgeAsk = { type: 'edge:purge'; id: number; target: PurgeTarget };
type PurgeCount = { type: 'edge:purged'; id: number; count: number };

type ToWorker = { type: 'edge:members'; members: RingMember[] } | { type: 'edge:op'; relayed: RelayedOp } | PurgeAsk | PurgeCount;
type ToPrimary = { type: 'edge:worker-ready'; index: number; peerUrl: string; urls: string[]; origins: string; adminUrl: string } | { type: 'edge:op'; relayed: RelayedOp } | PurgeAsk | PurgeCount;

/** A worker that does not answer a relayed purge within this is counted as 0 (it is dying or stuck). */
const PURGE_RELAY_TIMEOUT_MS = 2000;

/** This process's worker index when it is a worker of `dnscdn edge --workers N`, else undefined. */
export function edgeWorkerIndex(): number | undefined {
  const v = process.env[WORKER_ENV];
  return cluster.isWorker && v !== undefined ? Number(v) : undefined;
}

/** The primary: starts `count` workers, keeps their ring list, relays pushed operations, restarts the dead. */
export async function runEdgePrimary(role: EdgeRoleOptions, count: number): Promise<void> {
  const name = role.server.name ?? 'dnscdn';
  const secret = randomBytes(32).toString('hex');
  // Pushed bodies are relayed as Buffers: the advanced (structured clone) IPC keeps them binary.
  cluster.setupPrimary({ serialization: 'advanced' });
  const workers = new Map<number, Worker>();
  const members = new Map<number, RingMember>();
  let stopping = false;
  let announced = false;
  let adminUrl = '';

  const broadcast = (message: ToWorker, except?: Worker): void => {
    for (const w of workers.values()) if (w !== except && w.isConnected()) w.send(message);
  };
  const sendMembers = (): void => broadcast({ type: 'edge:members', members: [...members.values()] });
  // Relayed purges in flight: the asking worker, the answers still awaited, the count so far.
  const purges = new Map<string, { asker: Worker; id: number; waiting: number; count: number; timer: NodeJS.Timeout }>();
  let nextPurge = 0;
  const finishPurge = (key: string): void => {
    const p = purges.get(key);
    if (!p) return;
    purges.delete(key);
    clearTimeout(p.timer);
    if (p.asker.isConnected()) p.asker.send({ type: 'edge:purged', id: p.id, count: p.count } satisfies ToWorker);
  };
  const relayPurge = (asker: Worker, ask: PurgeAsk): void => {
    const others = [...workers.values()].filter((w) => w !== asker && w.isConnected());
    const key = String(nextPurge++);
    purges.set(key, { asker, id: ask.id, waiting: others.length, count: 0, timer: setTimeout(() => finishPurge(key), PURGE_RELAY_TIMEOUT_MS) });
    if (others.length === 0) return finishPurge(key);
    for (const w of others) w.send({ type: 'edge:purge', id: Number(key), target: ask.target } satisfies ToWorker);
  };
  const countPurge = (answer: PurgeCount): void => {
    const p = purges.get(String(answer.id));
    if (!p) return;
    p.count += answer.count;
    if (--p.waiting === 0) finishPurge(String(answer.id));
  };

  const fork = (index: number): void => {
    const w = cluster.fork({ [WORKER_ENV]: String(index), [SECRET_ENV]: secret });
    workers.set(index, w);
    w.on('message', (m: ToPrimary) => {
      if (m.type === 'edge:op') return broadcast({ type: 'edge:op', relayed: m.relayed }, w);
      if (m.type === 'edge:purge') return relayPurge(w, m);
      if (m.type === 'edge:purged') return countPurge(m);
      if (m.type !== 'edge:worker-ready') return;
      members.set(index, { name: `${name}#${index}`, url: m.peerUrl });
      if (index === 0) adminUrl = m.adminUrl;
      sendMembers();
      if (!announced && members.size === count) {
        announced = true;
        process.stdout.write(`edge ${name} listening on ${m.urls.join(' ')}, admin ${adminUrl}, origin ${m.origins}, ${count} workers\n`);
        reportReady([...m.urls, `${adminUrl}/metrics`]);
      }
    });
    let ready = false;
    w.on('message', (m: ToPrimary) => void (ready ||= m.type === 'edge:worker-ready'));
    w.on('exit', (code, signal) => {
      if (workers.get(index) === w) workers.delete(index);
      members.delete(index);
      if (!ready && !stopping) {
        // It could not start (a bad setting, an address in use): starting it again would fail the same way.
        log.error('edge worker failed to start; stopping', { worker: index, code, signal });
        process.exitCode = 1;
        stop();
      }
      if (stopping) {
        if (workers.size === 0) process.exit();
        return;
      }
      log.warn('edge worker exited; starting it again', { worker: index, code, signal });
      sendMembers();
      fork(index);
    });
  };
  function stop(): void {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { workers: workers.size });
    if (workers.size === 0) process.exit();
    for (const w of workers.values()) w.process.kill('SIGTERM');
  }
  for (let i = 0; i < count; i++) fork(i);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // logrotate's postrotate signals the edge's pid: every worker reopens its access log (and SIGHUP ends no one).
  process.on('SIGHUP', () => {
    for (const w of workers.values()) w.process.kill('SIGHUP');
  });
}

/** A worker: the edge with its worker ring and peer listener; worker 0 also runs the replica and relays pushes. */
export async function runEdgeWorker(role: EdgeRoleOptions, index: number): Promise<void> {
  const server = { ...role.server };
  const name = server.name ?? 'dnscdn';
  const secret = process.env[SECRET_ENV] ?? '';
  server.ring = { ...(server.ring ?? { secret, name }), worker: `${name}#${index}` };
  server.peerListen = { host: '127.0.0.1', port: 0 };
  // Each worker binds its admin listener itself: through the primary, a shared one would hand worker 0's replica
  // and metrics requests to whichever worker, and port 0 would even share the public listener's port (node:cluster
  // keys shared handles by address and port, and every `:0` is the same key).
  server.adminExclusive = true;
  if (index !== 0) server.adminListen = { host: '127.0.0.1', port: 0 };
  const asked = new Map<number, (count: number) => void>();
  let nextAsk = 0;
  server.purgeElsewhere = (target) =>
    new Promise<number>((resolve) => {
      if (!process.connected) return resolve(0);
      const id = nextAsk++;
      asked.set(id, resolve);
      send({ type: 'edge:purge', id, target });
    });
  const edge = await startEdge(server);
  const local = cacheSink(edge.cache);
  process.on('message', (m: ToWorker) => {
    if (m.type === 'edge:members') edge.rings?.setWorkers(m.members);
    else if (m.type === 'edge:op') apply(local, m.relayed);
    else if (m.type === 'edge:purge') send({ type: 'edge:purged', id: m.id, count: edge.cache.purge(m.target) });
    else if (m.type === 'edge:purged') {
      asked.get(m.id)?.(m.count);
      asked.delete(m.id);
    }
  });
  let replica: EdgeReplica | undefined;
  if (index === 0 && role.push) replica = await attachReplica(edge, role.push, relaying(local));
  const urls = edge.addresses.map((a) => `http://${formatHostPort(a)}`);
  const origins = edge.originPool.status().map((sv) => sv.url).join(' ');
  send({ type: 'edge:worker-ready', index, peerUrl: edge.peerUrl!, urls, origins, adminUrl: edge.adminUrl });
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    void edge
      .close()
      .then(() => replica?.close())
      .then(() => process.exit(0));
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

/** Worker 0's sink: apply here, then relay to the other workers (through the primary). */
function relaying(local: FollowerSink): FollowerSink {
  return {
    accepts: (op) => local.accepts(op),
    ...(local.maxBodyBytes !== undefined ? { maxBodyBytes: local.maxBodyBytes } : {}),
    put(op, body) {
      local.put(op, body);
      send({ type: 'edge:op', relayed: { kind: 'put', op, body } });
    },
    purge(op) {
      local.purge(op);
      send({ type: 'edge:op', relayed: { kind: 'purge', op } });
    },
    clear() {
      local.clear();
      send({ type: 'edge:op', relayed: { kind: 'clear' } });
    },
  };
}
