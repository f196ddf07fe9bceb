/**
 * bench:edge's HTTPS cases: 1 KiB and 100 KiB cache hits over TLS, HTTP/1.1 with keep-alive (wrk) and HTTP/2
 * (h2load, 64 connections x 10 streams), for dnscdn edge, the TLS ceiling (tls-ceiling.ts: plain node:https and
 * node:http2 servers answering from a Map with a dnscdn hit's head), the same ceiling with a bare 4-field head (a
 * reference row) and nginx with `ssl` and `http2` in front of the same origin, in the same run; then full handshakes per second (no resumption: `openssl s_time -new`, two clients in parallel).
 * Same pinning as the plain cases: the server on core 1, load generators and the origin on core 0. The
 * certificate is ECDSA P-256 from the demo CA code (src/edge/tls/demo-ca.ts).
 */
import { join } from 'node:path';
import { ensureDemoCertificates } from '../src/edge/tls/demo-ca.js';
import { CaseRuns, type EdgeCaseResult, type RunSample } from './edge-result.js';
import { nginxProxyCache, type EdgeContext } from './edge-servers.js';
import { h2load } from './h2load.js';
import { OBJECT_SIZES } from './objects.js';
import { EDGE_SERVER_PRIORITY, findCommand, freePort, LOADGEN_CORE, pinned, repinTree, runMeasured, SERVER_CORE, startProcess, tcpAccepts, waitUntil } from './proc.js';
import type { Ratio } from './report.js';
import { wrk } from './wrk.js';

interface TlsServer {
  name: string;
  argv: string[];
  /** Where HTTP/1.1 over TLS and HTTP/2 are served (the same port for dnscdn and nginx). */
  h1: string;
  h2: string;
  /** A plain-HTTP URL base to fill the cache through, if the server has one (the cache is shared). */
  fill?: string;
}

const H2_STREAMS = 10;
/** Each measured run is preceded by this much of the same load on the same server process. */
const WARMUP_SECONDS = 1;
const HANDSHAKE_CLIENTS = 2;

export async function measureTls(ctx: EdgeContext, seconds: number, runs: number, connections: number, only: readonly string[] | undefined): Promise<{ results: EdgeCaseResult[]; ratios: Ratio[]; notes: string[] }> {
  const dir = join(ctx.tmp, 'tls');
  const pki = await ensureDemoCertificates(dir, ['bench.test', ctx.host]);
  const results: EdgeCaseResult[] = [];
  const notes: string[] = [];
  if (findCommand('h2load') === undefined) notes.push('h2load (nghttp2-client) not installed: HTTP/2 cases skipped');
  const makers: Array<[string, (p: number, q: number) => TlsServer | undefined]> = [
    ['dnscdn', (p, q) => dnscdnTls(ctx, p, q, pki.server)],
    ['tls ceiling', (p, q) => ceilingTls(ctx, p, q, pki.server, false)],
    ['tls ceiling, bare head', (p, q) => ceilingTls(ctx, p, q, pki.server, true)],
    ['nginx', (p) => nginxTls(ctx, p, pki.server)],
  ];
  for (const [label, make] of makers) {
    if (only && !only.includes(label) && !only.includes('https')) continue;
    const spec = make(await freePort(), await freePort());
    if (spec === undefined) {
      notes.push(`${label} (https): not installed, skipped`);
      continue;
    }
    results.push(...(await measure(spec, seconds, runs, connections)));
  }
  return { results, ratios: tlsRatios(results), notes };
}

/**
 * `runs` server processes, each measuring every case once: a process is one draw of V8's optimisation and
 * heap decisions (bench:dns saw the same node server move 12 % from one process to the next), so the median
 * over processes is what a user gets and the runs show the spread. Every process fills the cache, then
 * warms the path it is about to measure (1 s on the same URL and protocol) before each measured run: the
 * JIT sees the TLS path of every server before it counts, not only the fill's.
 */
async function measure(spec: TlsServer, seconds: number, runs: number, connections: number): Promise<EdgeCaseResult[]> {
  const collected = new CaseRuns();
  const h1 = new URL(spec.h1);
  const sample = (name: string, pid: number, runFor: (seconds: number) => Promise<RunSample>): Promise<void> => collected.measure(name, pid, runFor, seconds, WARMUP_SECONDS);
  for (let run = 0; run < runs; run++) {
    const server = startProcess(`${spec.name} (https)`, pinned(SERVER_CORE, spec.argv, EDGE_SERVER_PRIORITY), { env: { ...process.env, DNSCDN_LOG: 'warn' } });
    try {
      await waitUntil(server, () => tcpAccepts(h1.hostname, Number(h1.port)));
      repinTree(server.pid, SERVER_CORE);
      for (const { path } of OBJECT_SIZES) {
        await wrk({ url: (spec.fill ?? spec.h1) + path, seconds: 1, connections: 8 });
        await sample(`HTTPS h1 HIT ${path.slice(1)}`, server.pid, (s) => wrk({ url: spec.h1 + path, seconds: s, connections }));
        if (findCommand('h2load') !== undefined) {
          await sample(`HTTPS h2 HIT ${path.slice(1)}`, server.pid, async (s) => {
            const r = await h2load({ url: spec.h2 + path, seconds: s, connections, streams: H2_STREAMS });
            return { ...r, p50Ms: r.meanMs, p99Ms: NaN };
          });
        }
      }
      await sample('TLS handshakes/s', server.pid, (s) => handshakes(`${h1.hostname}:${h1.port}`, s));
    } finally {
      await server.stop();
    }
  }
  const results = collected.results(spec.name);
  for (const r of results) console.log(`  ${r.case.padEnd(18)} ${r.server.padEnd(12)} ${String(r.rps).padStart(7)}/s ${String(r.mbPerSecond).padStart(7)} MB/s  runs ${r.runsRps.join(' ')}  errors ${r.errors}  cpu server ${r.serverCpuPercent}% client ${r.loadgenCpuPercent}%`);
  return results;
}

/** Full handshakes per second (`openssl s_time -new`: no session reuse), HANDSHAKE_CLIENTS in parallel. */
async function handshakes(hostPort: string, seconds: number): Promise<RunSample> {
  const runs = await Promise.all(Array.from({ length: HANDSHAKE_CLIENTS }, () => runMeasured(pinned(LOADGEN_CORE, ['openssl', 's_time', '-connect', hostPort, '-new', '-time', String(seconds)]))));
  let total = 0;
  let cpu = 0;
  let wall = 0;
  for (const r of runs) {
    const m = /(\d+) connections in ([\d.]+) real seconds/.exec(r.stdout);
    if (!m) throw new Error(`openssl s_time: unexpected output: ${r.stdout.slice(-300)}`);
    total += Number(m[1]) / Number(m[2]);
    cpu += r.cpuSeconds;
    wall = Math.max(wall, r.wallSeconds);
  }
  return { rps: total, mbPerSecond: 0, p50Ms: NaN, p99Ms: NaN, errors: 0, loadgenCpuPercent: (100 * cpu) / wall };
}

function dnscdnTls(ctx: EdgeContext, port: number, tlsPort: number, files: { cert: string; key: string }): TlsServer {
  const argv = ['node', join(ctx.root, 'bin', 'dnscdn.js'), 'edge', '--listen', `${ctx.host}:${port}`, '--admin-listen', `${ctx.host}:0`, '--origin', ctx.originUrl, '--max-bytes', '256MB'];
  argv.push('--tls-listen', `${ctx.host}:${tlsPort}`, '--tls-cert', files.cert, '--tls-key', files.key);
  const https = `https://${ctx.host}:${tlsPort}`;
  return { name: 'dnscdn', argv, h1: https, h2: https, fill: `http://${ctx.host}:${port}` };
}

/** The TLS ceiling (tls-ceiling.ts); `bare`: with the 4-field head instead of a dnscdn hit's (a reference row). */
function ceilingTls(ctx: EdgeContext, h1Port: number, h2Port: number, files: { cert: string; key: string }, bare: boolean): TlsServer {
  const argv = ['node', join(ctx.root, 'dist-bench', 'bench', 'tls-ceiling.js'), '--h1', `${ctx.host}:${h1Port}`, '--h2', `${ctx.host}:${h2Port}`, '--cert', files.cert, '--key', files.key];
  const urls = { h1: `https://${ctx.host}:${h1Port}`, h2: `https://${ctx.host}:${h2Port}` };
  return bare ? { name: 'tls ceiling, bare head', argv: [...argv, '--bare'], ...urls } : { name: 'tls ceiling', argv, ...urls };
}

/** nginx 1.22 with one worker, `ssl http2` and proxy_cache, as in the plain cases. */
function nginxTls(ctx: EdgeContext, port: number, files: { cert: string; key: string }): TlsServer | undefined {
  const spec = nginxProxyCache(ctx, 'nginx-tls', { listen: `${ctx.host}:${port}`, tls: files });
  if (spec === undefined) return undefined;
  const https = `https://${ctx.host}:${port}`;
  return { ...spec, h1: https, h2: https };
}

export function tlsRatios(results: readonly EdgeCaseResult[]): Ratio[] {
  const out: Ratio[] = [];
  const cases = [...new Set(results.map((r) => r.case))];
  for (const c of cases) {
    const rate = (server: string): number | undefined => results.find((r) => r.case === c && r.server === server)?.rps;
    const ours = rate('dnscdn');
    if (ours === undefined) continue;
    const ceiling = rate('tls ceiling');
    if (ceiling !== undefined && ceiling > 0) out.push({ ratio: `${c}: dnscdn / tls ceiling`, value: ours / ceiling, ...(c.startsWith('HTTPS') ? { target: '>= 0.9' } : {}) });
    const bare = rate('tls ceiling, bare head');
    if (bare !== undefined && bare > 0) out.push({ ratio: `${c}: dnscdn / tls ceiling, bare head`, value: ours / bare });
    const nginx = rate('nginx');
    if (nginx !== undefined && nginx > 0) out.push({ ratio: `${c}: dnscdn / nginx`, value: ours / nginx });
  }
  return out;
}
