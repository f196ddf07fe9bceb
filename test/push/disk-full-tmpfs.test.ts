import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../origin/helpers.js';
import { eventually, healthy, runCli, startCli, stopCli, writeDeployment } from './processes.js';
import type { Proc } from './processes.js';

const TOKEN = 'tmpfs-full-token';
const procs: Proc[] = [];
const mounts: string[] = [];

afterAll(async () => {
  for (const p of procs) await stopCli(p, 'SIGKILL');
  for (const m of mounts) spawnSync('umount', ['-l', m]);
});

/** A real 2 MiB tmpfs: this test needs root (mount), and fails rather than skips without it. */
async function smallTmpfs(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

/** Fills the filesystem with `dd` until it reports "No space left", as an operator's runaway log would. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const r = spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { encoding: 'utf8' });
  expect(r.stderr).toContain('No space left on device');
  return filler;
}

describe('the journal and an edge replica on a full tmpfs (issue 10 item 4, real processes)', () => {
  it('every acknowledged push or purge survives a kill -9 and restart; a full edge stays behind, then catches up', { timeout: 90_000 }, async () => {
    const dir = await tempDir('tmpfs-full');
    const journalDir = await smallTmpfs(join(dir, 'state', 'journal'));
    const edgesDir = await smallTmpfs(join(dir, 'state', 'edges'));
    await mkdir(join(dir, 'content'));
    for (let i = 0; i < 5; i++) await writeFile(join(dir, 'content', `page${i}.html`), `<p>page ${i}</p>`);
    const dep = await writeDeployment(dir, TOKEN);
    const start = (args: string[]): Proc => {
      const p = startCli(args);
      procs.push(p);
      return p;
    };
    let origin = start(['origin', '--config', dep.file]);
    const edge = start(['edge', '--config', dep.file, '--name', 'e1']);
    await eventually(() => healthy(dep.originUrl), 30_000, () => origin.output());
    await eventually(() => healthy(dep.edgeUrls[0]!), 30_000, () => edge.output());

    const acknowledged: number[] = [];
    const refused: number[] = [];
    const admin = async (route: string, body: object): Promise<void> => {
      const r = await fetch(dep.originAdminUrl + route, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await r.text();
      if (r.status === 200) for (const op of (JSON.parse(text) as { ops: Array<{ seq: number }> }).ops) acknowledged.push(op.seq);
      else refused.push(r.status);
    };
    const status = async (): Promise<string> => (await runCli(['status', '--admin-url', dep.originAdminUrl, '--token', TOKEN])).stdout;
    const edgeSeq = (text: string): number => Number(/^e1\t\S+\tyes\t(\d+)/m.exec(text)?.[1] ?? -1);

    for (let i = 0; i < 5; i++) await admin('/.dnscdn/push', { paths: [`/page${i}.html`] });
    expect(acknowledged).toEqual([1, 2, 3, 4, 5]);
    await eventually(async () => edgeSeq(await status()) === 5, 20_000, () => edge.output());

    // The edge's disk fills: a push is still acknowledged by the origin, but the edge cannot store it.
    const edgeFiller = fill(edgesDir);
    await writeFile(join(dir, 'content', 'page0.html'), '<p>page 0, second version</p>');
    await admin('/.dnscdn/push', { paths: ['/page0.html'] });
    expect(acknowledged.at(-1)).toBe(6);
    await new Promise((r) => setTimeout(r, 1500)); // several delivery attempts and catch-up polls
    expect(edgeSeq(await status())).toBe(5);
    await rm(edgeFiller);
    await eventually(async () => edgeSeq(await status()) === 6, 20_000, () => edge.output());

    // The journal's disk fills: pushes and purges (no body, so only the journal record needs room) are
    // acknowledged only while their record fits whole; the rest are refused with 507.
    const journalFiller = fill(journalDir);
    for (let i = 0; i < 40; i++) await admin('/.dnscdn/purge', { target: `/gone-${i}.html` });
    await admin('/.dnscdn/push', { paths: ['/page1.html'] });
    expect(refused.length).toBeGreaterThan(0);
    await rm(journalFiller);
    for (let i = 0; i < 10; i++) await admin('/.dnscdn/purge', { target: `/later-${i}.html` });
    const last = acknowledged.at(-1)!;
    expect(acknowledged).toEqual(Array.from({ length: last }, (_, i) => i + 1)); // no number skipped or reused
    expect(new Set(refused)).toEqual(new Set([507])); // Insufficient Storage: a 5xx the publisher retries

    // kill -9 and restart: every acknowledged operation is still there, and the edge agrees.
    origin.child.kill('SIGKILL');
    await origin.exited;
    origin = start(['origin', '--config', dep.file]);
    await eventually(() => healthy(dep.originUrl), 30_000, () => origin.output());
    let text = '';
    await eventually(
      async () => {
        text = await status();
        return text.includes(`journal: last seq ${last},`) && edgeSeq(text) === last;
      },
      20_000,
      () => `${text}\n${origin.output()}`,
    );
    await admin('/.dnscdn/purge', { target: '/after-restart.html' });
    expect(acknowledged.at(-1)).toBe(last + 1);
  });
});
