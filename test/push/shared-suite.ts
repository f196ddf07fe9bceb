/**
 * One set of push, purge and catch-up semantics, run against every distribution backend: test/push/e2e.test.ts
 * runs it with the journal, test/push/nats.test.ts with NATS JetStream. A cluster is an origin, the backend
 * and three edges over real sockets (cluster.ts).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../origin/helpers.js';
import type { Cluster } from './cluster.js';
import { TOKEN } from './cluster.js';

const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

export interface SuiteHandle {
  cluster(): Cluster;
}

export function pushSuite(backend: string, start: () => Promise<Cluster>, stop: () => Promise<void> = async () => undefined): SuiteHandle {
  let c: Cluster;

  async function push(paths: string[]): Promise<number> {
    const r = await rawRequest(c.origin.adminUrl, '/.dnscdn/push', { method: 'POST', headers: auth, body: JSON.stringify({ paths }) });
    expect(r.status, r.body.toString()).toBe(200);
    return r.status;
  }

  async function purge(target: string, all = false): Promise<{ status: number; text: string }> {
    const r = await rawRequest(c.origin.adminUrl, '/.dnscdn/purge', { method: 'POST', headers: auth, body: JSON.stringify({ target, all }) });
    return { status: r.status, text: r.body.toString() };
  }

  async function xcacheAll(path: string): Promise<string[]> {
    return Promise.all(c.sites.map(async (s) => String((await rawRequest(s.edge.url, path)).headers['x-cache'])));
  }

  beforeAll(async () => {
    c = await start();
  }, 60_000);

  afterAll(async () => {
    await c?.close();
    await stop();
  }, 30_000);

  describe(`push and purge (${backend} backend)`, () => {
    it('a pushed object is a HIT at every edge and the origin sees no content request', async () => {
      await push(['/page0.html', '/img/a.svg']);
      await c.converged();
      const before = c.origin.contentRequests - 2; // the push itself reads the files, not through HTTP
      expect(await xcacheAll('/page0.html')).toEqual(['HIT', 'HIT', 'HIT']);
      expect(await xcacheAll('/img/a.svg')).toEqual(['HIT', 'HIT', 'HIT']);
      const body = (await rawRequest(c.sites[1]!.edge.url, '/page0.html')).body.toString();
      expect(body).toBe('<p>page 0</p>');
      expect(c.origin.contentRequests - 2).toBe(before);
    });

    it('purges by URL, prefix and tag reach every edge (MISS afterwards)', async () => {
      await push(['/page1.html', '/page2.html', '/img/a.svg', '/img/b.svg']);
      await c.converged();
      expect((await purge('/page1.html')).status).toBe(200);
      expect((await purge('/img/*')).status).toBe(200);
      await push(['/page3.html']);
      expect((await purge('tag:html')).status).toBe(200);
      await c.converged();
      for (const p of ['/page1.html', '/img/a.svg', '/img/b.svg', '/page2.html', '/page3.html']) {
        for (const s of c.sites) expect(s.edge.cache.list().some((e) => e.path === p), `${p} at ${s.host}`).toBe(false);
        expect(await xcacheAll(p)).toEqual(['MISS', 'MISS', 'MISS']);
      }
    });

    it('a purge that matches everything needs the all flag', async () => {
      const before = c.lastSeq;
      const r = await purge('/*');
      expect(r.status).toBe(400);
      expect(r.text).toContain('--all');
      expect(c.lastSeq).toBe(before);
      expect((await purge('/*', true)).status).toBe(200);
      await c.converged();
      for (let i = 0; i < 3; i++) expect(c.stateOf(i)).toEqual([]);
    });

    it('an unauthorised push or purge gets 401 and changes nothing', async () => {
      const before = c.lastSeq;
      for (const headers of [{}, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
        for (const route of ['/.dnscdn/push', '/.dnscdn/purge']) {
          const r = await rawRequest(c.origin.adminUrl, route, { method: 'POST', headers, body: JSON.stringify({ paths: ['/page4.html'], target: '/page4.html' }) });
          expect(r.status).toBe(401);
          expect(r.body.toString()).not.toContain(TOKEN);
        }
      }
      expect(c.lastSeq).toBe(before);
      expect(c.stateOf(0)).toEqual([]);
    });

    it('interleaved pushes of versions of one path converge to the newest everywhere', async () => {
      const file = join(c.origin.root, 'page4.html');
      const pushes: Array<Promise<number>> = [];
      for (let v = 0; v < 20; v++) {
        await writeFile(file, `<p>version ${v}</p>`);
        pushes.push(push(['/page4.html']));
      }
      await Promise.all(pushes);
      await c.converged();
      const newest = (await rawRequest(c.origin.url, '/page4.html')).headers.etag;
      for (const s of c.sites) {
        const r = await rawRequest(s.edge.url, '/page4.html');
        expect(r.headers['x-cache']).toBe('HIT');
        expect(r.headers.etag).toBe(newest);
        expect(r.body.toString()).toBe('<p>version 19</p>');
      }
    });

    it('an edge stopped during 100 pushes and purges converges to exactly the others after restart', async () => {
      await c.stopSite(2);
      const paths = ['/page0.html', '/page1.html', '/page2.html', '/page3.html', '/img/a.svg', '/img/b.svg'];
      for (let i = 0; i < 100; i++) {
        if (i % 7 === 3) await purge(paths[i % paths.length]!);
        else if (i % 23 === 5) await purge('tag:images');
        else {
          await writeFile(join(c.origin.root, 'page0.html'), `<p>page 0 rev ${i}</p>`);
          await push([paths[i % paths.length]!]);
        }
      }
      // The retention is passed during this run (journal: compaction at 150; NATS: 60 operations kept), so the
      // restarted edge rebuilds from a snapshot (journal) or the per-path state stream (NATS), then takes the tail.
      await c.restartSite(2);
      await c.converged(20_000);
      expect(c.stateOf(0).length).toBeGreaterThan(0);
      expect(c.stateOf(2)).toEqual(c.stateOf(0));
      expect(c.stateOf(1)).toEqual(c.stateOf(0));
    });

    it('a restarted edge reloads its replica from disk and keeps its sequence', async () => {
      const seq = c.sites[1]!.replica.lastSeq;
      const state = c.stateOf(1);
      await c.stopSite(1);
      await c.restartSite(1);
      expect(c.sites[1]!.replica.lastSeq).toBe(seq);
      expect(c.stateOf(1)).toEqual(state);
    });

    it('status shows every edge reachable at the last sequence, lag 0', async () => {
      await c.converged();
      let s: { journal: { lastSeq: number }; edges: Array<{ name: string; reachable: boolean; lastSeq: number; lagOps: number }> } | undefined;
      // With NATS, reachability is an open pull request: a restarted edge makes one within moments.
      for (let tries = 0; tries < 50; tries++) {
        const r = await rawRequest(c.origin.adminUrl, '/.dnscdn/status', { headers: auth });
        s = JSON.parse(r.body.toString()) as typeof s;
        if (s!.edges.every((e) => e.reachable && e.lagOps === 0)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(s!.journal.lastSeq).toBe(c.lastSeq);
      expect(s!.edges.map((e) => e.name)).toEqual(['edge0', 'edge1', 'edge2']);
      for (const e of s!.edges) expect(e).toMatchObject({ reachable: true, lastSeq: s!.journal.lastSeq, lagOps: 0 });
    });
  });

  return { cluster: () => c };
}
