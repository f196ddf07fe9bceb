import { beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, FRAMES_CONTENT_TYPE } from '../../src/distribution/frames.js';
import { rawRequest } from '../origin/helpers.js';
import { Cluster, TOKEN } from './cluster.js';
import { pushSuite } from './shared-suite.js';

const suite = pushSuite('journal', () => Cluster.start({ kind: 'journal' }));

describe('the journal backend: its distribution node API', () => {
  let c: Cluster;
  beforeAll(() => {
    c = suite.cluster();
  });
  const push = async (paths: string[]): Promise<void> => {
    const r = await rawRequest(c.origin.adminUrl, '/.dnscdn/push', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ paths }) });
    expect(r.status, r.body.toString()).toBe(200);
  };

  it('an unauthorised publish to the node or batch to an edge gets 401 and changes nothing', async () => {
    const before = c.distributor.lastSeq;
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
      const d = await rawRequest(c.distributorUrl, '/.dnscdn/publish', { method: 'POST', headers, body: Buffer.alloc(0) });
      expect(d.status).toBe(401);
    }
    const e = await rawRequest(c.sites[0]!.edge.adminUrl, '/.dnscdn/replica', { method: 'POST', headers: { authorization: 'Bearer wrong' }, body: Buffer.alloc(0) });
    expect(e.status).toBe(401);
    expect(c.distributor.lastSeq).toBe(before);
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
