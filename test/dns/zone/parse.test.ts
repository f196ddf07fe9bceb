import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMasterFile, parseMasterText } from '../../../src/dns/zone/parse.js';
import { expectRRsets } from '../rrsets.js';

const parse = (text: string, origin = 'example.test') => parseMasterText(text, 'test.zone', { origin });
const records = (text: string, origin?: string) => {
  const r = parse(text, origin);
  expect(r.errors.map((e) => e.message)).toEqual([]);
  return r.records.map((p) => p.record);
};

describe('master file syntax (RFC 1035 §5.1)', () => {
  it('handles $ORIGIN, $TTL, @, relative and absolute names, inherited owner and TTL', () => {
    const rs = records(`$TTL 1h
@ IN NS ns1
ns1 A 192.0.2.1
    AAAA 2001:db8::1
$ORIGIN other.test.
www 60 IN CNAME target.example.test.
   IN 120 TXT plain
`);
    expectRRsets(rs, [
      'example.test 3600 NS ns1.example.test',
      'ns1.example.test 3600 A 192.0.2.1',
      'ns1.example.test 3600 AAAA 2001:db8::1',
      'www.other.test 60 CNAME target.example.test',
      'www.other.test 120 TXT plain',
    ]);
  });

  it('uses the previous explicit TTL when there is no $TTL (RFC 1035 §5.1)', () => {
    expectRRsets(records('a 77 A 192.0.2.1\nb A 192.0.2.2\n'), ['a.example.test 77 A 192.0.2.1', 'b.example.test 77 A 192.0.2.2']);
  });

  it('joins parentheses across lines and drops comments', () => {
    const rs = records(`$TTL 300
@ SOA ns1 hostmaster ( ; start
   42 ; serial
   1h 10m 1w
   60 ) ; end
`);
    expect(rs).toHaveLength(1);
    expect(rs[0]).toMatchObject({ type: 'SOA', data: { mname: 'ns1.example.test', rname: 'hostmaster.example.test', serial: 42, refresh: 3600, retry: 600, expire: 604800, minimum: 60 } });
  });

  it('reads quoted strings with escapes, several strings, \\DDD and ; inside quotes', () => {
    const rs = records(`$TTL 1
t TXT "a \\"quoted\\" word; not a comment" unquoted "\\065\\066C" "semi\\;colon"
`);
    const data = rs[0]!.data as Buffer[];
    expect(data.map((b) => b.toString('latin1'))).toEqual(['a "quoted" word; not a comment', 'unquoted', 'ABC', 'semi;colon']);
  });

  it('decodes \\DDD in names and keeps case', () => {
    expectRRsets(records('$TTL 1\nW\\087w A 192.0.2.1\n'), ['www.example.test 1 A 192.0.2.1']);
    expect(records('$TTL 1\nMiXeD A 192.0.2.1\n')[0]!.name).toBe('MiXeD.example.test');
  });

  it('parses MX, SRV, PTR, CAA', () => {
    expectRRsets(
      records(`$TTL 5
@ MX 10 mail
_sip._udp SRV 1 2 5060 sip.example.test.
1 PTR host
@ CAA 0 issue "ca.example"
`),
      [
        'example.test 5 MX {"exchange":"mail.example.test","preference":10}',
        '_sip._udp.example.test 5 SRV {"port":5060,"priority":1,"target":"sip.example.test","weight":2}',
        '1.example.test 5 PTR host.example.test',
        'example.test 5 CAA {"flags":0,"tag":"issue","value":"ca.example"}',
      ],
    );
  });

  it('parses a root hints file (named.root form) with origin "."', () => {
    const rs = records(
      `.                        3600000      NS    A.ROOT-SERVERS.NET.
A.ROOT-SERVERS.NET.      3600000      A     198.41.0.4
A.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30
`,
      '.',
    );
    expectRRsets(rs, ['. 3600000 NS A.ROOT-SERVERS.NET', 'a.root-servers.net 3600000 A 198.41.0.4', 'a.root-servers.net 3600000 AAAA 2001:503:ba3e::2:30']);
  });
});

describe('every parse error names the file, the line and the problem', () => {
  const cases: Array<[string, string, number, RegExp]> = [
    ['unknown type', '$TTL 1\nx BOGUS 1\n', 2, /unknown or unsupported record type "BOGUS"/],
    ['bad IPv4', '$TTL 1\nx A 300.1.1.1\n', 2, /not an IPv4 address/],
    ['bad IPv6', '$TTL 1\nx AAAA 2001:::1::\n', 2, /not an IPv6 address/],
    ['missing field', '$TTL 1\nx MX 10\n', 2, /MX needs 2 fields/],
    ['extra field', '$TTL 1\nx A 192.0.2.1 192.0.2.2\n', 2, /A needs 1 field/],
    ['SRV port too big', '$TTL 1\nx SRV 1 1 70000 t\n', 2, /SRV port 70000 is larger than 65535/],
    ['non-numeric MX preference', '$TTL 1\nx MX ten mail\n', 2, /MX preference "ten" is not a number/],
    ['no TTL', 'x A 192.0.2.1\n', 1, /no TTL/],
    ['bad TTL', '$TTL 1x\n', 1, /\$TTL "1x" is not a number/],
    ['TTL too large', '$TTL 4294967295\n', 1, /larger than 2\^31-1/],
    ['relative $ORIGIN', '$ORIGIN foo\n', 1, /must be absolute/],
    ['unknown directive', '$GENERATE 1-2 x A 1\n', 1, /unknown directive/],
    ['blank owner first', '$TTL 1\n  A 192.0.2.1\n', 2, /no owner name/],
    ['unterminated quote', '$TTL 1\nx TXT "abc\n', 2, /unterminated quoted string/],
    ['unclosed parenthesis', '$TTL 1\nx SOA a b ( 1 2 3 4\n', 2, /never closed/],
    ['unbalanced )', '$TTL 1\nx A 192.0.2.1 )\n', 2, /unbalanced "\)"/],
    ['nested (', '$TTL 1\nx TXT ( ( a ) )\n', 2, /nested/],
    ['bad \\DDD', '$TTL 1\nx TXT "\\999"\n', 2, /greater than 255/],
    ['short \\DDD', '$TTL 1\nx TXT "\\12"\n', 2, /three digits/],
    ['long label', `$TTL 1\n${'a'.repeat(64)} A 192.0.2.1\n`, 2, /label longer than 63/],
    ['empty label', '$TTL 1\na..b A 192.0.2.1\n', 2, /empty label/],
    ['long name', `$TTL 1\n${Array(9).fill('a'.repeat(30)).join('.')} A 192.0.2.1\n`, 2, /longer than 255 bytes/],
    ['TXT string over 255', `$TTL 1\nx TXT "${'a'.repeat(256)}"\n`, 2, /at most 255/],
    ['class CH', '$TTL 1\nx CH A 192.0.2.1\n', 2, /class CH is not supported/],
    ['missing type', '$TTL 1\nx 30 IN\n', 2, /missing record type/],
    ['CAA tag', '$TTL 1\nx CAA 0 bogus "v"\n', 2, /CAA tag "bogus"/],
    ['$INCLUDE without a folder', '$INCLUDE other.inc\n', 1, /\$INCLUDE is not allowed here/],
  ];
  it.each(cases)('%s', (_label, text, line, reason) => {
    const r = parse(text);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.message).toMatch(new RegExp(`^test\\.zone:${line}: `));
    expect(r.errors[0]!.message).toMatch(reason);
  });

  it('reports every bad line and keeps parsing the good ones', () => {
    const r = parse('$TTL 1\na A 1.2.3\nb A 192.0.2.2\nc A x\n');
    expect(r.errors.map((e) => e.position.line)).toEqual([2, 4]);
    expect(r.records.map((p) => p.record.name)).toEqual(['b.example.test']);
  });
});

describe('$INCLUDE (relative to the zones folder, never outside it)', () => {
  const root = mkdtempSync(join(tmpdir(), 'dnscdn-include-'));
  const zones = join(root, 'zones');
  mkdirSync(join(zones, 'parts'), { recursive: true });
  writeFileSync(join(root, 'secret.inc'), '$TTL 1\nstolen A 192.0.2.66\n');
  writeFileSync(join(zones, 'parts', 'hosts.inc'), 'inc A 192.0.2.7\n');
  writeFileSync(join(zones, 'loop.inc'), '$INCLUDE loop.inc\n');
  const parseFile = (text: string) => {
    const file = join(zones, 'main.zone');
    writeFileSync(file, text);
    return parseMasterFile(file, { origin: 'example.test', includeDir: zones });
  };

  it('reads the included file with the current origin, which it cannot change for the parent', () => {
    const r = parseFile('$TTL 1\n$INCLUDE parts/hosts.inc\n$INCLUDE parts/hosts.inc sub.example.test.\nafter A 192.0.2.8\n');
    expect(r.errors).toEqual([]);
    expect(r.records.map((p) => `${p.record.name} ${p.file.endsWith('hosts.inc') ? 'inc' : 'main'}:${p.line}`)).toEqual([
      'inc.example.test inc:1',
      'inc.sub.example.test inc:1',
      'after.example.test main:4',
    ]);
  });

  it.each([
    ['../secret.inc', /outside the zones folder/],
    ['/etc/hostname', /must be relative/],
    ['missing.inc', /does not exist/],
    ['loop.inc', /nested more than 8 deep/],
  ])('rejects %s', (path, reason) => {
    const r = parseFile(`$TTL 1\n$INCLUDE ${path}\n`);
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors[0]!.message).toMatch(reason);
    expect(r.records).toEqual([]);
  });
});
