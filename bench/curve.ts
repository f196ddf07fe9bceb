/**
 * bench:curve — response time against load, the texts' test of scalability: does the response time stay
 * stable as load grows, and where is the knee past which it does not?
 *
 * DNS: steered answers (www.cdn.test A with a London ECS subnet, geo-nearest over five healthy edges) at
 * offered rates stepped from low to past saturation with dnsperf -Q, every query's latency recorded (-v):
 * throughput, p50 and p99 per step. Knot answers the same name from the demo zone at the same steps (the
 * anchor: a C server with the same wire work minus steering).
 * Edge: cache hits of a 1 KiB object with concurrent keep-alive clients stepped from 1 to 256 (wrk --latency):
 * throughput, p50 and p99 per step; nginx with proxy_cache at the same steps.
 * dnscdn runs with 1 worker, and with 2 where the role has `--workers`.
 *
 * Method: server pinned to core 1 (a 2-worker server gets both cores and shares one with the load generator,
 * which the chart says), load generator pinned to core 0, each step BENCH_CURVE_SECONDS (default 3) after a
 * warm-up. The knee is the last step before throughput falls behind the offered load (DNS: under 95 %
 * answered) or p99 exceeds 4x its low-load value; for the edge, the last step whose throughput still grew
 * by 5 % or more. Writes bench/results/curve-dns.json, curve-dns.svg, curve-edge.json and curve-edge.svg.
 *
 *   npm run bench:curve     (BENCH_CURVE_SECONDS=2 for a quick look; BENCH_CURVE=dns or edge for one half)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientSubnet } from '../src/dns/types.js';
import { lineChartSvg, type LinePanel, type Series } from './chart.js';
import { ask, dnsAnswers, ecsOptionArgument } from './dns-probe.js';
import { knotSpec, RRL_OFF, startHealthEndpoints, steeringConfig, type DnsServerSpec, type ServerContext } from './dns-servers.js';
import { dnsperf, latencySummary } from './dnsperf.js';
import { nginxSpec, startBenchOrigin, type HttpServerSpec } from './edge-servers.js';
import { conditions, findCommand, freePort, INSTALL_HINT, installCleanup, pinned, repinTree, SERVER_CORE, sleep, startProcess, tcpAccepts, waitUntil } from './proc.js';
import { formatTable, repoRoot, writeResults } from './report.js';
import { wrk } from './wrk.js';

const SECONDS = Number(process.env.BENCH_CURVE_SECONDS ?? 3);
const HOST = '127.0.0.1';
/** Offered DNS rates, queries/s: from idle to past what one core of dnscdn or Knot answers on this machine. */
export const DNS_RATES = [1_000, 5_000, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 80_000, 100_000, 130_000];
/** Concurrent edge clients (wrk connections). */
export const EDGE_CONNECTIONS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/** Past this many times its low-load p99, the response time is no longer "stable". */
const P99_GROWTH_LIMIT = 4;

export interface CurvePoint {
  /** Offered queries/s (DNS) or concurrent clients (edge). */
  load: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
}

export interface Curve {
  protocol: 'dns' | 'edge';
  server: string;
  workers: number;
  points: CurvePoint[];
  /** The last load step before the knee, or null when the response time stayed stable at every step. */
  knee: number | null;
}

/** Where the curve bends: the last step before throughput falls behind the offer or p99 blows up (DNS). */
export function dnsKnee(points: readonly CurvePoint[]): number | null {
  const base = points[0]?.p99Ms ?? 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (p.throughput < 0.95 * p.load || p.p99Ms > P99_GROWTH_LIMIT * Math.max(base, 0.05)) return i === 0 ? points[0]!.load : points[i - 1]!.load;
  }
  return null;
}

/** A closed-loop load saturates instead of falling behind: the knee is the last step that still added throughput. */
export function edgeKnee(points: readonly CurvePoint[]): number | null {
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.throughput < 1.05 * points[i - 1]!.throughput) return points[i - 1]!.load;
  }
  return null;
}

function hasWorkersFlag(root: string, role: 'dns' | 'edge'): boolean {
  const help = execFileSync(process.execPath, [join(root, 'bin', 'dnscdn.js'), role, '--help'], { encoding: 'utf8' });
  return help.includes('--workers');
}

async function dnsCurve(spec: DnsServerSpec, port: number, workers: number, ecsOption: string, queryFile: string, ready: () => Promise<void>): Promise<Curve> {
  // One worker: pinned to the server core. Two: the cluster spreads over both cores (the load generator shares one).
  const argv = workers === 1 ? pinned(SERVER_CORE, spec.argv) : spec.argv;
  const server = startProcess(spec.name, argv, { env: { ...process.env, DNSCDN_LOG: 'warn' } });
  try {
    await waitUntil(server, () => dnsAnswers(HOST, port));
    await ready();
    if (workers === 1) repinTree(server.pid, SERVER_CORE);
    await dnsperf({ host: HOST, port, queryFile, seconds: 2, ednsOption: ecsOption });
    const points: CurvePoint[] = [];
    for (const rate of DNS_RATES) {
      const r = await dnsperf({ host: HOST, port, queryFile, seconds: SECONDS, rate, verbose: true, ednsOption: ecsOption });
      const l = latencySummary(r.latenciesMs);
      points.push({ load: rate, throughput: Math.round(r.completed / SECONDS), p50Ms: l.p50, p99Ms: l.p99 });
      console.log(`  ${spec.name} x${workers} offered ${String(rate).padStart(6)} q/s: answered ${String(Math.round(r.completed / SECONDS)).padStart(6)} q/s  p50 ${l.p50} ms  p99 ${l.p99} ms  lost ${r.lostPercent}%`);
      // Past the knee every further step only measures a full queue: one more step shows it, then stop.
      if (r.completed / SECONDS < 0.7 * rate && points.length >= 2 && points[points.length - 2]!.throughput < 0.95 * points[points.length - 2]!.load) break;
    }
    return { protocol: 'dns', server: spec.name, workers, points, knee: dnsKnee(points) };
  } finally {
    await server.stop();
  }
}

async function dnsCurves(root: string, tmp: string, curves: Curve[], notes: string[]): Promise<void> {
  const ctx: ServerContext = { root, zonesDir: join(root, 'zones'), zone: 'cdn.test', host: HOST, tmp };
  const london: ClientSubnet = { family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, address: '81.2.69.0' };
  const ecs = ecsOptionArgument(london);
  const queryFile = join(tmp, 'steering-queries.txt');
  writeFileSync(queryFile, 'www.cdn.test A\n');
  const health = await startHealthEndpoints();
  try {
    const workerCounts = hasWorkersFlag(root, 'dns') ? [1, 2] : [1];
    if (workerCounts.length === 1) notes.push('dns: this build has no --workers; measured with one process only');
    for (const workers of workerCounts) {
      const port = await freePort();
      const config = steeringConfig(ctx, port, health.port);
      const argv = ['node', join(root, 'bin', 'dnscdn.js'), 'dns', '--config', config, '--listen', `${HOST}:${port}`, ...RRL_OFF, ...(workerCounts.length > 1 ? ['--workers', String(workers)] : [])];
      const steered = async (): Promise<void> => {
        for (let i = 0; i < 50; i++) {
          const a = await ask(HOST, port, 'www.cdn.test', 'A', london);
          if (a?.data[0] === '127.0.0.11') return;
          await sleep(200);
        }
        notes.push('dns: dnscdn never answered the London edge for a London ECS subnet; measured anyway');
      };
      curves.push(await dnsCurve({ name: 'dnscdn', argv, repin: false }, port, workers, ecs, queryFile, steered));
    }
    const knotPort = await freePort();
    const knot = knotSpec(ctx, knotPort);
    if (knot === undefined) notes.push(`dns: knot is not installed, no anchor (install with: ${INSTALL_HINT})`);
    else curves.push(await dnsCurve(knot, knotPort, 1, ecs, queryFile, async () => undefined));
  } finally {
    await health.close();
  }
}

async function edgeCurve(spec: HttpServerSpec, port: number, workers: number): Promise<Curve> {
  const argv = workers === 1 ? pinned(SERVER_CORE, spec.argv) : spec.argv;
  const server = startProcess(spec.name, argv, { env: { ...process.env, DNSCDN_LOG: 'warn' } });
  try {
    await waitUntil(server, () => tcpAccepts(HOST, port));
    if (workers === 1) repinTree(server.pid, SERVER_CORE);
    const url = `http://${HOST}:${port}/1k`;
    await wrk({ url, seconds: 2, connections: 64 });
    const points: CurvePoint[] = [];
    for (const connections of EDGE_CONNECTIONS) {
      const r = await wrk({ url, seconds: SECONDS, connections });
      points.push({ load: connections, throughput: Math.round(r.rps), p50Ms: r.p50Ms, p99Ms: r.p99Ms });
      console.log(`  ${spec.name} x${workers} ${String(connections).padStart(3)} clients: ${String(Math.round(r.rps)).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  errors ${r.errors}`);
    }
    return { protocol: 'edge', server: spec.name, workers, points, knee: edgeKnee(points) };
  } finally {
    await server.stop();
  }
}

async function edgeCurves(root: string, tmp: string, curves: Curve[], notes: string[]): Promise<void> {
  const origin = await startBenchOrigin(root, tmp, HOST);
  try {
    const workerCounts = hasWorkersFlag(root, 'edge') ? [1, 2] : [1];
    if (workerCounts.length === 1) notes.push('edge: this build has no --workers; measured with one process only');
    for (const workers of workerCounts) {
      const port = await freePort();
      const argv = ['node', join(root, 'bin', 'dnscdn.js'), 'edge', '--listen', `${HOST}:${port}`, '--admin-listen', `${HOST}:0`, '--origin', origin.ctx.originUrl, '--max-bytes', '256MB', ...(workerCounts.length > 1 ? ['--workers', String(workers)] : [])];
      curves.push(await edgeCurve({ name: 'dnscdn', argv }, port, workers));
    }
    const nginxPort = await freePort();
    const nginx = nginxSpec(origin.ctx, nginxPort);
    if (nginx === undefined) notes.push(`edge: nginx is not installed, no anchor (install with: ${INSTALL_HINT})`);
    else curves.push(await edgeCurve(nginx, nginxPort, 1));
  } finally {
    await origin.stop();
  }
}

function label(c: Curve): string {
  return `${c.server}${c.server === 'dnscdn' ? ` (${c.workers} worker${c.workers > 1 ? 's' : ''})` : ''}`;
}

/**
 * Three panels per protocol: throughput, p50 and p99 against load. Each server is one series with the same name in
 * every panel (its knee in the name), so the legend has one entry per server however many panels there are.
 */
export function curveChart(protocol: 'dns' | 'edge', curves: readonly Curve[]): string {
  const mine = curves.filter((c) => c.protocol === protocol);
  // A few labelled ticks; the axis ends at the last step, whose tick is left unlabelled (a label centred on the
  // canvas's right edge would leave it).
  const last = protocol === 'dns' ? DNS_RATES[DNS_RATES.length - 1]! : EDGE_CONNECTIONS[EDGE_CONNECTIONS.length - 1]!;
  const loads = protocol === 'dns' ? [1_000, 10_000, 100_000, last] : [1, 4, 16, 64, last];
  const xLabel = protocol === 'dns' ? 'offered queries/s (log)' : 'concurrent clients (log)';
  const tick = (x: number): string => (x >= 1000 ? `${x / 1000}k` : String(x));
  const axisTick = (x: number): string => (x === last ? '' : tick(x));
  const knee = (c: Curve): string => (c.knee === null ? 'no knee' : `knee ${tick(c.knee)}`);
  const series = (value: (p: CurvePoint) => number): Series[] => mine.map((c) => ({ name: `${label(c)}, ${knee(c)}`, points: c.points.map((p) => [p.load, value(p)] as const) }));
  const common = { xLabel, xTicks: loads, xTickLabel: axisTick, xScale: 'log' as const };
  const panels: LinePanel[] = [
    { ...common, title: protocol === 'dns' ? 'answered queries/s' : 'requests/s', yLabel: protocol === 'dns' ? 'queries/s' : 'requests/s', series: series((p) => p.throughput) },
    { ...common, title: 'p50 response time', yLabel: 'ms', series: series((p) => p.p50Ms) },
    { ...common, title: 'p99 response time', yLabel: 'ms', series: series((p) => p.p99Ms) },
  ];
  const what = protocol === 'dns' ? 'steered DNS answers (dnsperf -Q)' : 'edge cache hits, 1 KiB (wrk)';
  return lineChartSvg(`bench:curve — ${what}: response time against load`, panels, 3);
}

async function main(): Promise<void> {
  installCleanup();
  const which = process.env.BENCH_CURVE;
  const missing = [...(which !== 'edge' ? ['dnsperf'] : []), ...(which !== 'dns' ? ['wrk'] : [])].filter((c) => findCommand(c) === undefined);
  if (missing.length > 0) {
    console.error(`bench:curve needs ${missing.join(' and ')}. Install with: ${INSTALL_HINT}`);
    process.exitCode = 1;
    return;
  }
  const root = repoRoot();
  const tmp = mkdtempSync('/tmp/dnscdn-bench-curve-');
  const curves: Curve[] = [];
  const notes: string[] = [];
  const started = conditions();
  console.log(`bench:curve: ${SECONDS} s per step; conditions: ${JSON.stringify(started)}`);
  console.log(`response-rate limiting: off for dnscdn (${RRL_OFF.join(' ')}): one load generator on one address is what RRL limits`);
  try {
    if (which !== 'edge') await dnsCurves(root, tmp, curves, notes);
    if (which !== 'dns') await edgeCurves(root, tmp, curves, notes);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  for (const protocol of ['dns', 'edge'] as const) {
    const mine = curves.filter((c) => c.protocol === protocol);
    if (mine.length === 0) continue;
    console.log(`\n${protocol}:`);
    console.log(formatTable(['server', 'load', 'throughput', 'p50 ms', 'p99 ms'], mine.flatMap((c) => c.points.map((p) => [label(c), p.load, p.throughput, p.p50Ms, p.p99Ms]))));
    for (const c of mine) console.log(`${label(c)}: ${c.knee === null ? 'stable at every step' : `knee at ${c.knee}`}`);
  }
  for (const n of notes) console.log(`note: ${n}`);
  const ended = conditions();
  const written: string[] = [];
  for (const protocol of ['dns', 'edge'] as const) {
    const mine = curves.filter((c) => c.protocol === protocol);
    if (mine.length === 0) continue;
    const json = { conditions: { atStart: started, atEnd: ended }, secondsPerStep: SECONDS, curves: mine, notes };
    written.push(...(await writeResults(`curve-${protocol}`, json, curveChart(protocol, mine))));
  }
  console.log(`\nwrote ${written.join(', ')}`);
}

if (process.argv[1]?.endsWith('curve.js')) await main();
