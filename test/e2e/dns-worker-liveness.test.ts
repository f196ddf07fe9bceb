/**
 * A DNS worker that is alive but answers nothing (issue 13, found by issue 17's chaos run): `dnscdn dns --workers 2`
 * as a user runs it, one worker frozen with SIGSTOP, then one whose event loop is blocked by a busy loop. The
 * primary's liveness ping (src/cluster/liveness.ts; here 300 ms x 2) must find each, SIGKILL it and start a new
 * worker through the restart back-off, and then dig over UDP and TCP is answered in full again.
 *
 * What a frozen worker costs without the check (measured, README "DNS workers"): on Node 20's shared UDP socket
 * the other worker reads every datagram, but the TCP connections the frozen one had accepted hang for as long as
 * it is frozen. So the connections opened before the freeze are checked too: each must either answer or be closed
 * (the kill closes the frozen worker's; a client then reconnects), never hang.
 *
 * The busy loop is started from outside, with no hook in dnscdn: SIGUSR1 opens Node's own inspector in the worker
 * and a `Runtime.evaluate` of `for(;;){}` over its WebSocket runs on the worker's main thread. Its port: with
 * `--inspect-port=BASE` in NODE_OPTIONS (this test only) node:cluster gives worker N the port BASE + N (port 0
 * cannot be used: cluster would compute 0 + N). BASE is drawn below Linux's ephemeral range (32768-60999), where
 * the other tests' port-0 listeners are not, and the inspector binds it only when it is signalled.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, frameForTcp } from '../../src/dns/wire.js';
import { decodeReply, query } from '../dns/query-client.js';
import { queryLogLines, startDnsFromFile, type DnsFromFile } from './dns-cli.js';
import { alive } from './pids.js';
import { scrapeMetrics } from './prometheus-scrape.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-liveness-'));
const INTERVAL_MS = 300;
const MISSES = 2;
/**
 * From the freeze to a new worker answering: the pings (interval x (misses + 1), the first round may begin just
 * after the freeze), the first restart's 100 ms back-off, a worker's start (zones loaded, sockets bound: ~0.3 s
 * idle), and slack for a shared 2-core machine under the whole suite.
 */
const REPLACED_WITHIN_MS = INTERVAL_MS * (MISSES + 1) + 100 + 8_000;
const INSPECT_BASE = 20_000 + Math.floor(Math.random() * 10_000);
let dns: DnsFromFile;
const faulted: number[] = [];

interface HealthBody {
  workers: Array<{ id: number; pid: number; ready: boolean }>;
}

async function healthz(): Promise<HealthBody> {
  return JSON.parse((await run('curl', ['-sf', `${dns.admin}/healthz`])).stdout) as HealthBody;
}

beforeAll(async () => {
  const file = join(dir, 'dnscdn.yaml');
  writeFileSync(
    file,
    `dns:
  listen: 127.0.0.1:0
  zones: ${resolve('zones')}
  workers: 2
  queryLogSample: 1
  workerLiveness: { interval: ${INTERVAL_MS}ms, misses: ${MISSES} }
edges: {}
`,
  );
  dns = await startDnsFromFile(file, ['--admin-listen', '127.0.0.1:0'], { NODE_OPTIONS: `--inspect-port=${INSPECT_BASE}` });
});
afterAll(async () => {
  // A faulted worker still there (the test failed) would hold up the primary's orderly stop: end it first.
  for (const pid of faulted) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (dns && dns.child.exitCode === null) {
    const exited = once(dns.child, 'exit');
    dns.child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** `count` SOA queries in one dig (-f: a batch file), over UDP or TCP; resolves with the answers dig printed. */
async function digBatch(count: number, transport: 'udp' | 'tcp'): Promise<string[]> {
  const batch = join(dir, 'batch.txt');
  writeFileSync(batch, 'cdn.test SOA\n'.repeat(count));
  const args = ['@127.0.0.1', '-p', String(dns.port), '+short', '+time=2', '+tries=1', ...(transport === 'tcp' ? ['+tcp'] : []), '-f', batch];
  const { stdout } = await run('dig', args).catch((err: { stdout: string }) => err);
  return stdout.split('\n').filter((l) => l !== '');
}

/** A TCP connection kept open, as a resolver keeps one (RFC 7766), asked one question at a time. */
class KeptConnection {
  private buf = Buffer.alloc(0);
  private waiting: ((outcome: 'answered' | 'closed') => void) | undefined;
  closed = false;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      if (this.buf.length >= 2 && this.buf.length >= this.buf.readUInt16BE(0) + 2) {
        decodeReply(this.buf.subarray(2, this.buf.readUInt16BE(0) + 2));
        this.buf = Buffer.alloc(0);
        this.settle('answered');
      }
    });
    socket.on('error', () => undefined); // a reset ends in 'close' too
    socket.on('close', () => {
      this.closed = true;
      this.settle('closed');
    });
  }

  static async open(port: number): Promise<KeptConnection> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new KeptConnection(socket);
  }

  /** Asks once: answered, closed by the server, or 'hung' after `timeoutMs` with neither. */
  ask(timeoutMs: number): Promise<'answered' | 'closed' | 'hung'> {
    if (this.closed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve('hung');
      }, timeoutMs);
      this.waiting = (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
      this.socket.write(frameForTcp(encodeMessage(query('cdn.test', 'SOA'))));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private settle(outcome: 'answered' | 'closed'): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.(outcome);
  }
}

/** Waits until `victim` is gone and two other workers are ready; resolves with them. */
async function replaced(victim: number): Promise<HealthBody['workers']> {
  await expect
    .poll(async () => (await healthz()).workers.filter((w) => w.ready && w.pid !== victim).length, { timeout: REPLACED_WITHIN_MS, interval: 100 })
    .toBe(2);
  expect(alive(victim)).toBe(false);
  return (await healthz()).workers;
}

/** 50 queries over UDP and 50 over TCP, every one answered; the query log names which workers answered. */
async function everyQueryAnswered(): Promise<Set<string>> {
  const from = queryLogLines(dns.stderr()).length;
  const udp = await digBatch(50, 'udp');
  const tcp = await digBatch(50, 'tcp');
  for (const answers of [udp, tcp]) {
    expect(answers).toHaveLength(50);
    for (const a of answers) expect(a).toMatch(/^\S+ \S+ \d+ \d+ \d+ \d+ \d+$/); // an SOA, not ";; communications error"
  }
  return new Set(queryLogLines(dns.stderr()).slice(from).map((l) => l.worker!));
}

describe('dnscdn dns --workers 2: a worker that stops answering is killed and replaced', () => {
  it('a worker frozen by SIGSTOP: killed after the missed pings, restarted; its kept TCP connections close instead of hanging', async () => {
    expect(dns.stderr()).toMatch(/dns workers started workers=2 socket=\w+ listen=\S+ liveness="300ms x 2"/);
    const before = await healthz();
    expect(before.workers.filter((w) => w.ready)).toHaveLength(2);
    // Four kept connections, opened one after the other: node:cluster hands them to the two workers in turn.
    const kept = await Promise.all([0, 1, 2, 3].map(() => KeptConnection.open(dns.port)));
    for (const c of kept) expect(await c.ask(2_000)).toBe('answered');
    const victim = before.workers[0]!;
    faulted.push(victim.pid);
    process.kill(victim.pid, 'SIGSTOP');

    const after = await replaced(victim.pid);
    expect(dns.stderr()).toMatch(new RegExp(`dns worker unresponsive: killed, and it is restarted worker=${victim.id} pid=${victim.pid} reason=unresponsive missed=${MISSES}`));
    expect(dns.stderr()).toMatch(new RegExp(`dns worker died; the others keep answering, and it is restarted worker=${victim.id} pid=${victim.pid} exit=SIGKILL reason=unresponsive`));
    const fresh = after.find((w) => !before.workers.some((b) => b.id === w.id))!;
    expect(fresh.id).toBe(3);

    // The kept connections: the frozen worker's were closed by its death (a client reconnects); none hangs.
    const outcomes = await Promise.all(kept.map((c) => c.ask(2_000)));
    for (const c of kept) c.close();
    expect(outcomes).not.toContain('hung');
    expect(outcomes).toContain('closed');
    expect(outcomes).toContain('answered');

    // Every query answered again, over UDP and TCP, and the new worker among those answering.
    let answering = new Set<string>();
    for (let i = 0; i < 5 && !answering.has(String(fresh.id)); i++) answering = new Set([...answering, ...(await everyQueryAnswered())]);
    expect(answering).toContain(String(fresh.id));
    expect(answering).not.toContain(String(victim.id));
    const m = await scrapeMetrics(`${dns.admin}/metrics`);
    expect(m.get('dnscdn_dns_worker_restarts_total{reason="unresponsive",role="dns"}')).toBe(1);
    expect(m.get('dnscdn_dns_worker_restarts_total{reason="exited",role="dns"}')).toBe(0);
    expect(m.get('dnscdn_dns_workers{role="dns"}')).toBe(2);
  });

  it('a worker whose event loop is blocked by a busy loop: caught the same way', async () => {
    const before = await healthz();
    const victim = before.workers.find((w) => w.ready)!;
    faulted.push(victim.pid);
    const inspectors = (): string[] => [...dns.stderr().matchAll(/Debugger listening on (ws:\/\/\S+)/g)].map((m) => m[1]!);
    const known = inspectors().length;
    process.kill(victim.pid, 'SIGUSR1');
    await expect.poll(() => inspectors().length, { timeout: 5_000 }).toBe(known + 1);
    await blockEventLoop(inspectors()[known]!);

    await replaced(victim.pid);
    expect(dns.stderr()).toMatch(new RegExp(`dns worker unresponsive: killed, and it is restarted worker=${victim.id} pid=${victim.pid} reason=unresponsive`));
    await everyQueryAnswered();
    const m = await scrapeMetrics(`${dns.admin}/metrics`);
    expect(m.get('dnscdn_dns_worker_restarts_total{reason="unresponsive",role="dns"}')).toBe(2);
  });
});

/**
 * Runs `for(;;){}` on the main thread of the process whose inspector listens at `url` (Chrome DevTools Protocol,
 * Runtime.evaluate). Node 20 has a WebSocket client only behind --experimental-websocket, hence a child node.
 * The evaluation never returns: the child exits once the message is sent.
 */
async function blockEventLoop(url: string): Promise<void> {
  const script = `const ws = new WebSocket(process.argv[1]);
ws.onopen = () => { ws.send(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: 'for (;;) {}' } })); setTimeout(() => process.exit(0), 200); };
ws.onerror = () => process.exit(1);`;
  const child = spawn(process.execPath, ['--no-warnings', '--experimental-websocket', '-e', script, url], { stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(0);
}
