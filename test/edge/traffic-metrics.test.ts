/**
 * The edge's client-traffic metrics (src/edge/traffic.ts): responses by cache outcome and status class, bytes sent,
 * the request-duration histogram, and health probes kept out of all of them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixed, metric, sendRaw, startFixture, type Fixture } from './harness.js';

describe('edge traffic metrics', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await startFixture({ name: 'traffic' });
    f.origin.on('/a', fixed(200, { 'cache-control': 'max-age=60' }, 'aaaa'));
    f.origin.on('/gone', fixed(404, { 'cache-control': 'no-store' }, 'no such page'));
  });
  afterEach(async () => {
    await f.close();
  });

  const raw = (path: string): Promise<string> => sendRaw(f.edge.address.port, `GET ${path} HTTP/1.1\r\nHost: traffic.test\r\nConnection: close\r\n\r\n`);

  it('counts responses by outcome and status class, every byte written to clients, and one duration per request', async () => {
    const answers = [await raw('/a'), await raw('/a'), await raw('/gone'), await raw('/healthz'), await raw('/healthz')];
    expect(answers.map((a) => a.slice(9, 12))).toEqual(['200', '200', '404', '200', '200']);
    expect(await metric(f.edge, 'dnscdn_edge_responses_total', { cache: 'MISS', code: '2xx' })).toBe(1);
    expect(await metric(f.edge, 'dnscdn_edge_responses_total', { cache: 'HIT', code: '2xx' })).toBe(1);
    expect(await metric(f.edge, 'dnscdn_edge_responses_total', { code: '4xx' })).toBe(1);
    expect(await metric(f.edge, 'dnscdn_edge_requests_total', { method: 'GET' })).toBe(3);
    expect(await metric(f.edge, 'dnscdn_edge_health_probes_total')).toBe(2);
    expect(await metric(f.edge, 'dnscdn_edge_request_duration_seconds', { le: '+Inf' })).toBe(3);
    // Headers and bodies as the clients received them, probes included (they use the same connections in real life).
    const received = answers.reduce((n, a) => n + Buffer.byteLength(a, 'latin1'), 0);
    expect(await metric(f.edge, 'dnscdn_edge_sent_bytes_total')).toBe(received);
  });

  it('a request the edge refuses itself (400) is a client request with outcome SYNTH', async () => {
    const answer = await sendRaw(f.edge.address.port, 'GET /a HTTP/1.1\r\nHost: bad/host\r\nConnection: close\r\n\r\n');
    expect(answer.slice(9, 12)).toBe('400');
    expect(await metric(f.edge, 'dnscdn_edge_responses_total', { cache: 'SYNTH', code: '4xx' })).toBe(1);
  });
});
