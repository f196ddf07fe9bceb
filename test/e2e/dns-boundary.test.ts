/**
 * The one catch at the pipeline's boundary: whatever throws or rejects while a query is answered, over
 * UDP or TCP, the client gets SERVFAIL with its question, the chain entry (or 'encode') is
 * counted in dnscdn_dns_internal_errors_total, and the server keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamicAnswers } from '../../src/dns/authority.js';
import type { RecursionHandler } from '../../src/dns/pipeline.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { RCODE, type Message, type ResourceRecord } from '../../src/dns/types.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { decodeReply, query, tcpQueries, udpExchange, udpQuery } from '../dns/query-client.js';

/** 70,000 bytes of TXT: its RDLENGTH cannot be written, so encoding the reply throws a RangeError. */
const UNSENDABLE: ResourceRecord = { name: 'x', type: 'TXT', class: 'IN', ttl: 60, data: Array.from({ length: 280 }, () => Buffer.alloc(250, 0x61)) };

const dynamicAnswers: DynamicAnswers = {
  name: 'hostile-hook',
  claims: (key) => key === 'throws.cdn.test' || key === 'unsendable.cdn.test',
  answer: (name) => {
    if (name === 'throws.cdn.test') throw new TypeError('hook bug');
    return { records: [UNSENDABLE] };
  },
};

const recursion: RecursionHandler = {
  canHandle: () => true,
  resolve: async (q: Message): Promise<Message> => {
    await new Promise((r) => setTimeout(r, 5));
    const name = q.questions[0]!.name;
    if (name === 'rejects.example') throw new Error('resolver bug');
    if (name === 'refused.example') return { ...q, rcode: RCODE.REFUSED };
    return { ...q, rcode: 0, answers: [{ ...UNSENDABLE, name }] };
  },
};

let server: DnsServer;
let port: number;

beforeAll(async () => {
  server = await startDnsServer({
    zonesDir: 'zones',
    watchZones: false,
    listen: [{ host: '127.0.0.1', port: 0 }],
    dynamicAnswers,
    recursion,
    allowRecursion: ['127.0.0.0/8'],
  });
  port = server.addresses[0]!.port;
});
afterAll(() => server.close());

async function stillAnswers(): Promise<void> {
  const udp = await udpQuery(port, query('rr.cdn.test', 'A', { edns: {} }));
  expect(udp.answers).toHaveLength(3);
  const [tcp] = await tcpQueries(port, [query('rr.cdn.test', 'A')]);
  expect(tcp!.answers).toHaveLength(3);
}

describe('a throw or rejection anywhere in answering', () => {
  it.each([
    ['a DynamicAnswers hook that throws', 'throws.cdn.test', false, RCODE.SERVFAIL, 'authority'],
    ['a DynamicAnswers answer that cannot be encoded (sync)', 'unsendable.cdn.test', false, RCODE.SERVFAIL, 'encode'],
    ['a resolver that rejects', 'rejects.example', true, RCODE.SERVFAIL, 'recursion'],
    ['a resolver answer that cannot be encoded (async)', 'unsendable.example', true, RCODE.SERVFAIL, 'encode'],
    ['a resolver that answers REFUSED as a value (its rcode, not an internal error)', 'refused.example', true, RCODE.REFUSED, undefined],
  ] as const)('%s: answered over UDP and TCP, counted, and the server lives', async (_what, name, rd, rcode, step) => {
    const before = step === undefined ? 0 : (server.stats.internalErrors[step] ?? 0);
    const q = query(name, 'A', { rd, edns: {} });
    const udp = decodeReply((await udpExchange(port, encodeMessage(q), '127.0.0.1', 2000))!);
    const [tcp] = await tcpQueries(port, [query(name, 'A', { rd })]);
    for (const reply of [udp, tcp!]) {
      expect(reply.rcode).toBe(rcode);
      expect(reply.questions).toEqual([{ name, type: 'A', class: 'IN' }]);
      expect(reply.answers).toEqual([]);
    }
    expect(udp.id).toBe(q.id);
    if (step !== undefined) expect(server.stats.internalErrors[step]).toBe(before + 2);
    await stillAnswers();
  });

  it('exports the count by step', async () => {
    const text = await server.registry.metrics();
    expect(text).toMatch(/^dnscdn_dns_internal_errors_total\{step="authority",role="dns"\} [1-9]/m);
    expect(text).toMatch(/^dnscdn_dns_internal_errors_total\{step="encode",role="dns"\} [1-9]/m);
  });
});
