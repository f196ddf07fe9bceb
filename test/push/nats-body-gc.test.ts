/**
 * Body garbage collection against three clustered nats-servers, with an origin and three edges in this process
 * (cluster.ts) and a stream that keeps only 10 operations. The clock of a run is passed in (`now`), so the grace
 * period is crossed without sleeping.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { ObjectStore } from '@nats-io/obj';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BODY_GC_GRACE_MS } from '../../src/config/nats.js';
import { NatsPublisher } from '../../src/distribution/nats/publisher.js';
import { NatsCluster } from '../distribution/nats-servers.js';
import { privateLoopback } from '../net/loopback.js';
import { rawRequest } from '../origin/helpers.js';
import { Cluster, TOKEN, testNatsConfig } from './cluster.js';

const GRACE = DEFAULT_BODY_GC_GRACE_MS;
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
let servers: NatsCluster;
let c: Cluster;
let nc: NatsConnection;
let bucket: ObjectStore;
const registry = new Registry();

const digest = (text: string): string => createHash('sha256').update(text).digest('hex');

async function push(paths: string[]): Promise<void> {
  const r = await rawRequest(c.origin.adminUrl, '/.dnscdn/push', { method: 'POST', headers: auth, body: JSON.stringify({ paths }) });
  expect(r.status, r.body.toString()).toBe(200);
}

async function purge(target: string): Promise<void> {
  const r = await rawRequest(c.origin.adminUrl, '/.dnscdn/purge', { method: 'POST', headers: auth, body: JSON.stringify({ target }) });
  expect(r.status, r.body.toString()).toBe(200);
}

async function page(n: number, text: string): Promise<void> {
  await writeFile(join(c.base, 'content', `page${n}.html`), text);
}

/** Digests in the bucket (deleted ones are not listed). */
async function stored(): Promise<Set<string>> {
  return new Set((await bucket.list()).map((b) => b.name));
}

async function metric(name: string): Promise<number> {
  return (await registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
}

beforeAll(async () => {
  servers = await NatsCluster.start(3);
  c = await Cluster.start({ kind: 'nats', nats: testNatsConfig(servers.servers, 'GC', 10) });
  c.nats!.registerMetrics(registry);
  nc = await connect({ servers: servers.servers });
  bucket = await new Objm(jetstream(nc)).open('GC_BODIES');
}, 60_000);

afterAll(async () => {
  await c?.close();
  await nc?.close();
  await servers?.stop();
}, 30_000);

describe('body garbage collection (NATS backend)', () => {
  it('deletes an overwritten body once no retained operation or state entry refers to it and the grace period is over; keeps every referenced one', { timeout: 60_000 }, async () => {
    await page(0, 'zero v1');
    await push(['/page0.html']); // op 1, the only reference to "zero v1" once it leaves the stream
    await page(2, 'two');
    await page(3, 'three');
    for (let i = 0; i < 5; i++) await push(['/page2.html', '/page3.html']); // ops 2-11: op 1 leaves the stream (it keeps 10)
    await page(0, 'zero v2');
    await push(['/page0.html']); // the state of /page0.html now refers to "zero v2" only
    await page(1, 'one');
    await push(['/page1.html']);
    await purge('/page1.html'); // "one" is in no state entry now, only in a retained operation
    await c.converged();
    // An upload whose operation is not published yet (an origin killed between the two, its client retrying).
    await bucket.putBlob({ name: digest('in flight') }, Buffer.from('in flight'));
    const inFlightAt = Date.parse((await bucket.info(digest('in flight')))!.mtime);
    const all = ['zero v1', 'zero v2', 'one', 'two', 'three', 'in flight'].map(digest);
    expect([...(await stored())].sort()).toEqual([...all].sort());

    // Within the grace period nothing goes, referenced or not.
    expect(await c.nats!.collectBodies(Date.now())).toEqual({ skipped: false, deleted: 0, bytes: 0 });
    // Past the grace period for every body but the in-flight upload: only the overwritten body goes.
    expect(await c.nats!.collectBodies(inFlightAt + GRACE)).toEqual({ skipped: false, deleted: 1, bytes: 'zero v1'.length });
    expect([...(await stored())].sort()).toEqual(all.filter((d) => d !== digest('zero v1')).sort());
    // Later still, the upload that never became an operation goes too.
    expect(await c.nats!.collectBodies(Date.now() + GRACE + 1000)).toEqual({ skipped: false, deleted: 1, bytes: 'in flight'.length });
    expect([...(await stored())].sort()).toEqual(['zero v2', 'one', 'two', 'three'].map(digest).sort());
    expect(await metric('dnscdn_nats_bodies_deleted_total')).toBe(2);
    expect(await metric('dnscdn_nats_body_bytes_reclaimed_total')).toBe('zero v1'.length + 'in flight'.length);
  });

  it('an edge rebuilding from the state after a collection gets every current body', { timeout: 60_000 }, async () => {
    expect((await c.nats!.status()).journal.snapshotSeq).toBeGreaterThan(0); // the stream no longer starts at 1: a new edge rebuilds
    const late = await c.startSite(privateLoopback(), 0, 0, join(c.base, 'late'), 'late');
    c.sites.push(late);
    try {
      await c.converged(20_000);
      expect(late.replica.follower.journal.snapshotSeq).toBeGreaterThan(0);
      expect(c.stateOf(3)).toEqual(c.stateOf(0));
      for (const [path, text] of [['/page0.html', 'zero v2'], ['/page2.html', 'two'], ['/page3.html', 'three']] as const) {
        const r = await rawRequest(late.edge.url, path);
        expect(String(r.headers['x-cache']), path).toBe('HIT');
        expect(r.body.toString()).toBe(text);
      }
    } finally {
      c.sites.pop();
      await late.edge.close();
      await late.replica.close();
    }
  });

  it('an origin without the lease does not collect', { timeout: 30_000 }, async () => {
    const standby = await NatsPublisher.open(testNatsConfig(servers.servers, 'GC', 10), []);
    try {
      expect(standby.publishing).toBe(false);
      expect(await standby.collectBodies(Date.now() + 10 * GRACE)).toEqual({ skipped: true, deleted: 0, bytes: 0 });
      expect((await stored()).size).toBe(4);
    } finally {
      await standby.close();
    }
  });
});
