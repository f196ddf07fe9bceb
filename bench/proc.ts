/**
 * Process plumbing for the network benchmarks: which tools are installed, starting a server pinned to
 * its core, running the load generator pinned to the other, CPU accounting, and cleaning up.
 *
 * The machine has 2 cores: the load generator gets core 0 and the server under test core 1, so they do
 * not steal each other's cycles. With other work on the machine, wake-up delays dominate unless both
 * run with real-time priority (`chrt -r 10`), used when the kernel allows it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

export const LOADGEN_CORE = 0;
export const SERVER_CORE = 1;

export const INSTALL_HINT = 'apt-get install dnsperf knot nsd wrk nginx-light varnish unbound';

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Absolute path of an installed program, also looking in the sbin folders a non-login PATH may lack. */
export function findCommand(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim() !== '') return found.stdout.trim();
  for (const dir of ['/usr/sbin', '/sbin', '/usr/local/sbin']) if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  return undefined;
}

let realtime: boolean | undefined;
/** Whether `chrt -r 10` works here (needs CAP_SYS_NICE, e.g. root); BENCH_REALTIME=0 turns it off. */
export function realtimeAvailable(): boolean {
  realtime ??= process.env.BENCH_REALTIME !== '0' && hasCommand('chrt') && spawnSync('chrt', ['-r', '10', 'true'], { stdio: 'ignore' }).status === 0;
  return realtime;
}

let pinning: boolean | undefined;
export function pinningAvailable(): boolean {
  pinning ??= hasCommand('taskset') && spawnSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' }).status === 0;
  return pinning;
}

/**
 * The command prefix that runs a program on one core and, unless `realtime: false`, with real-time
 * priority, as far as available.
 */
export function pinned(core: number, argv: readonly string[], options: { realtime?: boolean } = {}): string[] {
  const out = [...argv];
  if (pinningAvailable()) out.unshift('taskset', '-c', String(core));
  if (options.realtime !== false && realtimeAvailable()) out.unshift('chrt', '-r', '10');
  return out;
}

/**
 * How bench:edge runs the servers it measures: pinned to their core, without real-time priority. Under
 * SCHED_RR every thread of the process shares the one core at the same priority, and a thread that
 * becomes runnable waits for the running one to block or to use up its 100 ms time slice: a V8
 * compiler or GC thread then holds the core while the event loop waits. That is not what a server
 * costs, and it hit node servers (many threads) and not nginx or Varnish's workers the same way:
 * measured 2026-11-28 (HTTPS h1 1 KiB hits, quiet machine), dnscdn 48.8k req/s with real-time priority
 * against 60.9k without, the TLS ceiling 66.4k against 70.5k.
 */
export const EDGE_SERVER_PRIORITY = { realtime: false } as const;

/** Describes the measurement conditions for the results files. */
export function conditions(): Record<string, string | number | boolean> {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return {
    node: process.version,
    cpus: readdirSync('/sys/devices/system/cpu').filter((d) => /^cpu\d+$/.test(d)).length,
    loadgenCore: pinningAvailable() ? LOADGEN_CORE : 'unpinned',
    serverCore: pinningAvailable() ? SERVER_CORE : 'unpinned',
    realtimePriority: realtimeAvailable(),
    loadAverageAtStart: load,
    date: new Date().toISOString(),
  };
}

export interface Server {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/** Servers still running, killed if the benchmark is interrupted or fails. */
const running = new Set<ChildProcess>();
let cleanupInstalled = false;

/** On Ctrl-C, SIGTERM or exit, kills every server this benchmark started (and only those). */
export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const killAll = (): void => {
    for (const child of running) child.kill('SIGKILL');
    running.clear();
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** Starts a long-running server process; its output is kept (bounded) for diagnostics. */
export function startProcess(name: string, argv: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Server {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const keep = (chunk: Buffer): void => {
    text = (text + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => keep(Buffer.from(`spawn error: ${err.message}\n`)));
  running.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  return {
    name,
    child,
    pid: child.pid ?? -1,
    output: () => text,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until `probe` succeeds (the server answers), or fails with the server's output. */
export async function waitUntil(server: Server, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`${server.name} exited (${server.child.exitCode}):\n${server.output()}`);
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${server.name} did not come up in ${timeoutMs} ms:\n${server.output()}`);
}

/** True when a TCP connection to host:port is accepted. */
export function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Every process id in the tree rooted at `pid` (NSD and nginx fork workers). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/** Re-pins every thread of every process in the tree (knotd moves its UDP worker to core 0 after start). */
export function repinTree(pid: number, core: number): void {
  if (!pinningAvailable()) return;
  for (const p of processTree(pid)) spawnSync('taskset', ['-a', '-p', '-c', String(core), String(p)], { stdio: 'ignore' });
}

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system) used so far by a process tree. */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / TICKS_PER_SECOND;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number | null;
  /** User + system CPU seconds of the command (from the shell's `times`). */
  cpuSeconds: number;
  wallSeconds: number;
}

/** Runs a load generator to completion and accounts for its CPU. */
export function runMeasured(argv: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('bash', ['-c', '"$@"; status=$?; times >&2; exit $status', 'bench', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.567s".
      const lines = stderr.trimEnd().split('\n');
      const childTimes = lines.at(-1) ?? '';
      const secs = [...childTimes.matchAll(/(\d+)m([\d.]+)s/g)].reduce((s, m) => s + Number(m[1]) * 60 + Number(m[2]), 0);
      resolve({ stdout, stderr: lines.slice(0, -2).join('\n'), status, cpuSeconds: secs, wallSeconds });
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Percentile (0-100) by nearest rank of an ascending sorted array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** A free port on the loopback, by letting the kernel pick one. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}
