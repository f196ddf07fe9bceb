/**
 * A chaos run: the whole deployment under steady client load while processes are killed and frozen at random,
 * with pushes and purges arriving all the while; then a report. The roles run as children of this process,
 * supervised as `dnscdn up --restart` supervises them (src/up/supervisor.ts), so a killed one comes back after
 * the supervisor's back-off. At the end every fault is undone, the run waits for the edges to catch up, and
 * compares what each edge holds of the pushed state.
 */
import { readdirSync, readFileSync, type Dirent } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { DNSCDN_BIN } from '../cli/package-files.js';
import { adminToken, edgeAdminUrl, originAdminUrl } from '../config/reach.js';
import type { Deployment } from '../config/types.js';
import { SAMPLE_NETWORKS } from '../dashboard/collector.js';
import { readCounterSums } from '../dashboard/prometheus-text.js';
import { prepareDemoCertificates } from '../edge/tls/demo-setup.js';
import { request } from '../http/client.js';
import { logger } from '../log.js';
import { seededRandom, type Random } from '../random.js';
import { planProcesses } from '../up/plan.js';
import { formatStartFailure } from '../up/command.js';
import { Supervisor } from '../up/supervisor.js';
import { ChaosClients, type RequestSample, type ResolutionSample } from './clients.js';
import { FaultInjector, type Fault } from './faults.js';
import { startOperations } from './operations.js';
import { convergence, countBy, faultEffects, retryStats, summariseByKind, timeline, type ChaosReport } from './report.js';

const log = logger('chaos');
/** Start-up waits in rounds of this long, saying who it waits for after each, up to READY_ROUNDS (5 min in all). */
const READY_TIMEOUT_MS = 30_000;
const READY_ROUNDS = 10;
/** How long the edges get, after the last fault, to reach the journal's sequence. */
const SETTLE_TIMEOUT_MS = 30_000;

export interface ChaosOptions {
  deployment: Deployment;
  durationMs: number;
  seed: number;
  clients: number;
  /** Mean time between faults. */
  faultIntervalMs: number;
  /** Mean time between pushes or purges. */
  operationIntervalMs: number;
  /** Which processes may be faulted, by label (default: every edge, origin replica and role worker). */
  targets?: RegExp;
  /** Where children's output goes (default: dropped). */
  write?: (line: string) => void;
  /** Where the run says what it is waiting for while the deployment starts (default: nowhere). */
  progress?: (line: string) => void;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const d = o.deployment;
  const pool = d.pools[0];
  if (!pool) throw new Error(`${d.file}: a chaos run needs a pool for its clients to resolve`);
  const token = adminToken(d);
  if (!d.origin || token === undefined) throw new Error(`${d.file}: a chaos run needs an origin and an admin token (pushes and purges)`);
  const random = chaosStreams(o.seed);
  // Once, before any edge starts, as `up` does: the edges must not race to make the demo CA.
  await prepareDemoCertificates(d);
  const supervisor = new Supervisor(planProcesses(d), {
    command: process.execPath,
    commandArgs: [DNSCDN_BIN],
    restart: true,
    restartOnlyOnceReady: true,
    env: { DNSCDN_ADMIN_TOKEN: token, DNSCDN_TOKEN: token, DNSCDN_LOG: process.env.DNSCDN_LOG ?? 'warn' },
    write: o.write ?? (() => undefined),
    backoffMs: 500,
  });
  supervisor.start();
  try {
    await startedWhole(supervisor, o.progress ?? (() => undefined));
    const t0 = Date.now();
    const now = (): number => Date.now() - t0;
    const requests: RequestSample[] = [];
    const resolutions: ResolutionSample[] = [];
    const faults: Fault[] = [];
    const operations: ChaosReport['operations'] = { pushes: 0, purges: 0, failed: 0, failedBy: {} };
    const originRate = new Map<number, number>();
    const edgePorts = new Map(d.edges.flatMap((e) => e.addresses.map((a) => [a, e.port] as const)));
    const clients = new ChaosClients({
      dns: [d.dns.listen[0]!, ...d.dns.instances.flatMap((i) => i.listen.slice(0, 1))],
      pool: pool.name,
      networks: SAMPLE_NETWORKS.map((n) => n.network),
      paths: contentPaths(d, random.paths),
      zipfAlpha: 0.8,
      edgePort: (a) => edgePorts.get(a),
      clients: o.clients,
      random: random.clients,
      thinkMs: 50,
      requestTimeoutMs: 2000,
      now,
      onRequest: (s) => requests.push(s),
      onResolution: (s) => resolutions.push(s),
    });
    const targets = o.targets ?? DEFAULT_TARGETS;
    const candidates = (): Array<{ label: string; pid: number }> => faultable(supervisor).filter((t) => targets.test(t.label));
    const targetsAtStart = candidates().map((t) => t.label);
    const injector = new FaultInjector({
      random: random.faults,
      targets: candidates,
      meanIntervalMs: o.faultIntervalMs,
      minDowntimeMs: 1000,
      maxDowntimeMs: 5000,
      now,
      onFault: (f) => {
        faults.push(f);
        log.warn('fault', { kind: f.kind, target: f.target, pid: f.pid, downtimeMs: f.downtimeMs });
      },
    });
    const stopOperations = startOperations(d, token, random.operations, o.operationIntervalMs, operations);
    const stopOriginSampling = sampleOriginRate(d, now, originRate);
    clients.start();
    injector.start();
    await new Promise((r) => setTimeout(r, o.durationMs));
    injector.stop();
    stopOperations();
    await clients.stop();
    stopOriginSampling();
    const durationMs = now();
    const settled = await settle(d, token);
    const failed = requests.filter((r) => !r.ok).length;
    const addressesOf = (label: string): readonly string[] => d.edges.find((e) => `edge ${e.name}` === label)?.addresses ?? [];
    const effects = faultEffects(faults, requests, resolutions, addressesOf, durationMs);
    return {
      seed: o.seed,
      targets: targetsAtStart,
      durationMs,
      requests: requests.length,
      failed,
      failedBy: countBy(requests.flatMap((r) => (r.ok ? [] : [r.error ?? 'unknown']))),
      errorRate: requests.length === 0 ? 0 : failed / requests.length,
      timeline: timeline(requests, durationMs, originRate),
      faults: effects,
      byKind: summariseByKind(effects),
      retries: retryStats(requests),
      operations,
      convergence: settled,
    };
  } finally {
    await supervisor.stop();
  }
}

/**
 * One seeded stream per consumer. The clients draw as fast as their requests complete, which timing decides; from
 * a shared stream they shifted every later fault, so a seed did not replay its faults. With a stream each, the
 * same seed gives the same fault times, kinds and choices (of the same target list), and the same operations.
 * Each stream's seed is drawn from one stream seeded with the run's seed.
 */
export function chaosStreams(seed: number): Record<'faults' | 'operations' | 'clients' | 'paths', Random> {
  const master = seededRandom(seed);
  const next = (): Random => seededRandom(Math.floor(master() * 2 ** 32));
  return { faults: next(), operations: next(), clients: next(), paths: next() };
}

/**
 * Waits until every role is ready. A child that exits first fails the run at once with its own last words (a
 * taken port, a missing file): restarts begin only once the deployment is up. A child still alive is slow, not
 * failed (the origin writes the demo's large files on its first start), as `up` sees it; after READY_ROUNDS
 * rounds of waiting the run gives up, naming who was late.
 */
async function startedWhole(supervisor: Supervisor, progress: (line: string) => void): Promise<void> {
  for (let round = 1; ; round++) {
    const outcome = await supervisor.whenReady(READY_TIMEOUT_MS);
    if (outcome.kind === 'ready') return;
    const why = formatStartFailure(outcome, READY_TIMEOUT_MS);
    if (outcome.kind === 'failed' || round === READY_ROUNDS) throw new Error(`the deployment did not start: ${why}`);
    progress(`${why}; still waiting`);
  }
}

/** Edges, origin replicas and the workers of any role (a DNS or edge worker is restarted by its primary). */
const DEFAULT_TARGETS = /^edge \S+$|^origin \S+:\d+$| worker \d+$/;

/**
 * Every process of the deployment by label: up's table, and the workers each of them runs (node:cluster children,
 * labelled `dns worker 1234`), read from /proc (Linux) so that a worker can be faulted apart from its primary.
 */
function faultable(supervisor: Supervisor): Array<{ label: string; pid: number }> {
  const out: Array<{ label: string; pid: number }> = [];
  for (const p of supervisor.pids()) {
    if (p.pid === undefined) continue;
    out.push({ label: p.process.label, pid: p.pid });
    for (const child of childrenOf(p.pid)) out.push({ label: `${p.process.label} worker ${child}`, pid: child });
  }
  return out;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The origin's content files as URL paths, in a seeded random order: the popularity ranks clients draw from. */
function contentPaths(d: Deployment, random: Random): string[] {
  const root = d.origin!.content;
  const files = (readdirSync(root, { recursive: true, withFileTypes: true }) as Dirent[]).filter((f) => f.isFile());
  const paths = files.map((f) => `/${relative(root, join(f.parentPath ?? f.path, f.name)).split(sep).join('/')}`).sort();
  for (let i = paths.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [paths[i], paths[j]] = [paths[j]!, paths[i]!];
  }
  if (paths.length === 0) throw new Error(`${root}: the origin has no content for the clients to ask for`);
  return paths;
}

/** The origin's content requests a second, from its /metrics once a second. */
function sampleOriginRate(d: Deployment, now: () => number, out: Map<number, number>): () => void {
  let previous: { at: number; total: number } | undefined;
  const timer = setInterval(() => {
    void request(`${originAdminUrl(d)}/metrics`, { timeoutMs: 800 }).then(
      (res) => {
        const total = readCounterSums(res.text(), ['dnscdn_origin_requests_total']).get('dnscdn_origin_requests_total') ?? 0;
        const at = now();
        if (previous && total >= previous.total) out.set(Math.floor(at / 1000), ((total - previous.total) * 1000) / (at - previous.at));
        previous = { at, total };
      },
      () => undefined,
    );
  }, 1000);
  return () => clearInterval(timer);
}

/** Waits until every edge's replica is at the journal's sequence (or the timeout), then compares their pushed objects. */
async function settle(d: Deployment, token: string): Promise<ReturnType<typeof convergence>> {
  const headers = { authorization: `Bearer ${token}` };
  const journalSeq = async (): Promise<number | null> => {
    try {
      const status = (await request(`${originAdminUrl(d)}/.dnscdn/status`, { headers, timeoutMs: 2000 })).json() as { journal?: { lastSeq?: number }; edges?: Array<{ lagOps?: number | null }> };
      const behind = (status.edges ?? []).some((e) => e.lagOps !== 0);
      return behind ? null : (status.journal?.lastSeq ?? null);
    } catch {
      return null;
    }
  };
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let seq = await journalSeq();
  while (seq === null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    seq = await journalSeq();
  }
  const lastSeqNow = seq ?? ((await request(`${originAdminUrl(d)}/.dnscdn/status`, { headers, timeoutMs: 2000 }).then((r) => (r.json() as { journal?: { lastSeq?: number } }).journal?.lastSeq, () => undefined)) ?? null);
  const edges = await Promise.all(
    d.edges.map(async (e) => {
      try {
        const objects = (await request(`${edgeAdminUrl(e)}/.dnscdn/objects`, { headers, timeoutMs: 3000, maxBodyBytes: 64 * 1024 * 1024 })).json() as Array<{ path: string; etag?: string; seq?: number }>;
        const replica = (await request(`${edgeAdminUrl(e)}/.dnscdn/replica`, { headers, timeoutMs: 3000 })).json() as { lastSeq?: number };
        const pushed = new Set(objects.filter((x) => x.seq !== undefined).map((x) => `${x.path} ${x.etag ?? ''}`));
        return { name: e.name, lastSeq: replica.lastSeq ?? null, pushed };
      } catch {
        return { name: e.name, lastSeq: null, pushed: null };
      }
    }),
  );
  return convergence(lastSeqNow, edges);
}
