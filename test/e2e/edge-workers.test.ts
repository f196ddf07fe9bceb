/**
 * `dnscdn edge --workers 2`: two worker processes share the public port (node:cluster) and one cache ring
 * (peer fill over loopback), so an object is fetched from the origin once per host, not once per worker.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startCli, stopCli, type Proc } from '../push/processes.js';
import { fixed, request, startOrigin, type TestOrigin } from '../edge/harness.js';
import { scrapeMetrics } from './prometheus-scrape.js';
import { alive } from './pids.js';

const run = promisify(execFile);
const OBJECTS = 40;

async function childPids(pid: number): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-P', String(pid)]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean).map(Number);
}

describe('dnscdn edge --workers 2', () => {
  let origin: TestOrigin;
  let edge: Proc;
  let url = '';
  let admin = '';
  beforeAll(async () => {
    origin = await startOrigin();
    for (let i = 0; i < OBJECTS; i++) origin.on(`/w/${i}`, fixed(200, { 'cache-control': 'public, max-age=300' }, `w${i}`));
    edge = startCli(['edge', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--origin', origin.url, '--admin-token', 'workers-test-token', '--workers', '2']);
    let m: RegExpExecArray | null = null;
    await eventually(async () => (m = /listening on (http:\/\/[^\s,]+), admin (http:\/\/[^\s,]+)/.exec(edge.output())) !== null, 15_000, () => edge.output());
    [, url, admin] = m as unknown as string[] as [string, string, string];
  });
  afterAll(async () => {
    await stopCli(edge);
    await origin.close();
  });

  it('runs two workers that both serve and share keys: the origin sees each object once', async () => {
    expect(await childPids(edge.child.pid!)).toHaveLength(2);
    // Fresh connections, so node:cluster hands them to both workers in turn; each object asked four times.
    for (let round = 0; round < 4; round++) {
      const replies = await Promise.all(Array.from({ length: OBJECTS }, (_, i) => request(url, `/w/${i}`)));
      replies.forEach((r, i) => expect([r.status, r.body]).toEqual([200, `w${i}`]));
    }
    for (let i = 0; i < OBJECTS; i++) expect(origin.count(`/w/${i}`), `/w/${i}`).toBe(1);
    // Worker 0's counters (the admin listener is worker 0's): it owned some keys and asked worker 1 for others.
    const m = await scrapeMetrics(`${admin}/metrics`);
    const count = (kind: string): number => [...m].filter(([k]) => k.includes('dnscdn_edge_ring_fills_total') && k.includes('tier="workers"') && k.includes(`kind="${kind}"`)).reduce((a, [, v]) => a + v, 0);
    expect(count('own')).toBeGreaterThan(0);
    expect(count('forward')).toBeGreaterThan(0);
  });

  it('a worker killed with -9 is started again, and every request after the primary noticed succeeds', async () => {
    const [first] = await childPids(edge.child.pid!);
    process.kill(first!, 'SIGKILL');
    // node:cluster's primary may hand a connection to the worker in the instant it dies, before its exit
    // event: that connection is lost, as a crashed process's own connections are. Requests start once it knows.
    await eventually(async () => !alive(first!) && (await childPids(edge.child.pid!)).length === 2, 10_000, () => edge.output());
    const statuses: number[] = [];
    for (let n = 0; n < 60; n++) statuses.push(await request(url, `/w/${n % OBJECTS}`).then((r) => r.status, () => 0));
    expect(statuses.every((s) => s === 200)).toBe(true);
  });
});
