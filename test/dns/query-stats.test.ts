/** Query counting and the query log's sampling, below the servers (src/dns/query-stats.ts, src/dns/query-log.ts). */
import cluster from 'node:cluster';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { QueryLog } from '../../src/dns/query-log.js';
import { LATENCY_BUCKETS, QueryStats, questionType } from '../../src/dns/query-stats.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { query } from './query-client.js';

describe('questionType reads the qtype from the bytes', () => {
  it.each([
    ['A', 1],
    ['AAAA', 28],
    ['CAA', 257],
    ['HINFO', 13],
  ] as const)('%s', (type, number) => {
    expect(questionType(encodeMessage(query('www.cdn.test', type)))).toBe(number);
  });

  it.each([
    ['no header', Buffer.from([1, 2, 3])],
    ['no question (QDCOUNT 0)', Buffer.from([0, 7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
    ['a label running past the end', Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9])],
    ['a name without its type', Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0])],
    ['a compression pointer', Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])],
  ])('-1 for %s', (_, bytes) => {
    expect(questionType(bytes)).toBe(-1);
  });
});

describe('QueryStats', () => {
  it('counts by transport and qtype slot, and puts each duration in its bucket', () => {
    const stats = new QueryStats();
    stats.record('udp', 1, 0.00001); // first bucket
    stats.record('udp', 1, 0.0003); // le 0.0005
    stats.record('tcp', 13, 7); // HINFO: OTHER; past the last bucket: +Inf only
    stats.record('udp', -1, LATENCY_BUCKETS[0]!); // a bound belongs to its bucket (le)
    expect([stats.queries('udp', 'A'), stats.queries('tcp', 'OTHER'), stats.queries('udp', 'OTHER'), stats.queries('tcp', 'A')]).toEqual([2, 1, 1, 0]);
    expect(stats.latencyBuckets[0]).toBe(2);
    expect(stats.latencyBuckets[LATENCY_BUCKETS.indexOf(0.0005)]).toBe(1);
    expect(stats.latencyBuckets[LATENCY_BUCKETS.length]).toBe(1);
    expect(stats.latencyCount).toBe(4);
  });
});

describe('QueryLog sampling', () => {
  it('1 samples every query', () => {
    const log = new QueryLog(1, () => undefined);
    for (let i = 0; i < 1000; i++) expect(log.sampled()).toBe(true);
  });

  it('0.25 samples about a quarter (10 000 draws: 2500 ± 43 is one sigma, the bounds are 11 sigma)', () => {
    const log = new QueryLog(0.25, () => undefined);
    let n = 0;
    for (let i = 0; i < 10_000; i++) if (log.sampled()) n++;
    expect(n).toBeGreaterThan(2000);
    expect(n).toBeLessThan(3000);
  });
});

describe('QueryLog under node:cluster', () => {
  it('names the worker that answered (a forked worker writes one line)', async () => {
    // The worker runs the compiled module (npm run build): vitest's transform does not reach a forked process.
    cluster.setupPrimary({ exec: new URL('./query-log-worker.mjs', import.meta.url).pathname, silent: true });
    const worker = cluster.fork();
    const [line] = (await once(worker, 'message')) as [string];
    await once(worker, 'exit');
    expect(line).toMatch(/ QUERY dns\.query: client=127\.0\.0\.1:5300 transport=udp qname=www\.cdn\.test qtype=A rcode=dropped handler=drop duration=0\.000010 worker=1\n$/);
  });
});
