/** End-to-end: the DNS server on free loopback ports, queried with our own client and with dig. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { RCODE } from '../../src/dns/types.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { decodeReply, query, tcpQueries, udpExchange, udpQuery } from '../dns/query-client.js';
import { expectRRsets } from '../dns/rrsets.js';

const run = promisify(execFile);
let server: DnsServer;
let port: number;
let port6: number;

beforeAll(async () => {
  server = await startDnsServer({ zonesDir: 'zones', watchZones: false, listen: [{ host: '127.0.0.1', port: 0 }, { host: '::1', port: 0 }] });
  port = server.addresses[0]!.port;
  port6 = server.addresses[1]!.port;
});
afterAll(() => server.close());

async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args]);
  return stdout;
}

describe('own client over UDP and TCP', () => {
  it('answers over IPv4 and IPv6, UDP and TCP, with AA and the question echoed as sent', async () => {
    const q = query('Rr.CDN.test', 'A', { edns: {} });
    for (const reply of [await udpQuery(port, q), await udpQuery(port6, q, '::1'), (await tcpQueries(port, [q]))[0]!]) {
      expect(reply.id).toBe(q.id);
      expect(reply.flags.aa).toBe(true);
      expect(reply.questions).toEqual([{ name: 'Rr.CDN.test', type: 'A', class: 'IN' }]);
      expectRRsets(reply.answers, ['rr.cdn.test A 127.0.0.11', 'rr.cdn.test A 127.0.0.12', 'rr.cdn.test A 127.0.0.13'], { ignoreTtl: true });
      expect(reply.edns?.udpPayloadSize).toBe(1232);
    }
  });

  it('answers pipelined TCP queries on one connection, each with its own id', async () => {
    const qs = [query('rr.cdn.test', 'AAAA'), query('nope.cdn.test', 'A'), query('big.cdn.test', 'TXT'), query('cdn.test', 'MX')];
    const replies = await tcpQueries(port, qs);
    expect(replies.map((r) => r.id).sort()).toEqual(qs.map((q) => q.id).sort());
    const big = replies.find((r) => r.questions[0]!.name === 'big.cdn.test')!;
    expect(big.flags.tc).toBe(false);
    expect(big.answers).toHaveLength(1);
  });

  it('truncates to 512 bytes without EDNS and to the client size with EDNS, TC=1, then TCP has it all', async () => {
    const plain = await udpExchange(port, encodeMessage(query('big.cdn.test', 'TXT')));
    expect(plain!.length).toBeLessThanOrEqual(512);
    expect(decodeReply(plain!).flags.tc).toBe(true);
    const edns = decodeReply((await udpExchange(port, encodeMessage(query('big.cdn.test', 'TXT', { edns: { udpPayloadSize: 4096 } }))))!);
    expect(edns.flags.tc).toBe(true); // our 1232 cap wins over the client's 4096
    expect(edns.answers).toEqual([]);
    const small = decodeReply((await udpExchange(port, encodeMessage(query('rr.cdn.test', 'A', { edns: { udpPayloadSize: 4096 } }))))!);
    expect(small.flags.tc).toBe(false);
  });

  it.each([
    ['nope.cdn.test', 'A', RCODE.NXDOMAIN],
    ['deep.cdn.test', 'A', RCODE.NOERROR],
    ['example.com', 'A', RCODE.REFUSED],
  ] as const)('%s %s -> rcode %d', async (name, type, rcode) => {
    const reply = await udpQuery(port, query(name, type, { edns: {} }));
    expect(reply.rcode).toBe(rcode);
  });

  it('NOTIMP for other opcodes, FORMERR for QDCOUNT 2 or 0, BADVERS for EDNS version 1', async () => {
    const notify = { ...query('cdn.test', 'SOA'), opcode: 'NOTIFY' as const };
    expect((await udpQuery(port, notify)).rcode).toBe(RCODE.NOTIMP);
    const two = query('cdn.test', 'SOA');
    two.questions.push({ name: 'rr.cdn.test', type: 'A', class: 'IN' });
    expect((await udpQuery(port, two)).rcode).toBe(RCODE.FORMERR);
    expect((await udpQuery(port, { ...query('cdn.test', 'SOA'), questions: [] })).rcode).toBe(RCODE.FORMERR);
    const badvers = await udpQuery(port, query('cdn.test', 'SOA', { edns: { version: 1 } }));
    expect(badvers.rcode).toBe(RCODE.BADVERS);
    expect(badvers.edns?.version).toBe(0);
  });

  it('echoes a valid client subnet with scope 0 and answers FORMERR to a malformed one (RFC 7871 §7.1.1)', async () => {
    const ecs = query('rr.cdn.test', 'A', { edns: { clientSubnet: { family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, address: '192.0.2.0' } } });
    const reply = await udpQuery(port, ecs);
    expect(reply.edns?.clientSubnet).toEqual({ family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, address: '192.0.2.0' });
    expect(reply.answers).toHaveLength(3);
    const bad = query('rr.cdn.test', 'A', { edns: { otherOptions: [{ code: 8, data: Buffer.from([0, 1, 24, 0, 192, 0, 2, 7]) }] } });
    expect((await udpQuery(port, bad)).rcode).toBe(RCODE.FORMERR); // address longer than /24 allows
  });
});

describe('round-robin and the encoded-answer fast path', () => {
  it('over 30 queries each of the 3 addresses comes first exactly 10 times', async () => {
    const first = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const reply = await udpQuery(port, query('rr.cdn.test', 'A', { edns: {} }));
      const a = String(reply.answers[0]!.data);
      first.set(a, (first.get(a) ?? 0) + 1);
    }
    expect(Object.fromEntries(first)).toEqual({ '127.0.0.11': 10, '127.0.0.12': 10, '127.0.0.13': 10 });
  });

  it('fast and general paths give the same bytes (apart from the id and the question as sent)', async () => {
    const cases: Array<[string, 'A' | 'MX' | 'TXT' | 'AAAA']> = [
      ['cdn.test', 'MX'],
      ['nope.cdn.test', 'A'],
      ['x.sub.cdn.test', 'A'],
      ['q.wild.cdn.test', 'TXT'],
      ['rr.cdn.test', 'AAAA'],
    ];
    await server.reload(); // a reload empties the encoded-answer cache: every first query below takes the general path
    for (const [name, type] of cases) {
      for (const edns of [false, {}] as const) {
        // AAAA rotates over 2 records: the 1st (general path) and 3rd (fast path) replies have the same order.
        const replies: Buffer[] = [];
        for (let i = 0; i < 3; i++) {
          const before = server.stats.byHandler.fastpath!;
          replies.push((await udpExchange(port, encodeMessage(query(i === 0 ? name : name.toUpperCase(), type, { edns, id: 7 }))))!);
          expect(server.stats.byHandler.fastpath! - before, `${name} ${type} query ${i}`).toBe(i === 0 ? 0 : 1);
        }
        const fast = decodeReply(replies[2]!);
        expect(fast.questions[0]!.name).toBe(name.toUpperCase());
        // Byte for byte, once the slow reply carries the question as the fast one was asked (same length,
        // at offset 12; compressed names in the records point into it, so they take its case too).
        const slow = Buffer.from(replies[0]!);
        replies[2]!.copy(slow, 12, 12, 12 + name.length + 2);
        expect(slow.equals(replies[2]!), `${name} ${type}`).toBe(true);
      }
    }
  });
});

describe('dig', () => {
  it('rr.cdn.test A: several A records, aa flag, order changes between queries', async () => {
    const out = await dig('rr.cdn.test', 'A');
    expect(out).toMatch(/flags: qr aa rd;/);
    expect(out).toMatch(/status: NOERROR/);
    const order = async () => (await dig('rr.cdn.test', 'A', '+short')).trim();
    const orders = new Set([await order(), await order(), await order()]);
    expect(orders.size).toBe(3);
    for (const o of orders) expect(o.split('\n').sort()).toEqual(['127.0.0.11', '127.0.0.12', '127.0.0.13']);
  });

  it("dig's queries, which carry a cookie, are answered from the encoded answers after the first", async () => {
    const first = await dig('mail.cdn.test', 'A');
    const before = server.stats.byHandler.fastpath!;
    const second = await dig('mail.cdn.test', 'A');
    expect(server.stats.byHandler.fastpath! - before).toBe(1);
    const answer = (out: string): string => /;; ANSWER SECTION:\n(.*)\n/.exec(out)![1]!;
    expect(answer(second)).toBe(answer(first));
  });

  it('nope.cdn.test: NXDOMAIN with the SOA in authority', async () => {
    const out = await dig('nope.cdn.test');
    expect(out).toMatch(/status: NXDOMAIN/);
    expect(out).toMatch(/;; AUTHORITY SECTION:\ncdn\.test\.\s+60\s+IN\s+SOA\s+ns1\.cdn\.test\. hostmaster\.cdn\.test\. 2024060101/);
  });

  it('big.cdn.test TXT +bufsize=512: tc with +ignore, the whole record after dig retries over TCP', async () => {
    expect(await dig('big.cdn.test', 'TXT', '+bufsize=512', '+ignore')).toMatch(/flags: qr aa tc rd;/);
    const full = await dig('big.cdn.test', 'TXT', '+bufsize=512');
    expect(full).toMatch(/Truncated, retrying in TCP mode/);
    expect(full).toMatch(/ANSWER: 1,/);
    expect(full).toContain('"dnscdn big TXT record part 06: ');
  });

  it('parses our compressed names in owners, NS, CNAME, MX, SOA and PTR data, and SRV targets in full', async () => {
    const section = (out: string, name: string): string[] => {
      const m = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)\\n\\n`).exec(out);
      return (m?.[1] ?? '').split('\n').map((l) => l.split(/\s+/).filter((_, i) => i !== 1).join(' ')); // drop the TTL
    };
    const referral = await dig('x.sub.cdn.test', 'A', '+norec');
    expect(section(referral, 'AUTHORITY')).toEqual(['sub.cdn.test. IN NS ns1.sub.cdn.test.', 'sub.cdn.test. IN NS ns2.sub.cdn.test.']);
    expect(section(referral, 'ADDITIONAL')).toEqual(['ns1.sub.cdn.test. IN A 127.0.0.53', 'ns2.sub.cdn.test. IN AAAA ::1']);
    expect(section(await dig('cdn.cdn.test', 'A'), 'ANSWER')).toEqual(['cdn.cdn.test. IN CNAME www.cdn.test.', 'www.cdn.test. IN A 127.0.0.11', 'www.cdn.test. IN A 127.0.0.12']);
    expect(section(await dig('cdn.test', 'MX'), 'ANSWER')).toEqual(['cdn.test. IN MX 10 mail.cdn.test.']);
    expect(section(await dig('cdn.test', 'SOA'), 'ANSWER')).toEqual(['cdn.test. IN SOA ns1.cdn.test. hostmaster.cdn.test. 2024060101 3600 600 604800 60']);
    expect(section(await dig('21.reverse.cdn.test', 'PTR'), 'ANSWER')).toEqual(['21.reverse.cdn.test. IN PTR api.cdn.test.']);
    expect(section(await dig('_http._tcp.cdn.test', 'SRV'), 'ANSWER').sort()).toEqual(['_http._tcp.cdn.test. IN SRV 10 60 80 www.cdn.test.', '_http._tcp.cdn.test. IN SRV 20 40 8080 rr.cdn.test.']);
    expect(section(await dig('cdn.test', 'CAA'), 'ANSWER')).toEqual(['cdn.test. IN CAA 0 issue "letsencrypt.org"']);
  });

  it('EDNS: OPT in the answer, BADVERS for version 1, and +tcp works', async () => {
    expect(await dig('cdn.test', 'SOA')).toMatch(/; EDNS: version: 0, flags:; udp: 1232/);
    expect(await dig('cdn.test', 'SOA', '+edns=1', '+noednsnegotiation')).toMatch(/status: BADVERS/);
    expect(await dig('+tcp', 'sub.cdn.test', 'NS', '+norec')).toMatch(/flags: qr;[\s\S]*AUTHORITY SECTION:\nsub\.cdn\.test\./);
  });
});
