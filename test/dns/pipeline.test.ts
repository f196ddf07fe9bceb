/** The query pipeline in-process (bytes in, bytes out): the fast path's rotation and RA handling. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientInfo } from '../../src/dns/client.js';
import { QueryPipeline, type RecursionHandler } from '../../src/dns/pipeline.js';
import { ResponseRateLimiter } from '../../src/dns/rrl.js';
import { RCODE, type Message } from '../../src/dns/types.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { ZoneCatalog } from '../../src/dns/zone/catalog.js';
import { decodeReply, query } from './query-client.js';

const dir = mkdtempSync(join(tmpdir(), 'dnscdn-pipeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// 40 A records: over 512 bytes, so a UDP query without EDNS is truncated while TCP gets them all.
const manyA = Array.from({ length: 40 }, (_, i) => `many IN A 192.0.2.${i + 1}`).join('\n');
writeFileSync(join(dir, 'rot.test.zone'), `$ORIGIN rot.test.\n$TTL 60\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n${manyA}\n`);
const catalog = new ZoneCatalog(dir);
await catalog.reload();
const demo = new ZoneCatalog('zones');
await demo.reload();

const tcp: ClientInfo = { address: '127.0.0.1', port: 1, transport: 'tcp' };
const udp: ClientInfo = { address: '127.0.0.1', port: 1, transport: 'udp' };

async function ask(pipeline: QueryPipeline, m: Message, client: ClientInfo): Promise<Message> {
  const bytes = await pipeline.handle(encodeMessage(m), client);
  if (!bytes) throw new Error('dropped');
  return decodeReply(bytes);
}

describe('round-robin through the fast path', () => {
  it('a query whose cached reply is too big for UDP turns the rotation once, not twice', async () => {
    const pipeline = new QueryPipeline({ zones: () => catalog.zoneSet });
    const first: string[] = [];
    const tcpFirst = async (): Promise<void> => {
      const reply = await ask(pipeline, query('many.rot.test', 'A'), tcp);
      expect(reply.answers).toHaveLength(40);
      first.push(String(reply.answers[0]!.data));
    };
    await tcpFirst(); // general path, offset 0, fills the encoded-answer cache
    await tcpFirst(); // fast path, offset 1
    const fastBefore = pipeline.stats.byHandler.fastpath!;
    const truncated = await ask(pipeline, query('many.rot.test', 'A'), udp); // fast path too big -> general path, offset 2
    expect(truncated.flags.tc).toBe(true);
    expect(pipeline.stats.byHandler.fastpath!).toBe(fastBefore);
    await tcpFirst(); // offset 3
    expect(first).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.4']);
    expect(pipeline.stats.byHandler.fastpath!).toBe(2);
  });
});

describe('the fast path with recursion configured', () => {
  const resolved: string[] = [];
  const recursion: RecursionHandler = {
    canHandle: () => true,
    resolve: async (q) => {
      resolved.push(q.questions[0]!.name);
      return { ...q, rcode: RCODE.NOERROR, answers: [{ name: q.questions[0]!.name, type: 'A', ttl: 5, class: 'IN', data: '192.0.2.200' }] };
    },
  };
  const pipeline = new QueryPipeline({ zones: () => demo.zoneSet, recursion, allowRecursion: ['127.0.0.0/8'] });
  const allowed: ClientInfo = { address: '127.0.0.9', port: 1, transport: 'udp' };
  const other: ClientInfo = { address: '::1', port: 1, transport: 'udp' };

  it('keeps authoritative answers on the fast path, with RA for clients that may recurse only', async () => {
    const before = pipeline.stats.byHandler.fastpath!;
    const replies: Array<[ClientInfo, Message]> = [];
    for (let i = 0; i < 3; i++) {
      for (const client of [allowed, other]) replies.push([client, await ask(pipeline, query('www.cdn.test', 'A', { rd: true, edns: {} }), client)]);
    }
    expect(pipeline.stats.byHandler.fastpath! - before).toBe(5); // all but the first
    for (const [client, reply] of replies) {
      expect(reply.flags.aa).toBe(true);
      expect(reply.flags.ra, client.address).toBe(client === allowed);
      expect(reply.answers.map((a) => a.data).sort()).toEqual(['127.0.0.11', '127.0.0.12']);
    }
  });

  it('still recurses for names outside our zones, and refuses clients outside the ACL', async () => {
    const reply = await ask(pipeline, query('elsewhere.example', 'A', { rd: true }), allowed);
    expect(reply.flags.ra).toBe(true);
    expect(reply.answers.map((a) => a.data)).toEqual(['192.0.2.200']);
    expect((await ask(pipeline, query('elsewhere.example', 'A', { rd: true }), other)).rcode).toBe(RCODE.REFUSED);
    expect((await ask(pipeline, query('elsewhere.example', 'A', { rd: true }), allowed)).answers).toHaveLength(1);
    expect(resolved).toEqual(['elsewhere.example', 'elsewhere.example']);
  });
});

describe('the fast path and EDNS cookies (RFC 7873)', () => {
  it('serves queries with a well-formed cookie option from the encoded answers; anything else takes the general path', async () => {
    const pipeline = new QueryPipeline({ zones: () => demo.zoneSet });
    const withOption = (data: Buffer, code = 10): Message => query('cdn.test', 'MX', { edns: { otherOptions: [{ code, data }] } });
    const plain = await ask(pipeline, query('cdn.test', 'MX', { edns: {} }), udp); // one record: no rotation
    const cases: Array<[string, Message, number]> = [
      ['client cookie', withOption(Buffer.alloc(8, 1)), 1],
      ['client and server cookie', withOption(Buffer.alloc(24, 2)), 1],
      ['cookie of a bad length', withOption(Buffer.alloc(5, 3)), 0],
      ['another option', withOption(Buffer.alloc(8, 4), 65001), 0],
    ];
    for (const [label, m, hits] of cases) {
      const before = pipeline.stats.byHandler.fastpath!;
      const reply = await ask(pipeline, m, udp);
      expect(pipeline.stats.byHandler.fastpath! - before, label).toBe(hits);
      expect({ ...reply, id: 0 }, label).toEqual({ ...plain, id: 0 });
    }
  });
});

describe('response-rate limiting inside the boundary', () => {
  afterEach(() => vi.restoreAllMocks());
  const rrl = { responsesPerSecond: 100, slip: 2, window: 15, ipv4Prefix: 24, ipv6Prefix: 56, exempt: [] };

  // Fault injection: a limiter that throws stands for any bug in rrl.ts. The query must still get an
  // answer (SERVFAIL), counted under 'rrl', and never an exception out of handle() or a rejected promise.
  it('turns a throw in RRL into SERVFAIL counted under rrl, on the synchronous and the asynchronous path', async () => {
    const recursion: RecursionHandler = {
      canHandle: () => true,
      resolve: async (q) => ({ ...q, rcode: RCODE.NOERROR, answers: [{ name: q.questions[0]!.name, type: 'A', ttl: 5, class: 'IN', data: '192.0.2.200' }] }),
    };
    const pipeline = new QueryPipeline({ zones: () => demo.zoneSet, rrl, recursion, allowRecursion: ['127.0.0.0/8'] });
    vi.spyOn(ResponseRateLimiter.prototype, 'apply').mockImplementation(() => {
      throw new Error('rrl bug');
    });
    const sync = pipeline.handle(encodeMessage(query('www.cdn.test', 'A')), udp);
    expect(sync).not.toBeInstanceOf(Promise);
    expect(decodeReply(sync as Buffer).rcode).toBe(RCODE.SERVFAIL);
    const recursive = await ask(pipeline, query('elsewhere.example', 'A', { rd: true }), udp);
    expect(recursive.rcode).toBe(RCODE.SERVFAIL);
    expect(pipeline.stats.internalErrors).toEqual({ rrl: 2 });
    expect(pipeline.stats.errors).toBe(2);
    // Over TCP RRL does not run: the answer is whole.
    expect((await ask(pipeline, query('www.cdn.test', 'A'), tcp)).rcode).toBe(RCODE.NOERROR);
  });

  it('still limits and slips UDP replies once the chain is done (fast path included)', async () => {
    const pipeline = new QueryPipeline({ zones: () => demo.zoneSet, rrl: { ...rrl, responsesPerSecond: 1, slip: 1 } });
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await ask(pipeline, query('cdn.test', 'MX'), udp));
    expect(replies.map((r) => r.flags.tc)).toEqual([false, true, true, true]);
    expect(pipeline.rrlCounters).toEqual({ limited: 3, slipped: 3, dropped: 0 });
    expect(pipeline.stats.errors).toBe(0);
  });
});
