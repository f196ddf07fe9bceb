/**
 * bench:edge — cache-HIT throughput (requests/s, MB/s, p50/p99) for 1 KiB and 100 KiB objects, driven
 * by wrk, for dnscdn edge and in the same run the node:http ceiling (http-ceiling.ts) and, when
 * installed, nginx (proxy_cache) and Varnish in front of the same origin (`dnscdn origin`); then the
 * cost of a MISS (every URL new) and of a 304 revalidation (a `no-cache` object) at dnscdn.
 *
 * Method: server under test pinned to core 1 without real-time priority (EDGE_SERVER_PRIORITY in proc.ts
 * says why), wrk (1 thread, 64 connections) and the origin on core 0 with real-time priority when
 * allowed; 3 runs of BENCH_SECONDS (default 8), each in a fresh server process after a warm-up that
 * also fills the cache, and the median. MISS and 304 costs are measured with one connection (latency, not
 * saturation: the origin shares the load generator's core). Writes bench/results/edge.json and edge.svg.
 *
 *   npm run bench:edge     (BENCH_SECONDS=3 for a quick look; BENCH_SERVERS=dnscdn,nginx to choose among
 *                           dnscdn, dnscdn access log, node ceiling, node ceiling, bare head, nginx,
 *                           varnish; BENCH_CPU_PROF=1 profiles dnscdn)
 */
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { dnscdnAccessLogSpec, dnscdnEdgeSpec, httpCeilingSpec, nginxSpec, startBenchOrigin, varnishSpec, type EdgeContext, type HttpServerSpec } from './edge-servers.js';
import { CaseRuns, type EdgeCaseResult } from './edge-result.js';
import { OBJECT_SIZES } from './objects.js';
import {
  conditions,
  EDGE_SERVER_PRIORITY,
  findCommand,
  freePort,
  INSTALL_HINT,
  installCleanup,
  pinned,
  repinTree,
  SERVER_CORE,
  startProcess,
  tcpAccepts,
  waitUntil,
} from './proc.js';
import { publishComparison, repoRoot, type Ratio } from './report.js';
import { profiledArgv } from './profile-summary.js';
import { uniqueUrlScript, wrk } from './wrk.js';
import { measureTls } from './edge-tls.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = Math.min(2, SECONDS);
const RUNS = 3;
const CONNECTIONS = 64;
const PROFILE = process.env.BENCH_CPU_PROF === '1';
// The V8 sampler thread shares the server's core: under real-time priority it only runs when the server idles.
if (PROFILE) process.env.BENCH_REALTIME = '0';
const HOST = '127.0.0.1';

export type { EdgeCaseResult } from './edge-result.js';

/** GET url, resolving with the status and the X-Cache header (to check that a warmed object is a hit). */
function probe(url: string): Promise<{ status: number; xCache: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      res.resume();
      res.on('end', () => {
        const x = res.headers['x-cache'];
        resolve({ status: res.statusCode ?? 0, xCache: Array.isArray(x) ? x[0] : x });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * RUNS server processes, each measuring every case once, as the HTTPS cases do (edge-tls.ts): one process is
 * one draw of V8's optimisation and heap decisions (the same node server moved 10 % from one process to the
 * next), so the median over processes is what a user gets and the runs show the spread. Each process fills
 * and warms every object (WARMUP_SECONDS of the measured load) before its counted run.
 */
async function measureServer(spec: HttpServerSpec, port: number, tmp: string): Promise<EdgeCaseResult[]> {
  const collected = new CaseRuns();
  const base = `http://${HOST}:${port}`;
  /** One run of a case; `warmupSeconds` of the same load first (the HIT cases are warmed by their fill). */
  const measure = (name: string, pid: number, url: string, connections: number, warmupSeconds: number, script?: string): Promise<void> =>
    collected.measure(name, pid, (seconds) => wrk({ url, seconds, connections, ...(script !== undefined ? { script } : {}) }), SECONDS, warmupSeconds);
  for (let run = 0; run < RUNS; run++) {
    const server = startProcess(spec.name, pinned(SERVER_CORE, spec.argv, EDGE_SERVER_PRIORITY), { env: { ...process.env, DNSCDN_LOG: 'warn' } });
    try {
      await waitUntil(server, () => tcpAccepts(HOST, port));
      repinTree(server.pid, SERVER_CORE);
      for (const { path } of OBJECT_SIZES) {
        await wrk({ url: base + path, seconds: WARMUP_SECONDS, connections: CONNECTIONS });
        const check = await probe(base + path);
        if (check.status !== 200) throw new Error(`${spec.name} answered ${check.status} for ${path}`);
        if (check.xCache !== undefined && !/HIT/i.test(check.xCache)) console.log(`  warning: ${spec.name} ${path} is not a hit after warm-up (X-Cache: ${check.xCache})`);
        repinTree(server.pid, SERVER_CORE);
        await measure(`HIT ${path.slice(1)}`, server.pid, base + path, CONNECTIONS, 0);
      }
      if (spec.name === 'dnscdn') {
        // Costs at dnscdn, one connection: a HIT for reference, a MISS (new URL each time), a 304 revalidation.
        // Each path is warmed first with the same load: a fresh process's first seconds of misses ran at half
        // the rate of the next ones (the fill path was not compiled yet).
        // The MISS warm-up must ask URLs the measured run does not: its script numbers them under another key.
        await measure('HIT 1k, 1 conn', server.pid, `${base}/1k`, 1, WARMUP_SECONDS);
        await wrk({ url: base, seconds: WARMUP_SECONDS, connections: 1, script: uniqueUrlScript(join(tmp, 'miss-warm.lua'), '/miss/1k', 'warm') });
        await measure('MISS 1k, 1 conn', server.pid, base, 1, 0, uniqueUrlScript(join(tmp, 'miss.lua'), '/miss/1k'));
        await probe(`${base}/rev/1k`);
        const rev = await probe(`${base}/rev/1k`);
        if (rev.xCache !== undefined && !/REVALIDATED/i.test(rev.xCache)) console.log(`  warning: /rev/1k gave X-Cache ${rev.xCache}, expected REVALIDATED`);
        await measure('304 reval, 1 conn', server.pid, `${base}/rev/1k`, 1, WARMUP_SECONDS);
      }
    } finally {
      await server.stop();
    }
  }
  const results = collected.results(spec.name);
  for (const r of results) {
    console.log(
      `  ${r.case.padEnd(16)} ${r.server.padEnd(13)} ${String(r.rps).padStart(7)} req/s ${String(r.mbPerSecond).padStart(7)} MB/s  p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms  runs ${r.runsRps.join(' ')}  errors ${r.errors}  cpu server ${r.serverCpuPercent}% wrk ${r.loadgenCpuPercent}%`,
    );
  }
  return results;
}

function withProfiler(spec: HttpServerSpec): HttpServerSpec {
  return PROFILE ? { ...spec, argv: profiledArgv(spec.argv) } : spec;
}

async function main(): Promise<void> {
  installCleanup();
  if (findCommand('wrk') === undefined) {
    console.error(`bench:edge needs wrk, which is not installed. Install it with: ${INSTALL_HINT}`);
    process.exitCode = 1;
    return;
  }
  const root = repoRoot();
  const tmp = mkdtempSync('/tmp/dnscdn-bench-edge-');
  const results: EdgeCaseResult[] = [];
  let tls: Awaited<ReturnType<typeof measureTls>> | undefined;
  const notes: string[] = [];
  const origin = await startBenchOrigin(root, tmp, HOST);
  const ctx = origin.ctx;
  try {
    console.log(`bench:edge: ${SECONDS} s x ${RUNS} runs, ${CONNECTIONS} connections, after a ${WARMUP_SECONDS} s warm-up per object`);
    console.log(`conditions: ${JSON.stringify({ ...conditions(), serverRealtimePriority: false })}\n`);
    const specs: Array<[string, (c: EdgeContext, p: number) => HttpServerSpec | undefined]> = [
      ['dnscdn', (c, p) => withProfiler(dnscdnEdgeSpec(c, p))],
      ['dnscdn access log', dnscdnAccessLogSpec],
      ['node ceiling', (c, p) => httpCeilingSpec(c, p)],
      ['node ceiling, bare head', (c, p) => httpCeilingSpec(c, p, true)],
      ['nginx', nginxSpec],
      ['varnish', varnishSpec],
    ];
    const only = process.env.BENCH_SERVERS?.split(',');
    for (const [label, make] of specs) {
      if (only && !only.includes(label)) continue;
      const port = await freePort();
      const spec = make(ctx, port);
      if (spec === undefined) {
        const note = `${label}: not installed, skipped (install with: ${INSTALL_HINT})`;
        console.log(`  ${note}`);
        notes.push(note);
        continue;
      }
      results.push(...(await measureServer(spec, port, tmp)));
    }
    // HTTPS: hits over TLS (h1 and h2), handshakes/s (edge-tls.ts); BENCH_TLS=0 skips them.
    if (process.env.BENCH_TLS !== '0') {
      console.log('\nHTTPS:');
      tls = await measureTls(ctx, SECONDS, RUNS, CONNECTIONS, only);
    }
  } finally {
    await origin.stop();
    rmSync(tmp, { recursive: true, force: true });
  }

  // A run of only some servers (BENCH_SERVERS=https) leaves the other results file as it was.
  if (results.length > 0) await publishComparison({
    name: 'edge',
    title: 'bench:edge — cache-hit requests/s (server on 1 core, wrk on the other)',
    yLabel: 'requests per second',
    headers: ['case', 'server', 'req/s', 'MB/s', 'p50 ms', 'p99 ms', 'server cpu %', 'wrk cpu %', 'errors'],
    row: (r) => [r.case, r.server, r.rps, r.mbPerSecond, r.p50Ms, r.p99Ms, r.serverCpuPercent, r.loadgenCpuPercent, r.errors],
    results,
    ratios: ratioTable(results),
    notes,
    categories: OBJECT_SIZES.map((o) => `HIT ${o.path.slice(1)}`),
    value: (r) => r.rps,
    conditions: { ...conditions(), serverRealtimePriority: false, secondsPerRun: SECONDS, runs: RUNS, connections: CONNECTIONS, note: 'preliminary when the machine was shared with other work' },
  });
  if (tls !== undefined && tls.results.length > 0) await publishTls(tls);
}

/** The HTTPS cases in their own results file (bench/results/edge-https.json), printed with their ratios. */
async function publishTls(tls: Awaited<ReturnType<typeof measureTls>>): Promise<void> {
  await publishComparison({
    name: 'edge-https',
    title: 'bench:edge HTTPS — cache hits over TLS (h1: wrk, h2: h2load) and full handshakes per second',
    yLabel: 'requests (handshakes) per second',
    headers: ['case', 'server', 'req/s', 'MB/s', 'p50 (h2: mean) ms', 'p99 ms', 'server cpu %', 'client cpu %', 'errors'],
    row: (r) => [r.case, r.server, r.rps, r.mbPerSecond, r.p50Ms, r.p99Ms, r.serverCpuPercent, r.loadgenCpuPercent, r.errors],
    results: tls.results,
    ratios: tls.ratios,
    notes: tls.notes,
    categories: [...new Set(tls.results.map((r) => r.case))],
    value: (r) => r.rps,
    conditions: { ...conditions(), serverRealtimePriority: false, secondsPerRun: SECONDS, runs: RUNS, connections: CONNECTIONS, note: 'preliminary when the machine was shared with other work' },
  });
}

export function ratioTable(results: readonly EdgeCaseResult[]): Ratio[] {
  const out: Ratio[] = [];
  for (const { path } of OBJECT_SIZES) {
    const c = `HIT ${path.slice(1)}`;
    const rps = (server: string): number | undefined => results.find((r) => r.case === c && r.server === server)?.rps;
    const ours = rps('dnscdn');
    if (ours === undefined) continue;
    for (const [other, target] of [['node ceiling', '>= 0.9'], ['node ceiling, bare head', undefined], ['nginx', undefined], ['varnish', undefined]] as const) {
      const q = rps(other);
      if (q !== undefined && q > 0) out.push({ ratio: `${c}: dnscdn / ${other}`, value: ours / q, ...(target !== undefined ? { target } : {}) });
    }
    const logged = rps('dnscdn access log');
    if (logged !== undefined) out.push({ ratio: `${c}: dnscdn with access log / without`, value: logged / ours });
    const ceiling = rps('node ceiling');
    const nginx = rps('nginx');
    if (ceiling !== undefined && nginx !== undefined && nginx > 0) out.push({ ratio: `${c}: node ceiling / nginx`, value: ceiling / nginx });
  }
  return out;
}

if (process.argv[1]?.endsWith('edge.js')) await main();
