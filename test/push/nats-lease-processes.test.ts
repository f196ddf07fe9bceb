/**
 * One publisher per stream, with real processes: three clustered `nats-server -js`, two `dnscdn origin` processes
 * from one deployment file (the second on addresses of its own, as on a second host), one edge, and the CLI.
 * - While the first origin holds the publisher lease, the second refuses push with 503 naming the holder.
 * - A frozen holder (SIGSTOP: alive, silent) is taken over once its lease goes unrenewed; when it wakes it
 *   refuses to publish (the stream's expected sequence fences it), and no acknowledged operation is lost.
 * - kill -9 of the holder: the other origin takes over (on the same machine it sees the process gone at once).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCluster } from '../distribution/nats-servers.js';
import { freePortOn, privateLoopback } from '../net/loopback.js';
import { tempDir } from '../origin/helpers.js';
import { CLI, eventually, healthy, runCli, startCli, stopCli, writeDeployment } from './processes.js';
import type { DeploymentFile, Proc } from './processes.js';

const TOKEN = 'nats-lease-token';
const LEASE_MS = 2000;
let servers: NatsCluster;
let nc: NatsConnection;
let dep: DeploymentFile;
let dir: string;
const procs: Proc[] = [];
/** The two origins: [0] from the file's addresses, [1] on its own. */
const origins: Array<{ proc: Proc; url: string; admin: string }> = [];

function start(args: string[]): Proc {
  const p = startCli(args);
  procs.push(p);
  return p;
}

async function push(admin: string, paths: string[]): Promise<{ status: number; text: string }> {
  const r = await fetch(`${admin}/.dnscdn/push`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ paths }), signal: AbortSignal.timeout(15_000) });
  return { status: r.status, text: await r.text() };
}

function seqOf(answer: { text: string }): number {
  return (JSON.parse(answer.text) as { ops: Array<{ seq: number }> }).ops.at(-1)!.seq;
}

async function leaseGauge(admin: string): Promise<string | undefined> {
  const text = await (await fetch(`${admin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(15_000) })).text();
  return /^dnscdn_nats_publisher_lease_held(?:\{[^}]*\})? (\d)/m.exec(text)?.[1];
}

async function streamLastSeq(): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info('DNSCDN')).state.last_seq;
}

/** Pushes through `admin` until one is published (the origin took the lease over); its sequence. */
async function pushOnceTakenOver(admin: string, path: string, timeoutMs: number): Promise<number> {
  let last = { status: 0, text: '' };
  await eventually(
    async () => {
      last = await push(admin, [path]);
      return last.status === 200;
    },
    timeoutMs,
    () => `last answer ${last.status} ${last.text}\n${origins.map((o) => o.proc.output().slice(-1500)).join('\n')}`,
  );
  return seqOf(last);
}

beforeAll(async () => {
  expect(existsSync(CLI.replace(/bin[/\\]dnscdn\.js$/, 'dist/cli.js')), 'run `npm run build` first (npm test does)').toBe(true);
  servers = await NatsCluster.start(3);
  nc = await connect({ servers: servers.servers });
  dir = await tempDir('nats-lease');
  await mkdir(join(dir, 'content'), { recursive: true });
  for (let i = 0; i < 4; i++) await writeFile(join(dir, 'content', `page${i}.html`), `<p>page ${i}</p>`);
  dep = await writeDeployment(dir, TOKEN, { nats: { servers: servers.servers, publisherLease: `${LEASE_MS}ms` }, edges: 1 });
  origins.push({ proc: start(['origin', '--config', dep.file]), url: dep.originUrl, admin: dep.originAdminUrl });
  await eventually(() => healthy(dep.originUrl), 30_000, () => origins[0]!.proc.output());
  const [host, adminHost] = [privateLoopback(), privateLoopback()];
  const second = { url: `http://${host}:${await freePortOn(host)}`, admin: `http://${adminHost}:${await freePortOn(adminHost)}` };
  const listen = (u: string): string => new URL(u).host;
  origins.push({ proc: start(['origin', '--config', dep.file, '--listen', listen(second.url), '--admin-listen', listen(second.admin)]), ...second });
  await eventually(() => healthy(second.url), 30_000, () => origins[1]!.proc.output());
  const edge = start(['edge', '--config', dep.file, '--name', 'e1']);
  await eventually(() => healthy(dep.edgeUrls[0]!), 30_000, () => edge.output());
}, 60_000);

afterAll(async () => {
  for (const p of procs) {
    if (p.child.signalCode === null && p.child.exitCode === null) p.child.kill('SIGCONT');
    await stopCli(p);
  }
  await nc?.close();
  await servers?.stop();
}, 30_000);

describe('one publisher per NATS stream (publisher lease), real processes', () => {
  const acked: number[] = [];

  it('while the first origin holds the lease, the second refuses push: 503 naming the holder, and a clear CLI error', { timeout: 60_000 }, async () => {
    const first = origins[0]!;
    const second = origins[1]!;
    const ok = await push(first.admin, ['/page0.html']);
    expect(ok.status, ok.text).toBe(200);
    acked.push(seqOf(ok));
    const refused = await push(second.admin, ['/page1.html']);
    expect(refused.status).toBe(503);
    expect(refused.text).toMatch(new RegExp(`not the publisher of stream DNSCDN: origin \\S+ pid ${first.proc.child.pid} \\(admin ${first.admin}\\)`));
    const cli = await runCli(['push', '--admin-url', second.admin, '--token', TOKEN, '/page1.html'], 20_000);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/POST http:\S+\/\.dnscdn\/push: HTTP 503: not the publisher of stream DNSCDN: origin .* takes over if that lease goes unrenewed for 2 s/);
    expect(await streamLastSeq()).toBe(acked.at(-1));
    expect(await leaseGauge(first.admin)).toBe('1');
    expect(await leaseGauge(second.admin)).toBe('0');
    // dnscdn status answers on the standby too (it reads the consumers, it does not publish).
    const status = await runCli(['status', '--admin-url', second.admin, '--token', TOKEN], 20_000);
    expect(status.stdout).toMatch(new RegExp(`journal: last seq ${acked.at(-1)}`));
  });

  it('a frozen holder is taken over once its lease goes unrenewed; awake again it is refused; no acknowledged operation is lost', { timeout: 60_000 }, async () => {
    const first = origins[0]!;
    const second = origins[1]!;
    for (const p of ['/page1.html', '/page2.html']) {
      const r = await push(first.admin, [p]);
      expect(r.status, r.text).toBe(200);
      acked.push(seqOf(r));
    }
    first.proc.child.kill('SIGSTOP');
    try {
      // Alive but silent: the standby waits for the lease to go unrenewed, it does not take over at once.
      expect((await push(second.admin, ['/page3.html'])).status).toBe(503);
      await writeFile(join(dir, 'content', 'page0.html'), '<p>page 0, second origin</p>');
      acked.push(await pushOnceTakenOver(second.admin, '/page0.html', 6 * LEASE_MS));
    } finally {
      first.proc.child.kill('SIGCONT');
    }
    // Awake, the old holder still believes in its lease until its next renewal; either way it must not publish.
    const late = await push(first.admin, ['/page3.html']);
    expect(late.status, late.text).toBe(503);
    expect(late.text).toMatch(/not the publisher|another origin publishes to it/);
    await eventually(async () => (await leaseGauge(first.admin)) === '0', 10_000, () => first.proc.output());
    expect(await leaseGauge(second.admin)).toBe('1');
    // Every acknowledged operation is in the stream, once, in order; the edge applies all of them.
    expect(new Set(acked).size).toBe(acked.length);
    expect([...acked].sort((a, b) => a - b)).toEqual(acked);
    expect(await streamLastSeq()).toBe(acked.at(-1));
    await eventually(
      async () => (await runCli(['status', '--admin-url', second.admin, '--token', TOKEN], 20_000)).stdout.includes(`e1\tnats consumer DNSCDN/edge-e1\tyes\t${acked.at(-1)}\t0`),
      20_000,
      () => 'edge e1 not at lag 0',
    );
    const body = await (await fetch(`${dep.edgeUrls[0]}/page0.html`, { headers: { 'cache-control': 'only-if-cached' } })).text();
    expect(body).toBe('<p>page 0, second origin</p>');
  });

  it('kill -9 of the holder: the other origin takes over and its pushes reach the edge', { timeout: 30_000 }, async () => {
    const first = origins[0]!;
    const second = origins[1]!;
    second.proc.child.kill('SIGKILL');
    await second.proc.exited;
    await writeFile(join(dir, 'content', 'page1.html'), '<p>page 1, first origin again</p>');
    // On this machine it sees the holder's process gone at its next look; on another it would wait out the lease.
    acked.push(await pushOnceTakenOver(first.admin, '/page1.html', 5 * LEASE_MS));
    expect(await streamLastSeq()).toBe(acked.at(-1));
    await eventually(
      async () => (await (await fetch(`${dep.edgeUrls[0]}/page1.html`, { headers: { 'cache-control': 'only-if-cached' } })).text()) === '<p>page 1, first origin again</p>',
      20_000,
      () => 'edge e1 did not get the push of the new holder',
    );
  });
});
