import { describe, expect, it } from 'vitest';
import { Authority, type DynamicAnswers } from '../../src/dns/authority.js';
import type { ClientInfo } from '../../src/dns/client.js';
import type { RecordType } from '../../src/dns/types.js';
import { ZoneCatalog } from '../../src/dns/zone/catalog.js';
import { expectRRsets } from './rrsets.js';

const catalog = new ZoneCatalog('zones');
await catalog.reload();
const client: ClientInfo = { address: '127.0.0.1', port: 1, transport: 'udp' };
const authority = new Authority(() => catalog.zoneSet);
const ask = (name: string, type: RecordType | 'ANY') => authority.answer({ name, type: type as RecordType, class: 'IN' }, client);
const SOA_NEG = 'cdn.test 60 SOA {"expire":604800,"minimum":60,"mname":"ns1.cdn.test","refresh":3600,"retry":600,"rname":"hostmaster.cdn.test","serial":2024060101}';

describe('authoritative answers from zones/cdn.test.zone', () => {
  const cases: Array<{ q: [string, RecordType | 'ANY']; kind: string; aa: boolean; answers: string[]; authorities?: string[]; additionals?: string[] }> = [
    { q: ['rr.cdn.test', 'A'], kind: 'answer', aa: true, answers: ['rr.cdn.test A 127.0.0.11', 'rr.cdn.test A 127.0.0.12', 'rr.cdn.test A 127.0.0.13'] },
    { q: ['RR.CDN.TEST', 'AAAA'], kind: 'answer', aa: true, answers: ['rr.cdn.test AAAA 2001:db8::11', 'rr.cdn.test AAAA 2001:db8::12'] },
    { q: ['nope.cdn.test', 'A'], kind: 'nxdomain', aa: true, answers: [], authorities: [SOA_NEG] },
    { q: ['rr.cdn.test', 'MX'], kind: 'nodata', aa: true, answers: [], authorities: [SOA_NEG] },
    { q: ['deep.cdn.test', 'A'], kind: 'nodata', aa: true, answers: [], authorities: [SOA_NEG] },
    { q: ['b.deep.cdn.test', 'TXT'], kind: 'nodata', aa: true, answers: [], authorities: [SOA_NEG] },
    { q: ['foo.wild.cdn.test', 'A'], kind: 'answer', aa: true, answers: ['foo.wild.cdn.test A 127.0.0.80'] },
    { q: ['a.b.wild.cdn.test', 'A'], kind: 'answer', aa: true, answers: ['a.b.wild.cdn.test A 127.0.0.80'] },
    { q: ['foo.wild.cdn.test', 'AAAA'], kind: 'nodata', aa: true, answers: [], authorities: [SOA_NEG] },
    { q: ['nope.nowild.cdn.test', 'A'], kind: 'nxdomain', aa: true, answers: [], authorities: [SOA_NEG] },
    {
      q: ['cdn.cdn.test', 'A'],
      kind: 'answer',
      aa: true,
      answers: ['cdn.cdn.test CNAME www.cdn.test', 'www.cdn.test A 127.0.0.11', 'www.cdn.test A 127.0.0.12'],
    },
    { q: ['cdn.cdn.test', 'CNAME'], kind: 'answer', aa: true, answers: ['cdn.cdn.test CNAME www.cdn.test'] },
    {
      q: ['host.sub.cdn.test', 'A'],
      kind: 'referral',
      aa: false,
      answers: [],
      authorities: ['sub.cdn.test NS ns1.sub.cdn.test', 'sub.cdn.test NS ns2.sub.cdn.test'],
      additionals: ['ns1.sub.cdn.test A 127.0.0.53', 'ns2.sub.cdn.test AAAA ::1'],
    },
    { q: ['cdn.test', 'MX'], kind: 'answer', aa: true, answers: ['cdn.test MX {"exchange":"mail.cdn.test","preference":10}'], additionals: ['mail.cdn.test A 127.0.0.25'] },
    {
      q: ['_http._tcp.cdn.test', 'SRV'],
      kind: 'answer',
      aa: true,
      answers: [
        '_http._tcp.cdn.test SRV {"port":80,"priority":10,"target":"www.cdn.test","weight":60}',
        '_http._tcp.cdn.test SRV {"port":8080,"priority":20,"target":"rr.cdn.test","weight":40}',
      ],
      additionals: ['www.cdn.test A 127.0.0.11', 'www.cdn.test A 127.0.0.12', 'rr.cdn.test A 127.0.0.11', 'rr.cdn.test A 127.0.0.12', 'rr.cdn.test A 127.0.0.13', 'rr.cdn.test AAAA 2001:db8::11', 'rr.cdn.test AAAA 2001:db8::12'],
    },
    {
      q: ['cdn.test', 'NS'],
      kind: 'answer',
      aa: true,
      answers: ['cdn.test NS ns1.cdn.test', 'cdn.test NS ns2.cdn.test'],
      additionals: ['ns1.cdn.test A 127.0.0.1', 'ns2.cdn.test A 127.0.0.2', 'ns2.cdn.test AAAA ::1'],
    },
    { q: ['api.cdn.test', 'A'], kind: 'answer', aa: true, answers: ['api.cdn.test A 127.0.0.21'] }, // from the $INCLUDE'd file
    { q: ['21.reverse.cdn.test', 'PTR'], kind: 'answer', aa: true, answers: ['21.reverse.cdn.test PTR api.cdn.test'] },
    { q: ['example.com', 'A'], kind: 'refused', aa: false, answers: [] },
    { q: ['test', 'A'], kind: 'refused', aa: false, answers: [] },
  ];
  it.each(cases)('$q.0 $q.1 -> $kind', ({ q, kind, aa, answers, authorities = [], additionals = [] }) => {
    const out = ask(q[0], q[1]);
    expect(out.kind).toBe(kind);
    expect(out.aa).toBe(aa);
    expectRRsets(out.answers, answers, { ignoreTtl: true });
    expectRRsets(out.authorities, authorities, { ignoreTtl: !authorities.some((a) => a.includes(' 60 SOA')) });
    expectRRsets(out.additionals, additionals, { ignoreTtl: true });
  });

  it('answers ANY with one RRset (RFC 8482)', () => {
    const out = ask('rr.cdn.test', 'ANY');
    expect(out.kind).toBe('answer');
    expect(new Set(out.answers.map((r) => r.type)).size).toBe(1);
  });

  it('big.cdn.test TXT holds more than 1232 bytes', () => {
    const out = ask('big.cdn.test', 'TXT');
    const data = out.answers[0]!.data as Buffer[];
    expect(data.reduce((n, b) => n + b.length + 1, 0)).toBeGreaterThan(1232);
  });
});

describe('dynamic answers (the steering extension point)', () => {
  const calls: string[] = [];
  const steering: DynamicAnswers = {
    name: 'test-steering',
    claims: (key) => key === 'www.cdn.test',
    answer: (name, type, c) => {
      calls.push(`${name} ${type} ${c.clientSubnet?.address ?? c.address}`);
      return type === 'A' ? { records: [{ name, type: 'A', ttl: 20, class: 'IN', data: '127.0.0.77' }], scopePrefixLength: 24 } : undefined;
    },
  };
  const steered = new Authority(() => catalog.zoneSet, { dynamicAnswers: steering });

  it('replaces the zone records for claimed names, with the scope prefix, and is never reusable', () => {
    const out = steered.answer({ name: 'WWW.cdn.test', type: 'A', class: 'IN' }, { ...client, clientSubnet: { family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, address: '192.0.2.0' } });
    expectRRsets(out.answers, ['www.cdn.test 20 A 127.0.0.77']);
    expect(out.scopePrefixLength).toBe(24);
    expect(out.reusable).toBe(false);
    expect(calls).toEqual(['www.cdn.test A 192.0.2.0']);
  });

  it('follows a CNAME into a claimed name and falls back to the zone when the source declines', () => {
    expectRRsets(steered.answer({ name: 'cdn.cdn.test', type: 'A', class: 'IN' }, client).answers, ['cdn.cdn.test CNAME www.cdn.test', 'www.cdn.test A 127.0.0.77'], { ignoreTtl: true });
    const aaaa = steered.answer({ name: 'www.cdn.test', type: 'AAAA', class: 'IN' }, client);
    expect(aaaa.kind).toBe('nodata');
    expect(aaaa.reusable).toBe(false);
  });
});
