import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Distributor } from '../../src/distribution/distributor.js';
import { Follower } from '../../src/distribution/follower.js';
import type { FollowerSink } from '../../src/distribution/follower.js';
import { decodeStream } from '../../src/distribution/frames.js';
import type { OperationInput, PutOperation } from '../../src/distribution/operations.js';
import { listenDistributor } from '../../src/distribution/server.js';
import { EdgeReplica } from '../../src/edge/replica.js';
import { startEdge } from '../../src/edge/server.js';
import type { EdgeServer } from '../../src/edge/server.js';
import { rawRequest, tempDir } from '../origin/helpers.js';

const TOKEN = 'pages-token';
const BATCH_OPS = 4;
const BATCH_BYTES = 1000;

function object(path: string, text: string): { op: OperationInput; body: Buffer } {
  const body = Buffer.from(text);
  return { op: { kind: 'put', path, status: 200, etag: `"${createHash('md5').update(body).digest('hex')}"`, headers: { 'cache-control': 'max-age=600' }, sha256: createHash('sha256').update(body).digest('hex'), length: body.length }, body };
}

let base: string;
let dist: Distributor;
let distUrl: string;
let closeHttp: () => Promise<void>;
const edges: Array<{ edge: EdgeServer; replica: EdgeReplica }> = [];

async function startSite(dir: string, maxObjectBytes: number): Promise<{ edge: EdgeServer; replica: EdgeReplica }> {
  const edge = await startEdge({ listen: { host: '127.0.0.12', port: 0 }, origin: 'http://127.0.0.1:9', maxBytes: 4 * 1024 * 1024, maxObjectBytes, adminToken: TOKEN });
  const replica = await EdgeReplica.open({ cache: edge.cache, dir: join(base, dir), distributor: distUrl, token: TOKEN, pollMs: 200 });
  replica.register(edge);
  replica.start();
  const site = { edge, replica };
  edges.push(site);
  return site;
}

async function until(cond: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const stateOf = (e: EdgeServer): string[] =>
  e.cache
    .list()
    .map((x) => `${x.path} ${x.etag ?? ''}`)
    .sort();

beforeAll(async () => {
  base = await tempDir('pages');
  dist = await Distributor.open({ dataDir: join(base, 'dist'), token: TOKEN, downstream: [], compactAfter: 20, batchOps: BATCH_OPS, batchBytes: BATCH_BYTES });
  const http = await listenDistributor(dist, { host: '127.0.0.1', port: 0 }, { token: TOKEN });
  distUrl = http.adminUrl;
  closeHttp = http.close;
});

afterAll(async () => {
  for (const s of edges) {
    await s.edge.close();
    await s.replica.close();
  }
  await closeHttp();
  await dist.close();
});

describe('catch-up after compaction comes in bounded pages', () => {
  it('an edge that joins after compactions gets the snapshot page by page, then the tail, and ends equal to the live state', async () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 15; i++) await dist.publish([object(`/o${i}`, `object ${i} round ${round} ${'x'.repeat(150)}`)]);
      await dist.publish([{ op: { kind: 'purge', target: { type: 'url', path: `/o${round}` } } }]);
    }
    expect(dist.journal.snapshotSeq).toBeGreaterThan(0);
    const firstPage = decodeStream(await dist.batchAfter(0));
    const reset = firstPage[0]!;
    expect(reset.kind).toBe('reset');
    if (reset.kind !== 'reset') return;
    // The snapshot does not fit one page: the page is bounded by count and bytes.
    expect(reset.total).toBeGreaterThan(BATCH_OPS);
    expect(reset.entries.length).toBeLessThanOrEqual(BATCH_OPS);
    expect(reset.entries.reduce((n, e) => n + (e.body?.length ?? 0), 0)).toBeLessThanOrEqual(BATCH_BYTES);

    const site = await startSite('late', 64 * 1024);
    await until(() => site.replica.lastSeq === dist.lastSeq, () => `${site.replica.lastSeq} vs ${dist.lastSeq}`);
    const live = dist.journal
      .liveObjects()
      .map((o) => `${o.path} ${o.etag}`)
      .sort();
    expect(stateOf(site.edge)).toEqual(live);
    const r = await rawRequest(site.edge.url, '/o7');
    expect(r.headers['x-cache']).toBe('HIT');
    expect(r.body.toString()).toMatch(/^object 7 round 2 /);
  });

  it('a body larger than an edge stores is left out of its batches and reported skipped; later operations still arrive', async () => {
    const small = await startSite('small', 500);
    await until(() => small.replica.lastSeq === dist.lastSeq, () => `${small.replica.lastSeq} vs ${dist.lastSeq}`);
    await dist.publish([object('/big', 'B'.repeat(2000))]);
    await dist.publish([object('/after', 'small one')]);
    await small.replica.catchUp();
    await until(() => small.replica.lastSeq === dist.lastSeq, () => `${small.replica.lastSeq} vs ${dist.lastSeq}`);
    expect(small.replica.follower.skipped.map((s) => s.path)).toContain('/big');
    expect(small.edge.cache.list().some((e) => e.path === '/big')).toBe(false);
    expect(small.edge.cache.list().some((e) => e.path === '/after')).toBe(true);
  });

  it('a replica stopped in the middle of a snapshot transfer keeps its old state and cursor, and starts over', async () => {
    const held = new Map<string, PutOperation>();
    const sink: FollowerSink = {
      put: (op) => void held.set(op.path, op),
      purge: (op) => void (op.target.type === 'url' && held.delete(op.target.path)),
      clear: () => held.clear(),
      accepts: () => true,
    };
    const dir = join(base, 'partial');
    const f = await Follower.open({ dir, token: TOKEN, sink });
    await f.receive(decodeStream(await dist.batchAfter(0, { page: { snapshot: 0, from: 0 } })));
    expect(f.staged?.count).toBe(BATCH_OPS);
    expect(f.lastSeq).toBe(0);
    expect(held.size).toBe(0);
    await f.close();
    const again = await Follower.open({ dir, token: TOKEN, sink });
    expect(again.staged).toBeUndefined();
    expect(again.lastSeq).toBe(0);
    // Pages applied in order complete the snapshot; the tail follows.
    for (let i = 0; i < 100 && again.lastSeq < dist.lastSeq; i++) {
      const staged = again.staged;
      await again.receive(decodeStream(await dist.batchAfter(again.lastSeq, staged ? { page: { snapshot: staged.seq, from: staged.count } } : {})));
    }
    expect(again.lastSeq).toBe(dist.lastSeq);
    expect([...held.values()].map((p) => `${p.path} ${p.etag}`).sort()).toEqual(
      dist.journal
        .liveObjects()
        .map((o) => `${o.path} ${o.etag}`)
        .sort(),
    );
    await again.close();
  });
});
