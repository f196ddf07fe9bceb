/**
 * Edges in a cluster share one cache through the consistent-hash ring (peer fill), ask a shield instead of the
 * origin, and refuse loops. Real edges on private loopback addresses, a real origin counting requests.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startEdge, type EdgeServer } from '../../../src/edge/server.js';
import type { PeerTarget } from '../../../src/edge/ring/ring-setup.js';
import { HOP_AUTH_HEADER, HOP_HEADER, HopSigner } from '../../../src/edge/ring/hops.js';
import { fixed, metric, request, startOrigin, type TestOrigin } from '../harness.js';
import { freePortOn, privateLoopbacks } from '../../net/loopback.js';

const SECRET = 'cluster-test-secret';
const HOST = 'www.cdn.test';

interface Site {
  name: string;
  url: string;
}

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.close().catch(() => undefined);
});

async function sites(names: readonly string[]): Promise<Site[]> {
  const hosts = privateLoopbacks(names.length);
  return Promise.all(names.map(async (name, i) => ({ name, url: `http://${hosts[i]}:${await freePortOn(hosts[i]!)}` })));
}

async function origin(): Promise<TestOrigin> {
  const o = await startOrigin();
  running.push(o);
  return o;
}

/** Serves `/obj/N` as a cacheable object after a short delay (so that concurrent misses overlap). */
function serveObjects(o: TestOrigin, count: number, delayMs = 20): void {
  for (let i = 0; i < count; i++) {
    const answer = fixed(200, { 'cache-control': 'public, max-age=300' }, `object ${i}\n`);
    o.on(`/obj/${i}`, (req, res) => void setTimeout(() => answer(req, res), delayMs));
  }
}

interface EdgeSpec {
  site: Site;
  originUrl: string;
  cluster?: readonly Site[];
  shield?: readonly Site[];
  peerTimeoutMs?: number;
}

async function edge(spec: EdgeSpec): Promise<EdgeServer> {
  const peers = (list: readonly Site[] | undefined): PeerTarget[] => (list ?? []).filter((s) => s.name !== spec.site.name).map((s) => ({ name: s.name, url: s.url }));
  const e = await startEdge({
    listen: spec.site.url.slice('http://'.length),
    origin: spec.originUrl,
    maxBytes: 4 * 1024 * 1024,
    name: spec.site.name,
    originTimeoutMs: 3000,
    ring: { secret: SECRET, name: spec.site.name, cluster: peers(spec.cluster), shield: peers(spec.shield), peerTimeoutMs: spec.peerTimeoutMs ?? 3000 },
  });
  running.push(e);
  return e;
}

function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return request(base, path, { headers: { host: HOST, ...headers } });
}

describe('a cluster of edges sharing one ring', () => {
  it('5 edges, 100 concurrent clients spread over all 5: the origin sees exactly one request per object', async () => {
    const o = await origin();
    const OBJECTS = 20;
    serveObjects(o, OBJECTS);
    const cluster = await sites(['a', 'b', 'c', 'd', 'e']);
    const edges = await Promise.all(cluster.map((site) => edge({ site, originUrl: o.url, cluster })));
    const clients = Array.from({ length: 100 }, async (_, c) => {
      for (let i = 0; i < OBJECTS; i++) {
        const r = await get(edges[(c + i) % 5]!.url, `/obj/${i}`);
        expect(r.status).toBe(200);
        expect(r.body).toBe(`object ${i}\n`);
      }
    });
    await Promise.all(clients);
    for (let i = 0; i < OBJECTS; i++) expect(o.count(`/obj/${i}`), `/obj/${i}`).toBe(1);
    // Each object is kept by its owner, so the cluster holds the objects about once, not five times.
    for (let i = 0; i < OBJECTS; i++) {
      const owner = edges[0]!.rings!.cluster!.ownerOf(`${HOST}/obj/${i}`)!;
      const held = edges.find((e) => e.name === owner)!.cache.list().some((l) => l.path === `/obj/${i}`);
      expect(held, `owner ${owner} holds /obj/${i}`).toBe(true);
    }
  });

  it('with one peer killed, every request still succeeds (its keys fall to their successors)', async () => {
    const o = await origin();
    serveObjects(o, 30, 0);
    const cluster = await sites(['a', 'b', 'c']);
    const edges = await Promise.all(cluster.map((site) => edge({ site, originUrl: o.url, cluster })));
    for (let i = 0; i < 10; i++) expect((await get(edges[i % 3]!.url, `/obj/${i}`)).status).toBe(200);
    await edges[2]!.close();
    const results = await Promise.all(Array.from({ length: 60 }, (_, n) => get(edges[n % 2]!.url, `/obj/${n % 30}`)));
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    expect(await metric(edges[0]!, 'dnscdn_edge_ring_fills_total', { tier: 'cluster', kind: 'eject', member: 'c' })).toBeGreaterThanOrEqual(1);
  });

  it('a peer that answers garbage is a failed upstream: the fill goes to the origin and the peer is ejected', async () => {
    const o = await origin();
    serveObjects(o, 200, 0);
    const [good, bad] = await sites(['good', 'bad']);
    const garbage = net.createServer((s) => s.once('data', () => s.end('this is not HTTP\r\n\r\n')));
    const badUrl = new URL(bad!.url);
    await new Promise<void>((r) => garbage.listen(Number(badUrl.port), badUrl.hostname, r));
    running.push({ close: () => new Promise<void>((r) => garbage.close(() => r())) });
    const e = await edge({ site: good!, originUrl: o.url, cluster: [good!, bad!] });
    const owned = Array.from({ length: 200 }, (_, i) => i).find((i) => e.rings!.cluster!.ownerOf(`${HOST}/obj/${i}`) === 'bad')!;
    const r = await get(e.url, `/obj/${owned}`);
    expect(r.status).toBe(200);
    expect(o.count(`/obj/${owned}`)).toBe(1);
    expect(e.rings!.cluster!.live).toEqual(['good']);
    expect(await metric(e, 'dnscdn_edge_ring_fills_total', { tier: 'cluster', kind: 'fallback-after-failure', member: 'bad' })).toBe(1);
  });

  it('a peer that does not answer within the peer timeout is a failed upstream too', async () => {
    const o = await origin();
    serveObjects(o, 200, 0);
    const [good, slow] = await sites(['good', 'slow']);
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => void held.push(s));
    const slowUrl = new URL(slow!.url);
    await new Promise<void>((r) => silent.listen(Number(slowUrl.port), slowUrl.hostname, r));
    running.push({
      close: () =>
        new Promise<void>((r) => {
          for (const s of held) s.destroy();
          silent.close(() => r());
        }),
    });
    const e = await edge({ site: good!, originUrl: o.url, cluster: [good!, slow!], peerTimeoutMs: 200 });
    const owned = Array.from({ length: 200 }, (_, i) => i).find((i) => e.rings!.cluster!.ownerOf(`${HOST}/obj/${i}`) === 'slow')!;
    const r = await get(e.url, `/obj/${owned}`);
    expect(r.status).toBe(200);
    expect(o.count(`/obj/${owned}`)).toBe(1);
    expect(e.rings!.cluster!.live).toEqual(['good']);
  });

  it('a hot object is kept by non-owners too, so its owner is not asked for every request', async () => {
    const o = await origin();
    serveObjects(o, 200, 0);
    const cluster = await sites(['a', 'b']);
    const [a, b] = await Promise.all(cluster.map((site) => edge({ site, originUrl: o.url, cluster })));
    const owned = Array.from({ length: 200 }, (_, i) => i).find((i) => a!.rings!.cluster!.ownerOf(`${HOST}/obj/${i}`) === 'b')!;
    const path = `/obj/${owned}`;
    const seen: string[] = [];
    const statuses: string[] = [];
    for (let n = 0; n < 8; n++) {
      const r = await get(a!.url, path);
      seen.push(String(r.headers['x-cache']));
      statuses.push(String(r.headers['cache-status']));
    }
    // The first ask is a miss everywhere; the next are hits at the owner (HIT, detail=peer-hit here); once hot,
    // a keeps its own copy and answers itself.
    expect(seen).toEqual(['MISS', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT']);
    expect(statuses[1]).toContain('detail=peer-hit');
    expect(statuses.at(-1)).toBe('dnscdn; hit');
    const forwards = await metric(a!, 'dnscdn_edge_ring_fills_total', { tier: 'cluster', kind: 'forward', member: 'b' });
    expect(forwards).toBeLessThanOrEqual(4);
    expect(o.count(path)).toBe(1);
    expect(b!.cache.list().some((l) => l.path === path)).toBe(true);
  });
});

describe('hop header', () => {
  it('a hop header without a valid MAC from a client is ignored: no 508, still forwarded to the owner, never passed to the origin', async () => {
    const o = await origin();
    serveObjects(o, 200, 0);
    const cluster = await sites(['a', 'b']);
    const [a, b] = await Promise.all(cluster.map((site) => edge({ site, originUrl: o.url, cluster })));
    const owned = Array.from({ length: 200 }, (_, i) => i).find((i) => a!.rings!.cluster!.ownerOf(`${HOST}/obj/${i}`) === 'b')!;
    const forged = { [HOP_HEADER]: 'a, b', [HOP_AUTH_HEADER]: '0'.repeat(64) };
    const r = await get(a!.url, `/obj/${owned}`, forged);
    expect(r.status).toBe(200);
    // Forwarded to b, which fetched and stored it (a forged header would have made a fetch it itself).
    expect(b!.cache.list().some((l) => l.path === `/obj/${owned}`)).toBe(true);
    expect(await metric(a!, 'dnscdn_edge_ring_fills_total', { tier: 'cluster', kind: 'forward', member: 'b' })).toBe(1);
    const atOrigin = o.seen.find((s) => s.url === `/obj/${owned}`)!;
    expect(atOrigin.headers[HOP_HEADER]).toBeUndefined();
    expect(atOrigin.headers[HOP_AUTH_HEADER]).toBeUndefined();
  });

  it('an authenticated hop list naming this edge is a loop: 508, nothing fetched', async () => {
    const o = await origin();
    serveObjects(o, 1, 0);
    const [a] = await sites(['a']);
    const e = await edge({ site: a!, originUrl: o.url, cluster: [], shield: [] });
    const signed = new HopSigner(SECRET, ['x']).sign(['x', 'a'], 'GET', HOST, '/obj/0') as Record<string, string>;
    const r = await get(e.url, '/obj/0', signed);
    expect(r.status).toBe(508);
    expect(o.count('/obj/0')).toBe(0);
  });
});

describe('shield tier', () => {
  it('two clusters behind one shield: the origin sees one request per object, not one per site', async () => {
    const o = await origin();
    serveObjects(o, 10);
    const eu = await sites(['eu1', 'eu2']);
    const us = await sites(['us1', 'us2']);
    const shield = await sites(['s1', 's2']);
    const shields = await Promise.all(shield.map((site) => edge({ site, originUrl: o.url, cluster: shield })));
    const edges = await Promise.all([...eu.map((site) => edge({ site, originUrl: o.url, cluster: eu, shield })), ...us.map((site) => edge({ site, originUrl: o.url, cluster: us, shield }))]);
    await Promise.all(Array.from({ length: 40 }, (_, n) => get(edges[n % 4]!.url, `/obj/${n % 10}`).then((r) => expect(r.status).toBe(200))));
    for (let i = 0; i < 10; i++) expect(o.count(`/obj/${i}`)).toBe(1);
    // Each object went through the shield ring: its owner there holds it.
    const inShield = shields.flatMap((s) => s.cache.list().map((l) => l.path));
    expect(new Set(inShield).size).toBe(10);
  });

  it('a shield loop (misconfigured past the config check) is refused with 508, never recursed', async () => {
    const o = await origin();
    serveObjects(o, 1, 0);
    const [x, y] = await sites(['x', 'y']);
    const ex = await edge({ site: x!, originUrl: o.url, shield: [y!] });
    await edge({ site: y!, originUrl: o.url, shield: [x!] });
    const r = await get(ex.url, '/obj/0');
    expect(r.status).toBe(508);
    expect(o.count('/obj/0')).toBe(0);
  });
});
