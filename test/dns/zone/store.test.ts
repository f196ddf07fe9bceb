import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadZoneFile, ZoneCatalog } from '../../../src/dns/zone/catalog.js';
import { parseMasterText } from '../../../src/dns/zone/parse.js';
import { Zone } from '../../../src/dns/zone/store.js';
import { validateZone } from '../../../src/dns/zone/validate.js';

const HEAD = `$TTL 60
@ SOA ns1 host 1 2 3 4 5
@ NS ns1
ns1 A 192.0.2.1
`;

function validate(body: string): string[] {
  const parsed = parseMasterText(HEAD + body, 'v.zone', { origin: 'example.test' });
  expect(parsed.errors).toEqual([]);
  return validateZone('example.test', 'v.zone', parsed.records).map((e) => e.message);
}

describe('zone validation', () => {
  it.each([
    ['a second SOA', '@ SOA ns1 host 2 2 3 4 5\n', /v\.zone:5: a second SOA/],
    ['SOA below the apex', 'x SOA ns1 host 2 2 3 4 5\n', /v\.zone:5: SOA record below the apex/],
    ['CNAME and other data', 'c CNAME x\nc A 192.0.2.2\n', /v\.zone:6: "c.example.test" has a CNAME and other data/],
    ['two CNAMEs', 'c CNAME x\nc CNAME y\n', /v\.zone:6: .* more than one CNAME/],
    ['missing glue', 'sub NS ns.sub\n', /v\.zone:5: name server "ns.sub.example.test" is below the cut .* no glue/],
    ['out of zone data', 'www.other.test. A 192.0.2.1\n', /v\.zone:5: "www.other.test" is outside the zone/],
  ])('rejects %s', (_label, body, reason) => {
    const errors = validate(body);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(reason);
  });

  it('accepts glue and out-of-zone name servers for a delegation', () => {
    expect(validate('sub NS ns.sub\nns.sub A 192.0.2.9\nother NS ns.elsewhere.test.\n')).toEqual([]);
  });

  it('requires an SOA and NS at the apex', () => {
    const parsed = parseMasterText('$TTL 1\nwww A 192.0.2.1\n', 'e.zone', { origin: 'example.test' });
    const errors = validateZone('example.test', 'e.zone', parsed.records).map((e) => e.message);
    expect(errors).toEqual(['e.zone: no SOA record at the apex example.test', 'e.zone: no NS records at the apex example.test']);
  });
});

describe('name tree lookup', () => {
  const parsed = parseMasterText(
    HEAD +
      `www A 192.0.2.10
*.wild A 192.0.2.80
a.b.deep TXT "x"
sub NS ns.sub
ns.sub A 192.0.2.53
`,
    'l.zone',
    { origin: 'example.test' },
  );
  const zone = Zone.build('example.test', parsed.records.map((r) => r.record));
  const cases: Array<[string, string, string?]> = [
    ['example.test', 'exact', 'example.test'],
    ['www.example.test', 'exact', 'www.example.test'],
    ['b.deep.example.test', 'exact', 'b.deep.example.test'], // empty non-terminal
    ['deep.example.test', 'exact', 'deep.example.test'],
    ['x.wild.example.test', 'wildcard', '*.wild.example.test'],
    ['y.x.wild.example.test', 'wildcard', '*.wild.example.test'],
    ['wild.example.test', 'exact', 'wild.example.test'],
    ['nope.example.test', 'nxdomain'],
    ['x.www.example.test', 'nxdomain'],
    ['x.b.deep.example.test', 'nxdomain'], // b.deep exists, so no wildcard above applies
    ['sub.example.test', 'delegation', 'sub.example.test'],
    ['ns.sub.example.test', 'delegation', 'sub.example.test'],
    ['a.b.sub.example.test', 'delegation', 'sub.example.test'],
  ];
  it.each(cases)('%s -> %s', (name, kind, nodeName) => {
    const r = zone.lookup(name);
    expect(r.kind).toBe(kind);
    if (r.kind === 'exact' || r.kind === 'wildcard') expect(r.node.key).toBe(nodeName);
    if (r.kind === 'delegation') expect(r.cut.key).toBe(nodeName);
  });

  it('an empty non-terminal has no RRsets', () => {
    const r = zone.lookup('deep.example.test');
    expect(r.kind === 'exact' && r.node.rrsets.size).toBe(0);
  });
});

describe('every zone shipped in zones/ loads', () => {
  it('zones/ has no errors', async () => {
    const catalog = new ZoneCatalog('zones');
    const report = await catalog.reload();
    expect(report.failed).toEqual([]);
    expect(report.loaded).toContain('cdn.test');
    expect(catalog.zoneSet.find('rr.cdn.test')?.apex).toBe('cdn.test');
  });
});

describe('reload keeps the last good version of a broken zone', () => {
  it('serves the old zone and reports the file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnscdn-reload-'));
    const file = join(dir, 'example.test.zone');
    writeFileSync(file, HEAD + 'www A 192.0.2.10\n');
    writeFileSync(join(dir, 'other.test.zone'), HEAD.replace('@ NS ns1', '@ NS ns1.example.test.'));
    const catalog = new ZoneCatalog(dir);
    expect((await catalog.reload()).loaded).toEqual(['example.test', 'other.test']);
    const good = catalog.zoneSet.find('www.example.test');

    writeFileSync(file, HEAD + 'www A 192.0.2.10\nbroken A 999.1.1.1\n');
    const report = await catalog.reload();
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0]!.kept).toBe(true);
    expect(report.failed[0]!.errors[0]!.message).toBe(`${file}:6: A "999.1.1.1" is not an IPv4 address`);
    expect(catalog.zoneSet.find('www.example.test')).toBe(good);
    expect(report.loaded).toEqual(['other.test']);

    writeFileSync(file, HEAD + 'www A 192.0.2.11\n');
    await catalog.reload();
    expect(catalog.zoneSet.find('www.example.test')).not.toBe(good);
    expect(loadZoneFile(file, dir).errors).toEqual([]);
  });
});

describe('columnar storage (table.ts) gives back what the file says', () => {
  const records = (text: string) => parseMasterText(HEAD + text, 'c.zone', { origin: 'example.test' }).records.map((r) => r.record);
  const zone = Zone.build(
    'example.test',
    records(
      [
        'Edge A 0.0.0.0',
        'edge A 255.255.255.255',
        'edge A 128.0.0.1',
        'edge A 128.0.0.1', // a duplicate: dropped (RFC 2181 §5)
        ...Array.from({ length: 40 }, (_, i) => `many TXT "t${i % 20}"`), // 20 distinct, past the scan limit
        'ent.deep A 192.0.2.7',
      ].join('\n') + '\n',
    ),
  );

  it('keeps A addresses across the integer form, owner spelling, and one copy of each record in file order', () => {
    const node = zone.node('edge.example.test')!;
    expect(node.name).toBe('Edge.example.test');
    expect(node.rrsets.get('A')!.records.map((r) => [r.name, r.data, r.ttl])).toEqual([
      ['Edge.example.test', '0.0.0.0', 60],
      ['Edge.example.test', '255.255.255.255', 60],
      ['Edge.example.test', '128.0.0.1', 60],
    ]);
    expect(zone.node('many.example.test')!.rrsets.get('TXT')!.records).toHaveLength(20);
    expect(zone.names).toBe(6); // apex, ns1, edge, many, ent.deep and the empty non-terminal deep
  });

  it('hands out the same objects for a name while it is in use, and for ever for a round-robin set', () => {
    // rotation.ts keys its counters by the RRset object; authority.ts de-duplicates additionals by identity.
    const big = Zone.build('example.test', records(Array.from({ length: 1500 }, (_, i) => `n${i} A 192.0.2.1`).join('\n') + '\nrr A 192.0.2.1\nrr A 192.0.2.2\n'));
    const rr = big.node('rr.example.test')!.rrsets.get('A')!;
    const n0 = big.node('n0.example.test')!;
    expect(big.lookup('n0.example.test')).toEqual({ kind: 'exact', node: n0 });
    expect(big.node('n0.example.test')).toBe(n0);
    // Touch more names than are kept: plain nodes are rebuilt (memory stays bounded), the round-robin set is not.
    for (let i = 1; i < 1500; i++) big.node(`n${i}.example.test`);
    expect(big.node('n0.example.test')).not.toBe(n0);
    expect(big.node('n0.example.test')).toEqual(n0);
    expect(big.node('rr.example.test')!.rrsets.get('A')).toBe(rr);
  });
});

describe('reloads asked for while one runs', () => {
  it('are queued once behind it, and that queued run reads the files as they are then', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnscdn-reload-'));
    const file = join(dir, 'example.test.zone');
    writeFileSync(file, HEAD + 'www A 192.0.2.10\n');
    const catalog = new ZoneCatalog(dir);
    const first = catalog.reload();
    writeFileSync(file, HEAD + 'www A 192.0.2.99\n');
    const second = catalog.reload();
    expect(catalog.reload()).toBe(second);
    expect(second).not.toBe(first);
    expect((await first).loaded).toEqual(['example.test']);
    expect((await second).loaded).toEqual(['example.test']);
    const www = catalog.zoneSet.find('www.example.test')!.node('www.example.test')!;
    expect(www.rrsets.get('A')!.records.map((r) => r.data)).toEqual(['192.0.2.99']);
  });
});
