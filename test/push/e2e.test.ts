import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, FRAMES_CONTENT_TYPE } from '../../src/distribution/frames.js';
import { rawRequest } from '../origin/helpers.js';
import { Cluster, TOKEN } from './cluster.js';

let c: Cluster;
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

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
  c = await Cluster.start();
});

afterAll(async () => {
  await c.close();
});

describe('push through the distribution tier', () => {
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
    const before = c.distributor.lastSeq;
    const r = await purge('/*');
    expect(r.status).toBe(400);
    expect(r.text).toContain('--all');
    expect(c.distributor.lastSeq).toBe(before);
    expect((await purge('/*', true)).status).toBe(200);
    await c.converged();
    for (let i = 0; i < 3; i++) expect(c.stateOf(i)).toEqual([]);
  });

  it('an unauthorised push or purge gets 401 and changes nothing', async () => {
    const before = c.distributor.lastSeq;
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
      const r = await rawRequest(c.origin.adminUrl, '/.dnscdn/push', { method: 'POST', headers, body: JSON.stringify({ paths: ['/page4.html'] }) });
      expect(r.status).toBe(401);
      expect(r.body.toString()).not.toContain(TOKEN);
      const d = await rawRequest(c.distributorUrl, '/.dnscdn/publish', { method: 'POST', headers, body: Buffer.alloc(0) });
      expect(d.status).toBe(401);
    }
    const e = await rawRequest(c.sites[0]!.edge.adminUrl, '/.dnscdn/replica', { method: 'POST', headers: { authorization: 'Bearer wrong' }, body: Buffer.alloc(0) });
    expect(e.status).toBe(401);
    expect(c.distributor.lastSeq).toBe(before);
    expect(c.stateOf(0)).toEqual([]);
  });

  it('rejects a published body that does not match its declared length or digest', async () => {
    const before = c.distributor.lastSeq;
    const body = Buffer.from('hello');
    const op = { kind: 'put', path: '/x', status: 200, etag: '"x"', headers: {}, sha256: '0'.repeat(64), length: 5 };
    for (const frame of [encodeFrame(op, body), encodeFrame({ ...op, length: 6 }, body)]) {
      const r = await rawRequest(c.distributorUrl, '/.dnscdn/publish', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': FRAMES_CONTENT_TYPE }, body: frame });
      expect(r.status).toBe(400);
    }
    expect(c.distributor.lastSeq).toBe(before);
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
    const newest = c.distributor.journal.liveObjects().find((o) => o.path === '/page4.html')!;
    for (const s of c.sites) {
      const r = await rawRequest(s.edge.url, '/page4.html');
      expect(r.headers['x-cache']).toBe('HIT');
      expect(r.headers.etag).toBe(newest.etag);
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
    // The compaction threshold (150) is passed during this run, so the restarted edge may need a reset.
    await c.restartSite(2);
    await c.converged();
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

  it('status shows every edge reachable at the journal sequence', async () => {
    await c.converged();
    const r = await rawRequest(c.origin.adminUrl, '/.dnscdn/status', { headers: auth });
    const s = JSON.parse(r.body.toString()) as { journal: { lastSeq: number }; edges: Array<{ reachable: boolean; lastSeq: number; lagOps: number }> };
    expect(s.edges).toHaveLength(3);
    for (const e of s.edges) expect(e).toMatchObject({ reachable: true, lastSeq: s.journal.lastSeq, lagOps: 0 });
  });

  it("the distribution node's /metrics gives the journal's last sequence and no edge ahead of it", async () => {
    await c.converged();
    const text = (await rawRequest(c.distributorUrl, '/metrics')).body.toString();
    expect(text).toContain(`dnscdn_distribution_journal_last_seq{role="distributor"} ${c.distributor.lastSeq}`);
    for (const name of ['edge0', 'edge1', 'edge2']) expect(text).toContain(`dnscdn_distribution_peer_ahead_ops{peer="${name}",role="distributor"} 0`);
  });

  it('/metrics gives each edge\'s lag in operations and seconds, and whether it is reachable, as gauges', async () => {
    await c.converged();
    const gauges = async (): Promise<string> => (await rawRequest(c.distributorUrl, '/metrics')).body.toString();
    let text = await gauges();
    expect(text).toMatch(/^process_cpu_seconds_total\{role="distributor"\} /m);
    for (const name of ['edge0', 'edge1', 'edge2']) {
      expect(text).toContain(`dnscdn_distribution_lag_ops{edge="${name}",role="distributor"} 0`);
      expect(text).toContain(`dnscdn_distribution_lag_seconds{edge="${name}",role="distributor"} 0`);
      expect(text).toContain(`dnscdn_distribution_edge_reachable{edge="${name}",role="distributor"} 1`);
    }
    await c.stopSite(2);
    await push(['/page0.html']);
    await push(['/page1.html']);
    // The link notices the stopped edge on its next attempt (backoff starts at 50 ms).
    await expect.poll(async () => (text = await gauges()), { timeout: 5000 }).toContain('dnscdn_distribution_edge_reachable{edge="edge2",role="distributor"} 0');
    expect(text).toContain('dnscdn_distribution_lag_ops{edge="edge2",role="distributor"} 2');
    const seconds = Number(/dnscdn_distribution_lag_seconds\{edge="edge2",role="distributor"\} (\S+)/.exec(text)?.[1]);
    expect(seconds).toBeGreaterThan(0);
    await c.restartSite(2);
    await c.converged();
    await expect.poll(gauges, { timeout: 5000 }).toContain('dnscdn_distribution_lag_ops{edge="edge2",role="distributor"} 0');
  });
});
