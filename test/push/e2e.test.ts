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
});
