/**
 * bench:push — origin push through the distribution tier, with every role a real `dnscdn` process started
 * from one generated deployment file (`--config`), once per backend:
 * - journal: `dnscdn distributor`, `dnscdn origin` (publishing to it) and three `dnscdn edge`s on 127.0.0.11-13;
 * - nats: three clustered `nats-server -js` (streams with 3 replicas), `dnscdn origin` publishing to JetStream,
 *   the same three edges, each on its durable consumer.
 *
 * 1. Propagation: 100 pushes of a new 2 KiB object, one at a time; for each, the time from the push's
 *    acknowledgement (journaled and fsynced) until a `Cache-Control: only-if-cached` GET is a HIT at each edge
 *    (the poll never reaches the origin; its content request counter is reported to show that). p50/p99/max.
 * 2. Catch-up: a stream of 1,050 operations (105 pushes of 10 paths); edge 3 is killed with SIGKILL after
 *    the first 50, so it misses 1,000. It is restarted when the stream ends: time to listen, and time until
 *    `GET /.dnscdn/status` shows every edge at the journal's sequence; then every one of the 1,000 objects is
 *    checked to be a HIT there, and `dnscdn status` is printed. Repeated 3 times (median).
 *
 * Every dnscdn write is fsynced (journal, bodies, each edge's replica), so the figures include the disk; a
 * JetStream ack is a Raft majority in memory, synced to disk on nats-server's interval.
 * Writes bench/results/push.json and push.svg, both backends side by side.
 *
 *   npm run bench:push
 */
import { Agent, request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { barChartSvg, type BarChart } from './chart.js';
import { conditions, freePort, installCleanup, median, percentile, startProcess, waitUntil, type Server } from './proc.js';
import { formatTable, repoRoot, writeResults } from './report.js';
import { NatsCluster } from '../test/distribution/nats-servers.js';

type Backend = 'journal' | 'nats';

const TOKEN = 'bench-push-token-0123';
const EDGE_HOSTS = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
const PUSHES = 100;
const MISSED_OPS = 1000;
const PATHS_PER_PUSH = 10;
const CATCHUP_RUNS = 3;
const POLL_MS = 1;
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };

interface Cluster {
  dir: string;
  config: string;
  originUrl: string;
  /** The origin's admin listener: push, status, metrics. */
  originAdminUrl: string;
  edgeUrls: string[];
  /** The journal backend's separate distribution node (absent with nats). */
  distributor?: Server;
  origin: Server;
  edges: Server[];
}

const cli = join(repoRoot(), 'bin', 'dnscdn.js');
const env = { ...process.env, DNSCDN_LOG: 'warn' };

async function healthy(url: string): Promise<boolean> {
  try {
    return (await http(`${url}/healthz`)).status === 200;
  } catch {
    return false;
  }
}

function startEdge(c: Cluster, i: number): Server {
  return startProcess(`edge${i + 1}`, ['node', cli, 'edge', '--config', c.config, '--name', `e${i + 1}`], { env });
}

async function startCluster(backend: Backend, nats: NatsCluster | undefined): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'dnscdn-bench-push-'));
  mkdirSync(join(dir, 'content', 'p'), { recursive: true });
  const originPort = await freePort();
  const originAdminPort = await freePort();
  const distPort = await freePort();
  const distAdminPort = await freePort();
  const edgePorts = await Promise.all(EDGE_HOSTS.map((h) => freePort(h)));
  const edgeAdminPorts = await Promise.all(EDGE_HOSTS.map((h) => freePort(h)));
  const edges = EDGE_HOSTS.map((h, i) => `  e${i + 1}: { addresses: [${h}], port: ${edgePorts[i]}, admin: ${h}:${edgeAdminPorts[i]}, location: { lat: 0, lon: ${i * 10} } }`).join('\n');
  const config = join(dir, 'dnscdn.yaml');
  writeFileSync(
    config,
    `dns:\n  listen: [127.0.0.1:${await freePort()}]\n  zones: zones/\nedgeDefaults:\n  cache: { maxBytes: 64MB }\nedges:\n${edges}\n` +
      `origin:\n  listen: 127.0.0.1:${originPort}\n  admin: 127.0.0.1:${originAdminPort}\n  content: content/\n  rules:\n    - { match: "/p/**", cacheControl: "public, max-age=3600", surrogateKeys: [bench] }\n` +
      (backend === 'nats'
        ? `distribution:\n  journal: state/journal\n  backend: nats\n  nats:\n    servers: [${nats!.servers.join(', ')}]\n    replicas: 3\n`
        : `distribution:\n  listen: 127.0.0.1:${distPort}\n  admin: 127.0.0.1:${distAdminPort}\n  journal: state/journal\n`) +
      `admin:\n  tokens: [${TOKEN}]\n`,
  );
  const c: Cluster = {
    dir,
    config,
    originUrl: `http://127.0.0.1:${originPort}`,
    originAdminUrl: `http://127.0.0.1:${originAdminPort}`,
    edgeUrls: EDGE_HOSTS.map((h, i) => `http://${h}:${edgePorts[i]}`),
    origin: startProcess('origin', ['node', cli, 'origin', '--config', config], { env }),
    edges: [],
  };
  if (backend === 'journal') c.distributor = startProcess('distributor', ['node', cli, 'distributor', '--config', config], { env });
  c.edges = EDGE_HOSTS.map((_, i) => startEdge(c, i));
  if (c.distributor) await waitUntil(c.distributor, () => healthy(`http://127.0.0.1:${distPort}`), 60_000);
  await waitUntil(c.origin, () => healthy(c.originUrl), 60_000);
  for (let i = 0; i < c.edges.length; i++) await waitUntil(c.edges[i]!, () => healthy(c.edgeUrls[i]!), 60_000);
  return c;
}

interface Status {
  journal: { lastSeq: number };
  edges: Array<{ name: string; reachable: boolean; lastSeq: number | null }>;
}

async function status(c: Cluster): Promise<Status> {
  const r = await http(`${c.originAdminUrl}/.dnscdn/status`, { headers: auth });
  if (r.status !== 200) throw new Error(`status: HTTP ${r.status} ${r.body}`);
  return JSON.parse(r.body) as Status;
}

const allAt = (s: Status): boolean => s.edges.every((e) => e.reachable && e.lastSeq === s.journal.lastSeq);

async function waitConverged(c: Cluster, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!allAt(await status(c))) {
    if (Date.now() > deadline) throw new Error(`not converged: ${JSON.stringify(await status(c))}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function push(c: Cluster, paths: string[]): Promise<void> {
  const r = await http(`${c.originAdminUrl}/.dnscdn/push`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ paths }) });
  if (r.status !== 200) throw new Error(`push: HTTP ${r.status} ${r.body}`);
}

function writeObject(c: Cluster, name: string): string {
  writeFileSync(join(c.dir, 'content', 'p', name), `<!doctype html><p>${name}</p>${'x'.repeat(2048)}`);
  return `/p/${name}`;
}

/** A GET that the edge may answer only from its cache (RFC 9111 §5.2.1.7): never reaches the origin. */
async function isHit(edgeUrl: string, path: string): Promise<boolean> {
  const r = await http(edgeUrl + path, { headers: { 'cache-control': 'only-if-cached' } });
  return r.status === 200 && r.headers['x-cache'] === 'HIT';
}

async function timeUntilHit(edgeUrl: string, path: string, since: number): Promise<number> {
  for (;;) {
    if (await isHit(edgeUrl, path)) return performance.now() - since;
    if (performance.now() - since > 30_000) throw new Error(`${path} never became a HIT at ${edgeUrl}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function originContentRequests(c: Cluster): Promise<number> {
  const text = (await http(`${c.originAdminUrl}/metrics`)).body;
  let total = 0;
  for (const m of text.matchAll(/^dnscdn_origin_requests_total\{[^}]*\} (\d+)/gm)) total += Number(m[1]);
  return total;
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

async function propagation(c: Cluster): Promise<{ perEdge: number[][]; ackMs: number[]; originRequests: number }> {
  for (let i = 0; i < 10; i++) await push(c, [writeObject(c, `warm${i}.html`)]);
  await waitConverged(c);
  const before = await originContentRequests(c);
  const perEdge: number[][] = c.edgeUrls.map(() => []);
  const ackMs: number[] = [];
  for (let i = 0; i < PUSHES; i++) {
    const path = writeObject(c, `obj${i}.html`);
    const t0 = performance.now();
    await push(c, [path]);
    const acked = performance.now();
    ackMs.push(acked - t0);
    const times = await Promise.all(c.edgeUrls.map((u) => timeUntilHit(u, path, acked)));
    times.forEach((t, e) => perEdge[e]!.push(t));
  }
  return { perEdge, ackMs, originRequests: (await originContentRequests(c)) - before };
}

interface CatchUpRun {
  missedOps: number;
  listenMs: number;
  convergedMs: number;
  objectsChecked: number;
}

async function catchUp(c: Cluster, run: number): Promise<CatchUpRun> {
  const victim = c.edges.length - 1;
  const batches = (MISSED_OPS + 50) / PATHS_PER_PUSH;
  let seqAtKill = 0;
  const paths: string[] = [];
  for (let b = 0; b < batches; b++) {
    if (b === 5) {
      c.edges[victim]!.child.kill('SIGKILL');
      await c.edges[victim]!.stop();
      seqAtKill = (await status(c)).journal.lastSeq;
    }
    const batch = Array.from({ length: PATHS_PER_PUSH }, (_, k) => writeObject(c, `run${run}-${b}-${k}.html`));
    if (b >= 5) paths.push(...batch);
    await push(c, batch);
  }
  const missedOps = (await status(c)).journal.lastSeq - seqAtKill;
  const t0 = performance.now();
  c.edges[victim] = startEdge(c, victim);
  await waitUntil(c.edges[victim]!, () => healthy(c.edgeUrls[victim]!), 60_000);
  const listenMs = performance.now() - t0;
  await waitConverged(c);
  const convergedMs = performance.now() - t0;
  for (const p of paths) if (!(await isHit(c.edgeUrls[victim]!, p))) throw new Error(`${p} is not a HIT at the restarted edge`);
  return { missedOps, listenMs, convergedMs, objectsChecked: paths.length };
}

interface BackendResult {
  propagation: { perEdge: Array<{ edge: string; p50Ms: number; p99Ms: number; maxMs: number }>; ackP50Ms: number; ackP99Ms: number; originContentRequests: number };
  catchUp: { runs: CatchUpRun[]; medianConvergedMs: number };
  status: string;
}

async function measure(backend: Backend): Promise<BackendResult> {
  const nats = backend === 'nats' ? await NatsCluster.start(3) : undefined;
  const c = await startCluster(backend, nats);
  try {
    await waitConverged(c);
    const prop = await propagation(c);
    const all = prop.perEdge.flat().sort((a, b) => a - b);
    const rows = prop.perEdge.map((ts, e) => {
      const s = [...ts].sort((a, b) => a - b);
      return [`e${e + 1} (${EDGE_HOSTS[e]})`, ts.length, round(percentile(s, 50)), round(percentile(s, 99)), round(s.at(-1)!)] as [string, number, number, number, number];
    });
    rows.push(['all edges', all.length, round(percentile(all, 50)), round(percentile(all, 99)), round(all.at(-1)!)]);
    const acks = [...prop.ackMs].sort((a, b) => a - b);
    console.log(`\n[${backend}] push propagation: ${PUSHES} pushes of a new 2 KiB object, ms from the push's ack to a HIT (only-if-cached poll every ${POLL_MS} ms)`);
    console.log(formatTable(['edge', 'pushes', 'p50 ms', 'p99 ms', 'max ms'], rows));
    console.log(`[${backend}] push ack: p50 ${round(percentile(acks, 50))} ms, p99 ${round(percentile(acks, 99))} ms; origin content requests during the run: ${prop.originRequests}`);

    const runs: CatchUpRun[] = [];
    for (let r = 0; r < CATCHUP_RUNS; r++) runs.push(await catchUp(c, r));
    console.log(`\n[${backend}] catch-up: edge e3 killed with SIGKILL during a stream of ${MISSED_OPS + 50} operations, restarted after it`);
    console.log(
      formatTable(
        ['run', 'missed ops', 'listening ms', 'all edges at the last seq ms', 'objects verified HIT'],
        runs.map((r, i) => [i + 1, r.missedOps, round(r.listenMs), round(r.convergedMs), r.objectsChecked]),
      ),
    );
    const statusText = spawnSync('node', [cli, 'status', '--admin-url', c.originAdminUrl, '--token', TOKEN], { encoding: 'utf8', env }).stdout;
    console.log(`\n[${backend}] $ dnscdn status\n${statusText}`);
    return {
      propagation: {
        perEdge: rows.map((r) => ({ edge: r[0], p50Ms: r[2], p99Ms: r[3], maxMs: r[4] })),
        ackP50Ms: round(percentile(acks, 50)),
        ackP99Ms: round(percentile(acks, 99)),
        originContentRequests: prop.originRequests,
      },
      catchUp: { runs: runs.map((r) => ({ ...r, listenMs: round(r.listenMs), convergedMs: round(r.convergedMs) })), medianConvergedMs: round(median(runs.map((r) => r.convergedMs))) },
      status: statusText,
    };
  } finally {
    await Promise.all([...c.edges, c.origin, ...(c.distributor ? [c.distributor] : [])].map((s) => s.stop()));
    rmSync(c.dir, { recursive: true, force: true });
    await nats?.stop();
  }
}

async function main(): Promise<void> {
  installCleanup();
  const results: Record<Backend, BackendResult> = { journal: await measure('journal'), nats: await measure('nats') };
  const allEdges = (b: Backend): { p50Ms: number; p99Ms: number } => results[b].propagation.perEdge.at(-1)!;
  console.log('\nside by side (3 edges; ack to HIT over all edges; catch-up median of runs)');
  console.log(
    formatTable(
      ['backend', 'ack p50 ms', 'ack p99 ms', 'ack->HIT p50 ms', 'ack->HIT p99 ms', `catch-up after ${MISSED_OPS} ops ms`],
      (['journal', 'nats'] as const).map((b) => [b, results[b].propagation.ackP50Ms, results[b].propagation.ackP99Ms, allEdges(b).p50Ms, allEdges(b).p99Ms, results[b].catchUp.medianConvergedMs]),
    ),
  );
  const result = {
    conditions: conditions(),
    setup:
      'separate processes from one generated deployment file per backend. journal: dnscdn distributor, dnscdn origin (publishing to it), dnscdn edge x3 on 127.0.0.11-13, every write fsynced. nats: 3 clustered nats-server 2.9 (-js, streams R3), dnscdn origin publishing to JetStream, the same 3 edges on durable consumers',
    pushes: PUSHES,
    objectBytes: 2048 + 30,
    pollMs: POLL_MS,
    missedOps: MISSED_OPS,
    backends: results,
  };
  const chart: BarChart = {
    title: `push propagation to 3 edges (${PUSHES} pushes) and catch-up after ${MISSED_OPS} missed operations`,
    yLabel: 'ms',
    categories: ['propagation p50', 'propagation p99', 'catch-up (median)'],
    series: (['journal', 'nats'] as const).map((b) => ({ name: b, values: [allEdges(b).p50Ms, allEdges(b).p99Ms, results[b].catchUp.medianConvergedMs] })),
    valueUnit: 'ms',
  };
  // The chart's data goes with the results, so `npm run bench:charts` can redraw it without re-running.
  const files = await writeResults('push', { ...result, chart }, barChartSvg(chart));
  console.log(`wrote ${files.join(', ')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
