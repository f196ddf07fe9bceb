/**
 * What an edge with workers answers as one host: `/metrics` counts every worker, a push or purge acknowledged is
 * in effect at every worker, and the admin port belongs to the primary (a restarted primary is never refused it
 * by a worker left over from the one before), and a frozen worker is killed and replaced (liveness ping).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStream } from '../../src/distribution/frames.js';
import type { Operation } from '../../src/distribution/operations.js';
import { eventually, startCli, stopCli, type Proc } from '../push/processes.js';
import { fixed, request, startOrigin, type TestOrigin } from '../edge/harness.js';
import { freePortOn, privateLoopback } from '../net/loopback.js';
import { scrapeMetrics } from './prometheus-scrape.js';
import { alive } from './pids.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TOKEN = 'workers-admin-token';
/** Requests per check, each on a fresh connection: node:cluster hands them to both workers in turn. */
const REQUESTS = 40;

async function childPids(pid: number): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-P', String(pid)]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean).map(Number);
}

function startWorkers(args: string[]): Proc {
  return startCli(['edge', '--token', TOKEN, '--workers', '2', ...args]);
}

async function listening(edge: Proc): Promise<{ url: string; admin: string }> {
  let m: RegExpExecArray | null = null;
  await eventually(async () => (m = /listening on (http:\/\/[^\s,]+), admin (http:\/\/[^\s,]+)/.exec(edge.output())) !== null, 20_000, () => edge.output());
  const [, url, admin] = m as unknown as [string, string, string];
  return { url, admin };
}

/** One batch of journal frames, as the distribution node POSTs it to an edge's replica route. */
async function replicate(admin: string, op: Operation, body?: Buffer): Promise<void> {
  const frames = encodeStream([{ kind: 'op', op, body }]);
  const r = await request(admin, '/.dnscdn/replica', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: frames.toString('latin1') });
  expect(r.status, r.body).toBe(200);
  expect((JSON.parse(r.body) as { lastSeq: number }).lastSeq).toBe(op.seq);
}

describe('dnscdn edge --workers 2: one host on the admin listener', () => {
  let origin: TestOrigin;
  let edge: Proc;
  let url = '';
  let admin = '';
  let stateDir = '';
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'dnscdn-workers-'));
    origin = await startOrigin();
    // After a purge the origin's answer is not stored, so every request after it must reach the origin.
    origin.on('/pushed.txt', fixed(200, { 'cache-control': 'no-store' }, 'from the origin'));
    edge = startWorkers(['--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--origin', origin.url, '--state-dir', stateDir]);
    ({ url, admin } = await listening(edge));
  });
  afterAll(async () => {
    await stopCli(edge);
    await origin.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('/metrics counts the requests of both workers', async () => {
    const before = (await scrapeMetrics(`${admin}/metrics`)).get('dnscdn_edge_health_probes_total{role="edge",edge="dnscdn"}') ?? 0;
    for (let i = 0; i < REQUESTS; i++) expect((await request(url, '/healthz')).status).toBe(200);
    const m = await scrapeMetrics(`${admin}/metrics`);
    // Each worker answers its share of the probes itself: worker 0's registry alone would show about half.
    expect(m.get('dnscdn_edge_health_probes_total{role="edge",edge="dnscdn"}')! - before).toBe(REQUESTS);
    expect(m.get('dnscdn_edge_workers{role="edge",edge="dnscdn"}')).toBe(2);
    // A gauge each worker sets to 1 is not summed to 2.
    expect([...m].find(([k]) => k.startsWith('dnscdn_edge_cache_policy_info'))?.[1]).toBe(1);
  });

  it('a push is acknowledged once every worker applied it: then a HIT at every worker; a purge likewise', async () => {
    // The later-forked worker is frozen while the batch arrives: the acknowledgement must wait for it (a
    // worker that applies later could serve a MISS, or a purged copy, after the push was acknowledged).
    const pids = await childPids(edge.child.pid!);
    const frozen = Math.max(...pids);
    const acknowledgedOnlyAfterThaw = async (ack: Promise<void>): Promise<void> => {
      let acknowledged = false;
      const done = ack.then(() => void (acknowledged = true));
      try {
        // Long enough for the other worker to apply and answer many times over; well under the relay timeout (5 s).
        await new Promise((r) => setTimeout(r, 1000));
        expect(acknowledged).toBe(false);
      } finally {
        process.kill(frozen, 'SIGCONT');
      }
      await done;
    };
    const body = Buffer.alloc(64 * 1024, 'p');
    const sha256 = createHash('sha256').update(body).digest('hex');
    process.kill(frozen, 'SIGSTOP');
    await acknowledgedOnlyAfterThaw(replicate(admin, { kind: 'put', seq: 1, time: Date.now(), path: '/pushed.txt', status: 200, etag: '"p1"', headers: { 'content-type': 'text/plain', 'cache-control': 'public, max-age=300' }, sha256, length: body.length }, body));
    const hits = await Promise.all(Array.from({ length: REQUESTS }, () => request(url, '/pushed.txt')));
    expect(hits.map((r) => `${r.status} ${String(r.headers['x-cache'])} ${r.body.length}`)).toEqual(Array(REQUESTS).fill(`200 HIT ${body.length}`));
    expect(origin.count('/pushed.txt')).toBe(0);

    process.kill(frozen, 'SIGSTOP');
    await acknowledgedOnlyAfterThaw(replicate(admin, { kind: 'purge', seq: 2, time: Date.now(), target: { type: 'url', path: '/pushed.txt' } }));
    const misses = await Promise.all(Array.from({ length: REQUESTS }, () => request(url, '/pushed.txt')));
    // MISS, or PASS once the edge learnt that the origin's answer is not stored: never the purged copy.
    expect(misses.map((r) => `${r.status} ${r.headers['x-cache'] === 'HIT' ? 'HIT' : 'not cached'} ${r.body}`)).toEqual(Array(REQUESTS).fill('200 not cached from the origin'));
  });

  it('a frozen worker is found by the liveness ping, killed and started again; every request then succeeds', async () => {
    // Without the check a SIGSTOPped worker keeps the connections node:cluster hands it, and stalls them.
    const frozen = Math.max(...(await childPids(edge.child.pid!)));
    const restarts = 'dnscdn_edge_worker_restarts_total{reason="unresponsive",role="edge",edge="dnscdn"}';
    const workersGauge = 'dnscdn_edge_workers{role="edge",edge="dnscdn"}';
    process.kill(frozen, 'SIGSTOP');
    try {
      // 1 s x 3 misses to find it, then the restart and the new worker's start.
      await eventually(async () => {
        const m = await scrapeMetrics(`${admin}/metrics`);
        return m.get(restarts) === 1 && m.get(workersGauge) === 2;
      }, 20_000, () => edge.output());
    } finally {
      if (alive(frozen)) process.kill(frozen, 'SIGCONT');
    }
    expect(alive(frozen)).toBe(false);
    expect(edge.output()).toContain('edge worker unresponsive: killed');
    const after = await Promise.all(Array.from({ length: REQUESTS }, () => request(url, '/healthz')));
    expect(after.map((r) => r.status)).toEqual(Array(REQUESTS).fill(200));
  });
});

describe('dnscdn edge --workers 2: a restarted primary', () => {
  it('binds its admin port even while a worker of the killed primary still runs', async () => {
    const host = privateLoopback();
    const [port, adminPort] = [await freePortOn(host), await freePortOn(host)];
    const origin = await startOrigin();
    origin.on('/a', fixed(200, { 'cache-control': 'public, max-age=60' }, 'a'));
    const args = ['--listen', `${host}:${port}`, '--admin-listen', `${host}:${adminPort}`, '--origin', origin.url];
    const old = startWorkers(args);
    let next: Proc | undefined;
    let leftovers: number[] = [];
    try {
      await listening(old);
      leftovers = await childPids(old.child.pid!);
      expect(leftovers).toHaveLength(2);
      // Frozen, the old workers keep whatever they hold for as long as this test needs (a slow shutdown, a stuck
      // catch-up request): the new primary must not need anything of theirs.
      for (const pid of leftovers) process.kill(pid, 'SIGSTOP');
      await stopCli(old, 'SIGKILL');
      next = startWorkers(args);
      const { url, admin } = await listening(next);
      expect(admin).toBe(`http://${host}:${adminPort}`);
      expect((await request(url, '/a')).body).toBe('a');
      expect((await request(admin, '/healthz')).status).toBe(200);
    } finally {
      for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGKILL');
      if (next) await stopCli(next);
      await origin.close();
    }
  });
});
