/**
 * The shared push, purge and catch-up suite (shared-suite.ts) against NATS JetStream: three `nats-server -js`
 * clustered on loopback, streams with 3 replicas, an origin and three edges in this process.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { privateLoopback } from '../net/loopback.js';
import { rawRequest } from '../origin/helpers.js';
import { NatsCluster, natsServerAvailable } from '../distribution/nats-servers.js';
import { Cluster, TOKEN, testNatsConfig } from './cluster.js';
import { pushSuite } from './shared-suite.js';

let servers: NatsCluster | undefined;

describe('nats-server', () => {
  it('is installed (.ci/run installs it)', () => {
    expect(natsServerAvailable()).toBe(true);
  });
});

const suite = pushSuite(
  'nats',
  async () => {
    servers = await NatsCluster.start(3);
    return Cluster.start({ kind: 'nats', nats: testNatsConfig(servers.servers, 'SUITE') });
  },
  async () => servers?.stop(),
);

describe('NATS backend specifics', () => {
  it('a new edge joining after the stream dropped its first operations rebuilds from the per-path state, then takes the tail', { timeout: 60_000 }, async () => {
    const c = suite.cluster();
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    // The suite above published more operations than the stream keeps (60): it no longer starts at 1.
    for (let i = 0; i < 10; i++) {
      const r = await rawRequest(c.origin.adminUrl, '/.dnscdn/push', { method: 'POST', headers: auth, body: JSON.stringify({ paths: [`/page${i % 5}.html`, '/img/a.svg'] }) });
      expect(r.status).toBe(200);
    }
    expect((await c.nats!.status()).journal.snapshotSeq).toBeGreaterThan(0);
    const late = await c.startSite(privateLoopback(), 0, 0, join(c.base, 'late'), 'late');
    try {
      c.sites.push(late);
      await c.converged(20_000);
      expect(late.replica.follower.journal.snapshotSeq).toBeGreaterThan(0); // it was a rebuild, not a replay from 1
      expect(c.stateOf(3)).toEqual(c.stateOf(0));
      expect(c.stateOf(3).length).toBe(6);
      expect(String((await rawRequest(late.edge.url, '/img/a.svg')).headers['x-cache'])).toBe('HIT');
    } finally {
      c.sites.pop();
      await late.edge.close();
      await late.replica.close();
    }
  });

  it('an edge that falls behind the retention while consuming (stuck on an operation whose body is missing) rebuilds from the state instead of asking for the dropped operations for ever', { timeout: 60_000 }, async () => {
    const c = suite.cluster();
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    // An operation whose body never reached the bucket: every edge fails to apply it and asks for it again.
    const sha256 = createHash('sha256').update('never stored').digest('hex');
    await c.nats!.publish([{ op: { kind: 'put', path: '/ghost.html', status: 200, etag: '"ghost"', sha256, length: 12, headers: { 'content-type': 'text/html' } } }]);
    const r = await rawRequest(c.origin.adminUrl, '/.dnscdn/purge', { method: 'POST', headers: auth, body: JSON.stringify({ target: '/ghost.html' }) });
    expect(r.status).toBe(200);
    // More operations than the stream keeps (60): the unapplied one is dropped, and what comes next is a gap.
    for (let i = 0; i < 35; i++) {
      const p = await rawRequest(c.origin.adminUrl, '/.dnscdn/push', { method: 'POST', headers: auth, body: JSON.stringify({ paths: ['/page1.html', '/img/b.svg'] }) });
      expect(p.status).toBe(200);
    }
    await c.converged(30_000);
    expect(c.stateOf(1)).toEqual(c.stateOf(0));
    expect(c.stateOf(2)).toEqual(c.stateOf(0));
    expect(c.stateOf(0).some((e) => e.startsWith('/page1.html '))).toBe(true);
  });
});
