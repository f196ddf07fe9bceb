import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanJournal } from '../../src/distribution/journal-format.js';
import { tempDir } from '../origin/helpers.js';
import { eventually, healthy, runCli, startCli, stopCli, writeDeployment } from './processes.js';
import type { DeploymentFile, Proc } from './processes.js';

const TOKEN = 'journal-damage-token';
const FILES = 49;
const procs: Proc[] = [];

afterAll(async () => {
  for (const p of procs) await stopCli(p, 'SIGKILL');
});

const sha = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

function start(args: string[]): Proc {
  const p = startCli(args);
  procs.push(p);
  return p;
}

async function startOrigin(dep: DeploymentFile): Promise<Proc> {
  const origin = start(['origin', '--config', dep.file]);
  await eventually(() => healthy(dep.originUrl), 30_000, () => origin.output());
  return origin;
}

async function killHard(p: Proc): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

/** Pushes `batches` x 49 files; resolves with the last acknowledged sequence. */
async function pushMany(dep: DeploymentFile, batches: number): Promise<number> {
  let last = 0;
  for (let b = 0; b < batches; b++) {
    const paths = Array.from({ length: FILES }, (_, i) => `/f${i}.html`);
    const r = await fetch(`${dep.originAdminUrl}/.dnscdn/push`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ paths }) });
    const text = await r.text();
    expect(r.status, text).toBe(200);
    last = (JSON.parse(text) as { ops: Array<{ seq: number }> }).ops.at(-1)!.seq;
  }
  return last;
}

const status = (dep: DeploymentFile): Promise<{ stdout: string; code: number | null }> => runCli(['status', '--admin-url', dep.originAdminUrl, '--token', TOKEN]);
const edgeSeqs = (text: string): number[] => [...text.matchAll(/^e\d\t\S+\tyes\t(\d+)/gm)].map((m) => Number(m[1]));

async function allEdgesAt(dep: DeploymentFile, seq: number): Promise<void> {
  let text = '';
  await eventually(
    async () => {
      text = (await status(dep)).stdout;
      const seqs = edgeSeqs(text);
      return seqs.length === 3 && seqs.every((s) => s === seq);
    },
    30_000,
    () => text,
  );
}

describe('a damaged origin journal, with real processes (issue 10 item 3)', () => {
  it('980 pushes, one flipped byte in seq 490, kill -9: the origin refuses to start and keeps the file; verify and repair recover without reissuing a sequence', { timeout: 120_000 }, async () => {
    const dir = await tempDir('journal-damage-e2e');
    await mkdir(join(dir, 'content'));
    for (let i = 0; i < FILES; i++) await writeFile(join(dir, 'content', `f${i}.html`), `<p>file ${i}</p>`);
    const dep = await writeDeployment(dir, TOKEN);
    const journal = join(dir, 'state', 'journal', 'journal');
    let origin = await startOrigin(dep);
    for (let i = 0; i < 3; i++) {
      const e = start(['edge', '--config', dep.file, '--name', `e${i + 1}`]);
      await eventually(() => healthy(dep.edgeUrls[i]!), 30_000, () => e.output());
    }
    expect(await pushMany(dep, 20)).toBe(980);
    await allEdgesAt(dep, 980);

    // Flip one byte in the middle of the record for seq 490, then kill the origin hard.
    const rec = scanJournal(await readFile(journal)).records.find((r) => r.record.seq === 490)!;
    const bytes = await readFile(journal);
    bytes[(rec.offset + rec.end) >> 1] ^= 0x01;
    await writeFile(journal, bytes);
    await killHard(origin);
    const before = await sha(journal);

    const refused = await runCli(['origin', '--config', dep.file], 15_000);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain(`${journal}: damaged record at byte ${rec.offset}`);
    expect(refused.stderr).toContain('seq 490 unreadable');
    expect(refused.stderr).toContain('dnscdn journal repair');
    expect(await sha(journal)).toBe(before);

    const verify = await runCli(['journal', 'verify', '--config', dep.file]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`${journal}: DAMAGED`);
    expect(verify.stdout).toContain(`damaged record at byte ${rec.offset}`);
    expect(verify.stdout).toContain('high-water mark: 980');

    const repair = await runCli(['journal', 'repair', '--config', dep.file]);
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stdout).toContain('the next operation is seq 981');
    expect(repair.stdout).toContain('lost operations: seq 490');
    expect(repair.stdout).toMatch(/previous file kept as .*journal\.damaged-/);
    expect((await runCli(['journal', 'verify', '--config', dep.file])).code).toBe(0);

    // The repaired origin continues at 981, and every edge applies it (no edge skips it as a repeat).
    origin = await startOrigin(dep);
    const s = await status(dep);
    expect(s.stdout).toContain('journal: last seq 980,');
    expect(s.code).toBe(0);
    expect(await pushMany(dep, 1)).toBe(1029);
    await allEdgesAt(dep, 1029);

    // The journal folder is lost altogether (a replaced disk): the origin starts a new journal, and every
    // edge is ahead of it. status says so loudly, and the metric shows by how much; never "lag 0".
    await killHard(origin);
    await rm(join(dir, 'state', 'journal'), { recursive: true });
    origin = await startOrigin(dep);
    let metrics = '';
    await eventually(
      async () => {
        metrics = await (await fetch(`${dep.originAdminUrl}/metrics`)).text();
        return /dnscdn_distribution_peer_ahead_ops\{peer="e3",role="origin"\} 1029/.test(metrics);
      },
      20_000,
      () => metrics,
    );
    const ahead = await status(dep);
    expect(ahead.code).toBe(1);
    expect(ahead.stdout).toMatch(/^e1\t\S+\tyes\t1029\tAHEAD\+1029\t-$/m);
    expect(ahead.stdout).toContain("ERROR e1: peer has applied seq 1029, beyond the journal's last seq 0");
    // A push now would get seq 1, which every edge skips as a repeat: it is refused instead of acknowledged.
    const refusedPush = await fetch(`${dep.originAdminUrl}/.dnscdn/push`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ paths: ['/f1.html'] }) });
    expect(refusedPush.status).toBe(503);
    expect(await refusedPush.text()).toMatch(/not journaled.*journal repair --min-seq 1029/);

    // The way out: repair above what the edges report; new operations then reach them.
    await killHard(origin);
    expect((await runCli(['journal', 'repair', '--config', dep.file, '--min-seq', '1029'])).code).toBe(0);
    origin = await startOrigin(dep);
    expect(await pushMany(dep, 1)).toBe(1078);
    await allEdgesAt(dep, 1078);
  });
});
