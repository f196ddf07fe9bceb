import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Distributor } from '../../src/distribution/distributor.js';
import { listenDistributor } from '../../src/distribution/server.js';
import { EdgeReplica } from '../../src/edge/replica.js';
import { startEdge } from '../../src/edge/server.js';
import type { EdgeServer } from '../../src/edge/server.js';
import { localPublisher } from '../../src/origin/publisher.js';
import { OriginServer } from '../../src/origin/server.js';
import { rawRequest, tempDir } from '../origin/helpers.js';
import { freeTcpPort } from './processes.js';

const TOKEN = 'downstream-token';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const fastLink = { backoffMinMs: 20, backoffMaxMs: 200, idleCheckMs: 300 };

interface Node {
  d: Distributor;
  url: string;
  close(): Promise<void>;
}

/** origin -> distributor A -> distributor B (`--upstream A`) -> edge, every hop over loopback HTTP. */
let base: string;
let origin: OriginServer;
let a: Node;
let b: Node;
let bPort: number;
let edge: EdgeServer;
let replica: EdgeReplica;

async function node(dir: string, port: number, downstream: Array<{ name: string; url: string }>, upstream?: string): Promise<Node> {
  const d = await Distributor.open({ dataDir: join(base, dir), token: TOKEN, downstream, upstream, link: fastLink, pollMs: 300 });
  const http = await listenDistributor(d, { host: '127.0.0.1', port: 0 }, { listen: { host: '127.0.0.1', port }, token: TOKEN });
  return {
    d,
    url: http.adminUrl,
    close: async () => {
      await http.close();
      await d.close();
    },
  };
}

async function startB(): Promise<void> {
  b = await node('b', bPort, [{ name: 'edge', url: edge.adminUrl }], a.url);
}

async function push(paths: string[]): Promise<void> {
  const r = await rawRequest(origin.adminUrl, '/.dnscdn/push', { method: 'POST', headers: auth, body: JSON.stringify({ paths }) });
  expect(r.status, r.body.toString()).toBe(200);
}

async function edgeAt(seq: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (replica.lastSeq !== seq) {
    if (Date.now() > deadline) throw new Error(`edge at ${replica.lastSeq}, B at ${b.d.lastSeq}, A at ${a.d.lastSeq}, want ${seq}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  base = await tempDir('downstream');
  await mkdir(join(base, 'content'));
  for (let i = 0; i < 4; i++) await writeFile(join(base, 'content', `p${i}.html`), `<p>${i}</p>`);
  edge = await startEdge({ listen: { host: '127.0.0.11', port: 0 }, origin: 'http://127.0.0.1:9', maxBytes: 8 * 1024 * 1024, adminToken: TOKEN });
  // B's address must be known before A starts feeding it.
  bPort = await freeTcpPort('127.0.0.1');
  a = await node('a', 0, [{ name: 'dist-b', url: `http://127.0.0.1:${bPort}` }]);
  await startB();
  replica = await EdgeReplica.open({ cache: edge.cache, dir: join(base, 'edge'), distributor: b.url, token: TOKEN, pollMs: 300 });
  replica.register(edge);
  replica.start();
  origin = await OriginServer.start({ contentDir: join(base, 'content'), listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, publisher: localPublisher(a.d) });
});

afterAll(async () => {
  await origin.close();
  await edge.close();
  await replica.close();
  await b.close();
  await a.close();
});

describe('a downstream distribution node (dnscdn distributor --upstream)', () => {
  it('relays pushes and purges from the origin through A and B to the edge, in order', async () => {
    await push(['/p0.html', '/p1.html']);
    await edgeAt(a.d.lastSeq);
    expect(b.d.lastSeq).toBe(a.d.lastSeq);
    const hit = await rawRequest(edge.url, '/p0.html');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body.toString()).toBe('<p>0</p>');
    const r = await rawRequest(origin.adminUrl, '/.dnscdn/purge', { method: 'POST', headers: auth, body: JSON.stringify({ target: '/p0.html' }) });
    expect(r.status).toBe(200);
    await edgeAt(a.d.lastSeq);
    expect(edge.cache.list().map((e) => e.path)).toEqual(['/p1.html']);
  });

  it('B refuses publishes (only its upstream journals) and unauthorised replica batches', async () => {
    const before = b.d.lastSeq;
    const pub = await rawRequest(b.url, '/.dnscdn/publish', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: Buffer.alloc(0) });
    expect(pub.status).toBe(403);
    const rep = await rawRequest(b.url, '/.dnscdn/replica', { method: 'POST', headers: { authorization: 'Bearer nope' }, body: Buffer.alloc(0) });
    expect(rep.status).toBe(401);
    expect(b.d.lastSeq).toBe(before);
  });

  it('B down during pushes: it catches up from A when it returns, and the edge from B', async () => {
    await b.close();
    for (let i = 0; i < 3; i++) {
      await writeFile(join(base, 'content', 'p2.html'), `<p>2 rev ${i}</p>`);
      await push(['/p2.html', '/p3.html']);
    }
    expect(replica.lastSeq).toBeLessThan(a.d.lastSeq);
    await startB();
    await edgeAt(a.d.lastSeq);
    const r = await rawRequest(edge.url, '/p2.html');
    expect(r.headers['x-cache']).toBe('HIT');
    expect(r.body.toString()).toBe('<p>2 rev 2</p>');
    const status = await rawRequest(b.url, '/.dnscdn/status', { headers: auth });
    expect(JSON.parse(status.body.toString())).toMatchObject({ journal: { lastSeq: a.d.lastSeq }, edges: [{ name: 'edge', reachable: true, lastSeq: a.d.lastSeq, lagOps: 0 }] });
  });
});
