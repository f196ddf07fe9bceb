import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Distributor } from '../../src/distribution/distributor.js';
import type { DistributionStatus } from '../../src/distribution/distributor.js';
import { FRAMES_CONTENT_TYPE } from '../../src/distribution/frames.js';
import { EdgeReplica } from '../../src/edge/replica.js';
import { startEdge } from '../../src/edge/server.js';
import type { EdgeServer } from '../../src/edge/server.js';
import { localPublisher } from '../../src/origin/publisher.js';
import { OriginServer } from '../../src/origin/server.js';
import { rawRequest, tempDir } from '../origin/helpers.js';
import { FaultyDisk } from './faulty-disk.js';
import { eventually } from './processes.js';

const TOKEN = 'disk-full-token';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const closers: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

describe('a failing disk over the network: nothing unstored is acknowledged, by the origin or by an edge', () => {
  it('push answers 507 and keeps its sequence when the journal disk is full; an edge whose disk is full stays behind, then catches up', { timeout: 30_000 }, async () => {
    const base = await tempDir('disk-full-http');
    await mkdir(join(base, 'content'));
    for (const name of ['a', 'b', 'c']) await writeFile(join(base, 'content', `${name}.html`), `<p>${name}</p>`);
    const originDisk = new FaultyDisk();
    const edgeDisk = new FaultyDisk();
    const edge: EdgeServer = await startEdge({ listen: { host: '127.0.0.14', port: 0 }, origin: 'http://127.0.0.1:9', maxBytes: 1 << 24, maxObjectBytes: 1 << 20, adminToken: TOKEN });
    closers.push(() => edge.close());
    const distributor = await Distributor.open({
      dataDir: join(base, 'journal'),
      token: TOKEN,
      downstream: [{ name: 'e1', url: edge.adminUrl }],
      link: { backoffMinMs: 20, backoffMaxMs: 100, idleCheckMs: 200 },
      disk: originDisk,
    });
    closers.push(() => distributor.close());
    const origin = await OriginServer.start({ contentDir: join(base, 'content'), listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, publisher: localPublisher(distributor), distributor });
    closers.push(() => origin.close());
    const replica = await EdgeReplica.open({ cache: edge.cache, dir: join(base, 'edge'), distributor: origin.adminUrl, token: TOKEN, pollMs: 200, disk: edgeDisk });
    replica.register(edge);
    replica.start();
    closers.push(() => replica.close());

    const push = async (path: string): Promise<{ status: number; text: string }> => {
      const r = await rawRequest(origin.adminUrl, '/.dnscdn/push', { method: 'POST', headers: auth, body: JSON.stringify({ paths: [path] }) });
      return { status: r.status, text: r.body.toString() };
    };
    const status = async (): Promise<DistributionStatus> => JSON.parse((await rawRequest(origin.adminUrl, '/.dnscdn/status', { headers: auth })).body.toString()) as DistributionStatus;
    const cached = async (path: string): Promise<number> => (await rawRequest(edge.url, path, { headers: { 'cache-control': 'only-if-cached' } })).status;

    expect((await push('/a.html')).text).toContain('"seq":1');
    originDisk.spaceLeft = 100; // less than a blob plus its record
    const refused = await push('/b.html');
    expect(refused.status).toBe(507);
    expect(refused.text).toMatch(/not journaled.*ENOSPC/);
    expect((await status()).journal.lastSeq).toBe(1);
    originDisk.heal();
    expect((await push('/b.html')).text).toContain('"seq":2');
    await eventually(async () => replica.lastSeq === 2, 10_000, () => `edge at ${replica.lastSeq}`);

    edgeDisk.spaceLeft = 0;
    expect((await push('/c.html')).text).toContain('"seq":3');
    // The edge cannot store seq 3: it is not applied, not acknowledged, and status shows it one behind.
    await eventually(async () => (await status()).edges[0]!.lagOps === 1, 10_000, () => 'edge lag never showed 1');
    expect(replica.lastSeq).toBe(2);
    expect(await cached('/c.html')).toBe(504);
    // What the edge answers the distribution node: 507 with the reason, and its cursor unchanged.
    const batch = await distributor.batchAfter(2);
    const direct = await rawRequest(edge.adminUrl, '/.dnscdn/replica', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': FRAMES_CONTENT_TYPE }, body: batch });
    expect(direct.status).toBe(507);
    expect(direct.body.toString()).toMatch(/batch not stored: .*ENOSPC/);
    expect(replica.lastSeq).toBe(2);
    edgeDisk.heal();
    await eventually(async () => (await status()).edges[0]!.lastSeq === 3, 10_000, () => `edge at ${replica.lastSeq}`);
    expect(await cached('/c.html')).toBe(200);
  });
});
