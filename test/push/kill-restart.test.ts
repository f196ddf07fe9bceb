import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../origin/helpers.js';
import { CLI, eventually, healthy, runCli, startCli, stopCli, writeDeployment } from './processes.js';
import type { Proc } from './processes.js';

const TOKEN = 'kill-restart-token';
const PAGES = 12;
const procs: Proc[] = [];

afterAll(async () => {
  for (const p of procs) await stopCli(p);
});

/** `dnscdn status` as a user sees it: the journal's last sequence and each edge's row. */
function parseStatus(text: string): { journal: number; edges: Array<{ name: string; reachable: string; seq: string }> } {
  const journal = Number(/journal: last seq (\d+)/.exec(text)?.[1] ?? NaN);
  const edges = text
    .split('\n')
    .filter((l) => /^e\d\t/.test(l))
    .map((l) => {
      const [name, , reachable, seq] = l.split('\t');
      return { name: name!, reachable: reachable!, seq: seq! };
    });
  return { journal, edges };
}

async function cached(edgeUrl: string, path: string): Promise<string> {
  const r = await fetch(edgeUrl + path, { headers: { 'cache-control': 'only-if-cached' } });
  await r.arrayBuffer();
  return r.status === 200 ? `${r.status} ${r.headers.get('etag')}` : String(r.status);
}

describe('an edge killed with SIGKILL during a stream of pushes (real processes from one deployment file)', () => {
  it('after its restart, dnscdn status shows every edge at the same sequence and all hold the same keys and ETags', { timeout: 90_000 }, async () => {
    expect(existsSync(CLI.replace(/bin[/\\]dnscdn\.js$/, 'dist/cli.js')), 'run `npm run build` first (npm test does)').toBe(true);
    const dir = await tempDir('kill-restart');
    await mkdir(join(dir, 'content'));
    for (let i = 0; i < PAGES; i++) await writeFile(join(dir, 'content', `page${i}.html`), `<p>page ${i}</p>`);
    const dep = await writeDeployment(dir, TOKEN);
    const edge = (i: number): Proc => startCli(['edge', '--config', dep.file, '--name', `e${i + 1}`]);
    const origin = startCli(['origin', '--config', dep.file]);
    const edges = [edge(0), edge(1), edge(2)];
    procs.push(origin, ...edges);
    await eventually(() => healthy(dep.originUrl), 30_000, () => origin.output());
    for (let i = 0; i < 3; i++) await eventually(() => healthy(dep.edgeUrls[i]!), 30_000, () => edges[i]!.output());

    const admin = (route: string, body: object): Promise<Response> =>
      fetch(dep.originAdminUrl + route, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (let i = 0; i < 60; i++) {
      if (i === 10) {
        edges[2]!.child.kill('SIGKILL');
        await edges[2]!.exited;
      }
      const page = `page${i % PAGES}.html`;
      const r = i % 9 === 4 ? await admin('/.dnscdn/purge', { target: `/page${(i + 3) % PAGES}.html` }) : (await writeFile(join(dir, 'content', page), `<p>${page} rev ${i}</p>`), await admin('/.dnscdn/push', { paths: [`/${page}`] }));
      expect(r.status, await r.text()).toBe(200);
    }
    const pushed = await runCli(['push', '--admin-url', dep.originAdminUrl, '--token', TOKEN, '/page0.html']);
    expect(pushed.stdout).toMatch(/^seq \d+\tput\t\/page0\.html\n$/);

    edges[2] = edge(2);
    procs.push(edges[2]);
    let last = '';
    await eventually(
      async () => {
        last = (await runCli(['status', '--admin-url', dep.originAdminUrl, '--token', TOKEN])).stdout;
        const s = parseStatus(last);
        return s.edges.length === 3 && s.edges.every((e) => e.reachable === 'yes' && Number(e.seq) === s.journal);
      },
      30_000,
      () => last,
    );
    expect(parseStatus(last).journal).toBe(61);

    const paths = Array.from({ length: PAGES }, (_, i) => `/page${i}.html`);
    const states = await Promise.all(dep.edgeUrls.map((u) => Promise.all(paths.map((p) => cached(u, p)))));
    expect(states[0]!.filter((s) => s.startsWith('200')).length).toBeGreaterThan(PAGES / 2);
    expect(states[2]).toEqual(states[0]);
    expect(states[1]).toEqual(states[0]);
  });
});
