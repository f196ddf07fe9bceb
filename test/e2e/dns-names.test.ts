/**
 * Names are byte strings (RFC 2181 §11), end to end: `dnscdn dns` as a child process queried with dig
 * for a label holding a dot and for a label of bytes that are not UTF-8 (issue 10 item 1: either one
 * used to end the process), the question echoed byte for byte on the general and the fast path, and
 * zone-file names written with \. and \DDD served as the same bytes, and resolved through our resolver.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsCli } from './dns-cli.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { createRegistry } from '../../src/metrics.js';
import { loadRootHints } from '../../src/dns/resolver/hints.js';
import { Resolver } from '../../src/dns/resolver/resolver.js';
import { RCODE, type Message } from '../../src/dns/types.js';
import { decodeReply, query, tcpExchange, udpExchange, udpQuery } from '../dns/query-client.js';
import { HINTS_FILE } from '../dns/resolver/hierarchy.js';

const run = promisify(execFile);

/** A zone whose owner names hold a dot inside a label, bytes above 0x7f, a NUL and a backslash. */
const ODD_ZONE = `$ORIGIN odd.test.
$TTL 300
@           SOA  ns1 hostmaster 1 3600 600 604800 60
            NS   ns1
ns1         A    127.0.0.1
a\\.b        A    192.0.2.1
b           A    192.0.2.3
\\200\\201    A    192.0.2.2
nul\\000     A    192.0.2.4
back\\\\      A    192.0.2.5
x\\.y        A    192.0.2.6
alias       CNAME a\\.b
`;

const dir = mkdtempSync(join(tmpdir(), 'dnscdn-names-'));
let child: ChildProcess;
let port: number;

beforeAll(async () => {
  cpSync('zones', dir, { recursive: true });
  writeFileSync(join(dir, 'odd.test.zone'), ODD_ZONE);
  let seen: string;
  ({ child, port, startLog: seen } = await startDnsCli(['--zones', dir]));
  expect(seen).toMatch(/zones loaded loaded=2 failed=0/);
});
afterAll(() => {
  child.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args]);
  return stdout;
}

/** The question line dig prints from the reply: ";NAME.<tabs>IN<tab>TYPE". */
const questionLine = (name: string, type: string): RegExp => new RegExp(`^;${name.replace(/[\\.*]/g, '\\$&')}\\.\\s+IN\\s+${type}$`, 'm');

const NON_UTF8_LABEL = Array.from({ length: 30 }, (_, i) => `\\${String(0x80 + i * 4)}`).join('');

describe('dig with names that are not text', () => {
  it.each([
    ['a label holding a dot', '\\..cdn.test', 'NXDOMAIN'],
    ['a 30-byte label that is not UTF-8', `${NON_UTF8_LABEL}.cdn.test`, 'NXDOMAIN'],
    ['NUL, space and backslash in a label', 'a\\000\\032\\\\.cdn.test', 'NXDOMAIN'],
    ['a dotted label outside our zones', '\\..example.com', 'REFUSED'],
  ])('%s: answered over UDP and TCP with the question echoed, and the process lives', async (_what, name, status) => {
    for (const transport of ['+notcp', '+tcp']) {
      const out = await dig(transport, name, 'A');
      expect(out).toMatch(new RegExp(`status: ${status}`));
      // dig prints names with the same escapes (an injective form): equal text is equal bytes.
      expect(out).toMatch(questionLine(name, 'A'));
    }
    expect(child.exitCode).toBeNull();
    expect((await dig('+short', 'rr.cdn.test', 'A')).trim().split('\n')).toHaveLength(3);
  });

  it('serves zone names written with \\. and \\DDD as those exact bytes', async () => {
    expect(await dig('+short', 'a\\.b.odd.test', 'A')).toBe('192.0.2.1\n');
    expect(await dig('+short', '\\200\\201.odd.test', 'A')).toBe('192.0.2.2\n');
    expect(await dig('+short', 'nul\\000.odd.test', 'A')).toBe('192.0.2.4\n');
    expect(await dig('+short', 'back\\\\.odd.test', 'A')).toBe('192.0.2.5\n');
    // "a.b" as two labels is another name: below b, which has no children.
    expect(await dig('a.b.odd.test', 'A')).toMatch(/status: NXDOMAIN/);
    // "x\.y" is one label under the apex: no empty non-terminal "y" is made up for it (NXDOMAIN, not NODATA).
    expect(await dig('+short', 'x\\.y.odd.test', 'A')).toBe('192.0.2.6\n');
    expect(await dig('y.odd.test', 'A')).toMatch(/status: NXDOMAIN/);
    const alias = await dig('alias.odd.test', 'A');
    expect(alias).toMatch(/^alias\.odd\.test\.\s+300\s+IN\s+CNAME\s+a\\\.b\.odd\.test\.$/m);
    expect(alias).toMatch(/^a\\\.b\.odd\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.1$/m);
    // RFC 4343: case folds on ASCII letters only; \200 and \201 are not letters.
    expect(await dig('+short', 'A\\.B.ODD.test', 'A')).toBe('192.0.2.1\n');
  });
});

describe('the question echoed byte for byte (own client, in-process server)', () => {
  let server: DnsServer;
  let inPort: number;
  beforeAll(async () => {
    server = await startDnsServer({ zonesDir: dir, watchZones: false, listen: [{ host: '127.0.0.1', port: 0 }] });
    inPort = server.addresses[0]!.port;
  });
  afterAll(() => server.close());

  /** A query built byte by byte: id, RD=0, one question of the given labels, type A, class IN, no EDNS. */
  function rawQuery(id: number, labels: Buffer[]): { bytes: Buffer; question: Buffer } {
    const question = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0, 0, 1, 0, 1])]);
    const header = Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    return { bytes: Buffer.concat([header, question]), question };
  }

  const cases: Array<[string, Buffer[]]> = [
    ['a dot', [Buffer.from('.'), Buffer.from('CdN'), Buffer.from('test')]],
    ['non-UTF-8 bytes', [Buffer.from(Array.from({ length: 40 }, (_, i) => 0x80 + i)), Buffer.from('cdn'), Buffer.from('TEST')]],
    ['NUL and backslash, wildcard-synthesised', [Buffer.from([0x00, 0x5c, 0x41]), Buffer.from('wild'), Buffer.from('cdn'), Buffer.from('test')]],
  ];

  it.each(cases)('%s: general path, then fast path, UDP and TCP, all the same bytes', async (_what, labels) => {
    server.reload();
    const { bytes, question } = rawQuery(0x4242, labels);
    const replies: Buffer[] = [];
    for (let i = 0; i < 2; i++) replies.push((await udpExchange(inPort, bytes))!);
    const tcp = await tcpExchange(inPort, bytes);
    for (const reply of [...replies, tcp]) {
      expect(reply.subarray(12, 12 + question.length).equals(question)).toBe(true);
      expect(reply.readUInt16BE(0)).toBe(0x4242);
    }
    expect(replies[1]!.equals(replies[0]!)).toBe(true);
    expect(tcp.equals(replies[0]!)).toBe(true);
  });

  it('keeps names apart that differ only in bytes above ASCII that toLowerCase would fold (0xc0 vs 0xe0)', async () => {
    server.reload();
    for (const b of [0xc0, 0xe0, 0xc0]) {
      const { bytes } = rawQuery(1, [Buffer.from([b]), Buffer.from('wild'), Buffer.from('cdn'), Buffer.from('test')]);
      const reply = decodeReply((await udpExchange(inPort, bytes))!);
      expect(reply.rcode).toBe(RCODE.NOERROR);
      expect(reply.answers[0]!.name).toBe(`\\${b}.wild.cdn.test`); // owned by the name asked (RFC 4592 §3.3.1)
    }
  });

  it('resolves such names through a resolver: names in upstream replies stay bytes, in answers and in the cache', async () => {
    const resolver = new Resolver(
      { rootHints: loadRootHints(HINTS_FILE), forwarders: [{ zone: 'odd.test', servers: [{ host: '127.0.0.1', port: inPort }] }], tryTimeoutMs: 1_500, totalTimeoutMs: 4_000 },
      createRegistry(),
    );
    const front = await startDnsServer({ zonesDir: 'zones', watchZones: false, listen: [{ host: '127.0.0.1', port: 0 }], recursion: resolver, allowRecursion: ['127.0.0.0/8'] });
    try {
      const frontPort = front.addresses[0]!.port;
      const ask = (name: string): Promise<Message> => udpQuery(frontPort, query(name, 'A', { rd: true, edns: {} }));
      for (let i = 0; i < 2; i++) {
        // The second round comes from the resolver's cache.
        const alias = await ask('alias.odd.test');
        expect(alias.rcode).toBe(RCODE.NOERROR);
        expect(alias.answers.map((rr) => [rr.name, rr.type, rr.data])).toEqual([
          ['alias.odd.test', 'CNAME', 'a\\.b.odd.test'],
          ['a\\.b.odd.test', 'A', '192.0.2.1'],
        ]);
        const raw = await ask('\\200\\201.odd.test');
        expect(raw.answers.map((rr) => [rr.name, rr.data])).toEqual([['\\200\\201.odd.test', '192.0.2.2']]);
        expect((await ask('a.b.odd.test')).rcode).toBe(RCODE.NXDOMAIN); // two labels: another name
      }
    } finally {
      await front.close();
    }
  });
});
