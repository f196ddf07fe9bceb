/** Name compression in the wire layer (RFC 1035 §4.1.4): round trips, what may and may not be compressed, sizes. */
import * as dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import type { ClientInfo } from '../../src/dns/client.js';
import { QueryPipeline } from '../../src/dns/pipeline.js';
import type { Message, RecordType, ResourceRecord } from '../../src/dns/types.js';
import { decodeMessage, encodeMessage } from '../../src/dns/wire.js';
import { ZoneCatalog } from '../../src/dns/zone/catalog.js';
import { decodeReply, query } from './query-client.js';
import { expectRRsets } from './rrsets.js';

const catalog = new ZoneCatalog('zones');
await catalog.reload();
const zone = catalog.zoneSet.find('cdn.test')!;
const tcp: ClientInfo = { address: '127.0.0.1', port: 1, transport: 'tcp' };

function reply(answers: ResourceRecord[], authorities: ResourceRecord[] = [], additionals: ResourceRecord[] = []): Message {
  const m = query(answers[0]?.name ?? 'cdn.test', answers[0]?.type ?? 'A', { edns: {} });
  return { ...m, flags: { ...m.flags, qr: true, aa: true }, answers, authorities, additionals };
}

/** dns-packet's own encoding of the same message: every name in full. */
function uncompressedLength(bytes: Buffer): number {
  return dnsPacket.encode(dnsPacket.decode(bytes)).length;
}

/** The wire form of a name without compression. */
function wireName(name: string): Buffer {
  return Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}

describe('compressed encoding', () => {
  it('round-trips every RRset of the demo zone, with the SOA and NS sets beside it', () => {
    const soa = zone.soa.records;
    const ns = [...zone.rrsets()].find((r) => r.type === 'NS' && r.key === 'cdn.test')!.records;
    const types = new Set<RecordType>();
    for (const rrset of zone.rrsets()) {
      types.add(rrset.type);
      const m = reply(rrset.records, [...ns, ...soa], rrset.records);
      const bytes = encodeMessage(m);
      const decoded = decodeMessage(bytes);
      if (decoded.kind !== 'message') throw new Error(`${rrset.name} ${rrset.type}: ${decoded.kind}`);
      // dns-packet's decoded CAA gains an issuerCritical field.
      const expected = rrset.records.map((r) => (r.type === 'CAA' ? { ...r, data: { ...r.data, issuerCritical: false } } : r));
      expectRRsets(decoded.message.answers, expected);
      expectRRsets(decoded.message.additionals, expected);
      expectRRsets(decoded.message.authorities, [...ns, ...soa]);
      expect(decoded.message.questions).toEqual(m.questions);
      // The same message as dns-packet writes it uncompressed decodes to the same thing.
      const uncompressed = dnsPacket.encode(dnsPacket.decode(bytes));
      expect(decoded.message).toEqual(decodeReply(uncompressed));
      expect(bytes.length, `${rrset.name} ${rrset.type}`).toBeLessThan(uncompressed.length);
    }
    expect([...types].sort()).toEqual(['A', 'AAAA', 'CAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT']);
  });

  it('points into earlier names from owners and NS, CNAME, MX and SOA data, never from SRV data (RFC 2782, RFC 3597 §4)', () => {
    const bytes = encodeMessage(
      reply([
        { name: 'cdn.test', type: 'MX', ttl: 1, class: 'IN', data: { preference: 10, exchange: 'cdn.test' } },
        { name: 'cdn.test', type: 'NS', ttl: 1, class: 'IN', data: 'cdn.test' },
        { name: 'cdn.test', type: 'CNAME', ttl: 1, class: 'IN', data: 'cdn.test' },
        { name: 'cdn.test', type: 'SOA', ttl: 1, class: 'IN', data: { mname: 'cdn.test', rname: 'cdn.test', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } },
        { name: 'cdn.test', type: 'SRV', ttl: 1, class: 'IN', data: { priority: 1, weight: 2, port: 3, target: 'cdn.test' } },
      ]),
    );
    // Question at 12: cdn.test = 10 bytes + type/class. Every later owner is a pointer to offset 12.
    let at = 12 + 10 + 4;
    const rdlengths: number[] = [];
    for (let i = 0; i < 5; i++) {
      expect(bytes.readUInt16BE(at), `owner ${i}`).toBe(0xc000 | 12);
      const rdlength = bytes.readUInt16BE(at + 10);
      rdlengths.push(rdlength);
      if (i === 4) expect(bytes.subarray(at + 12 + 6, at + 12 + rdlength)).toEqual(wireName('cdn.test'));
      at += 12 + rdlength;
    }
    // MX: preference + pointer; NS, CNAME: pointer; SOA: 2 pointers + 20; SRV: 6 + the name in full.
    expect(rdlengths).toEqual([4, 2, 2, 24, 16]);
  });

  it('matches names case-insensitively and keeps the case of the name a pointer leads to', () => {
    const bytes = encodeMessage(reply([{ name: 'WWW.Cdn.Test', type: 'A', ttl: 1, class: 'IN', data: '127.0.0.1' }], [{ name: 'cdn.test', type: 'NS', ttl: 1, class: 'IN', data: 'ns.CDN.TEST' }]));
    const m = decodeReply(bytes);
    expect(m.authorities[0]!.name).toBe('Cdn.Test');
    expect(m.authorities[0]!.data).toBe('ns.Cdn.Test');
  });

  it('leaves names past offset 0x3fff uncompressed but still points to earlier ones', () => {
    const answers: ResourceRecord[] = Array.from({ length: 80 }, (_, i) => ({ name: `n${i}.big.test`, type: 'TXT', ttl: 1, class: 'IN', data: ['x'.repeat(250)] }));
    answers.push({ name: 'late.big.test', type: 'CNAME', ttl: 1, class: 'IN', data: 'target.late.big.test' });
    const bytes = encodeMessage(reply(answers));
    expect(bytes.length).toBeGreaterThan(0x4000);
    const m = decodeReply(bytes);
    expect(m.answers.at(-1)!.data).toBe('target.late.big.test');
    expectRRsets(m.answers, answers);
  });
});

describe('reply sizes through the pipeline', () => {
  const pipeline = new QueryPipeline({ zones: () => catalog.zoneSet });
  // Compressed and uncompressed sizes with EDNS (OPT 11 bytes). rr.cdn.test A: 12 header + 17 question
  // + 3 x (2 pointer + 10 + 4) + 11 = 88, where each owner in full would take 13 bytes instead of 2.
  const cases: Array<[string, RecordType, number, number]> = [
    ['rr.cdn.test', 'A', 88, 121],
    ['x.sub.cdn.test', 'A', 123, 203], // referral: 2 NS in authority, glue A + AAAA in additional
    ['cdn.test', 'MX', 74, 103],
    ['_http._tcp.cdn.test', 'SRV', 254, 364], // SRV targets stay in full; their addresses' owners point at them
    ['cdn.cdn.test', 'A', 91, 135], // CNAME chain
  ];
  it.each(cases)('%s %s: %i bytes instead of %i', async (name, type, size, uncompressed) => {
    const bytes = (await pipeline.handle(encodeMessage(query(name, type, { edns: {} })), tcp))!;
    expect(bytes.length).toBe(size);
    expect(uncompressedLength(bytes)).toBe(uncompressed);
  });
});
