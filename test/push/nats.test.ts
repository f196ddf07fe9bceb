/**
 * The shared push, purge and catch-up suite (shared-suite.ts) against NATS JetStream: three `nats-server -js`
 * clustered on loopback, streams with 3 replicas, an origin and three edges in this process.
 */
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
});
