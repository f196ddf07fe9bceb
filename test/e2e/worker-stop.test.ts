/**
 * Stopping a role whose worker cannot run its SIGTERM handler (src/cluster/terminate.ts): one of two workers
 * is stopped with SIGSTOP, then the primary gets SIGTERM, as a supervisor sends it. The primary must kill that
 * worker after the grace period and exit, never wait for it for ever. A SIGSTOPped process is the worst case
 * of a stuck worker: like one spinning in a busy loop it never runs the handler, and it also answers no ping.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { STOP_GRACE_MS } from '../../src/cluster/terminate.js';
import { eventually, startCli, type Proc } from '../push/processes.js';
import { fixed, startOrigin, type TestOrigin } from '../edge/harness.js';
import { alive } from './pids.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-worker-stop-'));
const started: Proc[] = [];
const frozenPids: number[] = [];
let origin: TestOrigin | undefined;

afterAll(async () => {
  // After a failure: the frozen worker first (SIGKILL ends a stopped process too), then its primary.
  for (const pid of frozenPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await origin?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function childPids(pid: number): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-P', String(pid)]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean).map(Number);
}

/**
 * Waits for two workers, freezes one, stops the primary, and checks that it exited only after the grace period,
 * with the frozen worker killed and the kill logged.
 */
async function expectStopPastFrozenWorker(p: Proc, role: 'dns' | 'edge'): Promise<void> {
  await eventually(async () => (await childPids(p.child.pid!)).length === 2 && /listening/.test(p.output()), 20_000, () => p.output());
  const [frozen] = await childPids(p.child.pid!);
  frozenPids.push(frozen!);
  process.kill(frozen!, 'SIGSTOP');
  const t0 = Date.now();
  p.child.kill('SIGTERM');
  await p.exited;
  expect(Date.now() - t0).toBeGreaterThanOrEqual(STOP_GRACE_MS - 100);
  expect(alive(frozen!)).toBe(false);
  expect(p.output()).toMatch(new RegExp(`${role} worker did not stop within the grace period; killed`));
}

describe('a primary stops even when a worker cannot', () => {
  it('dnscdn dns --workers 2 kills the stuck worker after the grace period and exits', async () => {
    const file = join(dir, 'dns.yaml');
    // Liveness off: the stop path alone must end the frozen worker.
    writeFileSync(file, `dns:\n  listen: 127.0.0.1:0\n  zones: ${resolve('zones')}\n  workers: 2\n  workerLiveness: { interval: 0ms }\nedges: {}\n`);
    const dns = startCli(['dns', '--config', file], { DNSCDN_LOG: 'info' });
    started.push(dns);
    await expectStopPastFrozenWorker(dns, 'dns');
  }, STOP_GRACE_MS + 40_000);

  it('dnscdn edge --workers 2 does the same', async () => {
    origin = await startOrigin();
    origin.on('/x', fixed(200, { 'cache-control': 'max-age=60' }, 'x'));
    const edge = startCli(['edge', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--origin', origin.url, '--workers', '2'], { DNSCDN_LOG: 'info' });
    started.push(edge);
    await expectStopPastFrozenWorker(edge, 'edge');
  }, STOP_GRACE_MS + 40_000);
});
