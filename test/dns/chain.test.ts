/**
 * The query chain declared once (src/dns/chain.ts): every query ends at exactly one named entry, in the
 * declared order, and a throw is counted under the entry that threw. In-process, bytes in, bytes out.
 */
import { describe, expect, it } from 'vitest';
import type { ClientInfo } from '../../src/dns/client.js';
import { QueryPipeline, type RecursionHandler } from '../../src/dns/pipeline.js';
import { RCODE, type Message } from '../../src/dns/types.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { ZoneCatalog } from '../../src/dns/zone/catalog.js';
import { decodeReply, query } from './query-client.js';

const demo = new ZoneCatalog('zones');
await demo.reload(); // async on main since the zone rework; awaiting a plain value is harmless here

const udp: ClientInfo = { address: '127.0.0.1', port: 1, transport: 'udp' };
const tcp: ClientInfo = { address: '127.0.0.1', port: 1, transport: 'tcp' };

const recursion: RecursionHandler = {
  canHandle: (q) => {
    if (q.questions[0]!.name === 'canhandle-throws.example') throw new TypeError('canHandle bug');
    return true;
  },
  resolve: async (q) => ({ ...q, rcode: RCODE.NOERROR, answers: [{ name: q.questions[0]!.name, type: 'A', ttl: 5, class: 'IN', data: '192.0.2.1' }] }),
};

function pipeline(withRecursion: boolean): QueryPipeline {
  return new QueryPipeline({ zones: () => demo.zoneSet, allowTransfer: ['127.0.0.1/32'], ...(withRecursion && { recursion, allowRecursion: ['127.0.0.0/8'] }) });
}

function withHeader(m: Message, patch: (b: Buffer) => void): Buffer {
  const bytes = encodeMessage(m);
  patch(bytes);
  return bytes;
}

/** A query as bytes, and how it must end: the entry counted, and the rcode (undefined: dropped). */
interface Case {
  what: string;
  bytes: () => Buffer;
  client: ClientInfo;
  recursion?: boolean;
  entry: string;
  rcode: number | undefined;
}

const cases: Case[] = [
  { what: 'a header and garbage', bytes: () => Buffer.concat([encodeMessage(query('rr.cdn.test', 'A')).subarray(0, 12), Buffer.from([0xff, 0xff, 0xff])]), client: udp, entry: 'decode', rcode: RCODE.FORMERR },
  { what: 'fewer than 12 bytes', bytes: () => Buffer.from([1, 2, 3]), client: udp, entry: 'decode', rcode: undefined },
  { what: 'a response (QR=1)', bytes: () => withHeader(query('rr.cdn.test', 'A'), (b) => (b[2]! |= 0x80)), client: udp, entry: 'policy', rcode: undefined },
  { what: 'opcode STATUS', bytes: () => withHeader(query('rr.cdn.test', 'A'), (b) => (b[2]! |= 2 << 3)), client: udp, entry: 'policy', rcode: RCODE.NOTIMP },
  { what: 'two questions', bytes: () => encodeMessage({ ...query('rr.cdn.test', 'A'), questions: [{ name: 'a.cdn.test', type: 'A', class: 'IN' }, { name: 'b.cdn.test', type: 'A', class: 'IN' }] }), client: udp, entry: 'policy', rcode: RCODE.FORMERR },
  { what: 'AXFR over UDP', bytes: () => encodeMessage(query('cdn.test', 'AXFR')), client: udp, entry: 'transfer', rcode: RCODE.REFUSED },
  { what: 'AXFR over TCP from the ACL', bytes: () => encodeMessage(query('cdn.test', 'AXFR')), client: tcp, entry: 'transfer', rcode: RCODE.NOERROR },
  { what: 'AXFR over TCP from outside the ACL', bytes: () => encodeMessage(query('cdn.test', 'AXFR')), client: { ...tcp, address: '127.0.0.2' }, entry: 'transfer', rcode: RCODE.REFUSED },
  { what: 'a name in our zones', bytes: () => encodeMessage(query('www.cdn.test', 'A', { edns: {}, id: 1 })), client: udp, entry: 'authority', rcode: RCODE.NOERROR },
  { what: 'the same name again (cached encoded)', bytes: () => encodeMessage(query('www.cdn.test', 'A', { edns: {}, id: 2 })), client: udp, entry: 'fastpath', rcode: RCODE.NOERROR },
  { what: 'a name outside, RD=1, recursion on', bytes: () => encodeMessage(query('host.example', 'A', { rd: true })), client: udp, recursion: true, entry: 'recursion', rcode: RCODE.NOERROR },
  { what: 'a name outside, RD=1, recursion off', bytes: () => encodeMessage(query('host.example', 'A', { rd: true })), client: udp, entry: 'refused', rcode: RCODE.REFUSED },
  { what: 'a name outside, RD=0, recursion on', bytes: () => encodeMessage(query('host.example', 'A', { rd: false })), client: udp, recursion: true, entry: 'refused', rcode: RCODE.REFUSED },
];

describe('the query chain', () => {
  it('is declared once, in this order, and every entry is a metric label from the start', () => {
    expect(Object.keys(pipeline(false).stats.byHandler)).toEqual(['fastpath', 'decode', 'policy', 'transfer', 'authority', 'recursion', 'refused']);
  });

  const pipelines = { on: pipeline(true), off: pipeline(false) };
  it.each(cases)('$what: ends at $entry', async (c) => {
    const p = c.recursion ? pipelines.on : pipelines.off;
    const before = { ...p.stats.byHandler };
    const droppedBefore = p.stats.dropped;
    const out = await (c.client.transport === 'tcp' ? p.handleTcp(c.bytes(), c.client) : p.handle(c.bytes(), c.client));
    const counted = Object.entries(p.stats.byHandler).filter(([name, n]) => n !== before[name]);
    if (c.rcode === undefined) {
      expect(out).toBeUndefined();
      expect(p.stats.dropped).toBe(droppedBefore + 1);
      expect(counted).toEqual([]);
      return;
    }
    expect(counted).toEqual([[c.entry, (before[c.entry] ?? 0) + 1]]);
    const first = Array.isArray(out) ? out[0]! : out!;
    expect(decodeReply(first).rcode).toBe(c.rcode);
    if (c.entry === 'transfer' && c.rcode === RCODE.NOERROR) expect(Array.isArray(out) && out.length).toBeGreaterThan(0);
  });

  it('counts a throw under the entry that threw, not a routing step', async () => {
    const p = pipeline(true);
    const reply = decodeReply((await p.handle(encodeMessage(query('canhandle-throws.example', 'A', { rd: true })), udp))!);
    expect(reply.rcode).toBe(RCODE.SERVFAIL);
    expect(reply.questions[0]!.name).toBe('canhandle-throws.example');
    expect(p.stats.internalErrors).toEqual({ recursion: 1 });
  });
});
