/**
 * Bad input never crashes the server: random and mutated packets, labels of any bytes and absurd section
 * counts over UDP and TCP, hostile TCP clients, broken zone reloads.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { RCODE } from '../../src/dns/types.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { decodeReply, query, tcpExchangeAll, tcpQueries, udpExchange, udpQuery } from '../dns/query-client.js';

const run = promisify(execFile);
let server: DnsServer;
let port: number;
let zonesDir: string;

beforeAll(async () => {
  zonesDir = mkdtempSync(join(tmpdir(), 'dnscdn-zones-'));
  cpSync('zones', zonesDir, { recursive: true });
  server = await startDnsServer({
    zonesDir,
    watchZones: true,
    listen: [{ host: '127.0.0.1', port: 0 }],
    maxTcpConnections: 4,
    tcp: { idleTimeoutMs: 300 },
  });
  port = server.addresses[0]!.port;
});
afterAll(() => server.close());

/** A tiny deterministic PRNG so a failing case can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function stillAnswers(): Promise<void> {
  const reply = await udpQuery(port, query('rr.cdn.test', 'A', { edns: {} }));
  expect(reply.answers).toHaveLength(3);
}

describe('fuzzing over UDP', () => {
  it('answers FORMERR where a header is readable, drops the rest, and keeps answering', async () => {
    const rand = prng(2024);
    const valid = [
      encodeMessage(query('rr.cdn.test', 'A', { edns: {} })),
      encodeMessage(query('big.cdn.test', 'TXT')),
      encodeMessage(query('x.wild.cdn.test', 'A', { edns: { clientSubnet: { family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, address: '192.0.2.0' } } })),
    ];
    const packets: Buffer[] = [];
    for (let i = 0; i < 1500; i++) {
      const kind = i % 3;
      if (kind === 0) {
        packets.push(Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256))));
      } else {
        const base = valid[i % valid.length]!;
        const p = Buffer.from(kind === 1 ? base.subarray(0, Math.floor(rand() * base.length)) : base);
        if (kind === 2) for (let m = 0; m < 1 + Math.floor(rand() * 4); m++) p[Math.floor(rand() * p.length)] = Math.floor(rand() * 256);
        p[2] = p[2]! & 0x7f; // keep QR clear so the packet counts as a query
        packets.push(p);
      }
    }
    let answered = 0;
    // Batches small enough, and a reply timeout long enough, that a loaded 2-core machine loses no replies:
    // this test is about what the server answers, not how fast.
    for (let i = 0; i < packets.length; i += 250) {
      const batch = packets.slice(i, i + 250);
      const replies = await Promise.all(batch.map((p) => udpExchange(port, p, '127.0.0.1', 1500)));
      replies.forEach((reply, j) => {
        const sent = batch[j]!;
        if (sent.length < 12) expect(reply).toBeUndefined();
        if (!reply) return;
        answered++;
        expect(reply.readUInt16BE(0)).toBe(sent.readUInt16BE(0)); // every reply answers the id it was sent
        expect(reply[2]! & 0x80).toBe(0x80);
      });
    }
    expect(answered).toBeGreaterThan(packets.length / 2);
    expect(server.stats.formerr).toBeGreaterThan(100);
    expect(server.stats.dropped).toBeGreaterThan(10);
    expect(server.stats.errors).toBe(0);
    await stillAnswers();
  });

  it('a garbage body after a good header gets FORMERR with the same id', async () => {
    const bytes = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x61]);
    const reply = await udpExchange(port, bytes);
    expect(reply!.readUInt16BE(0)).toBe(0x1234);
    expect(reply!.readUInt16BE(2) & 0xf).toBe(RCODE.FORMERR);
  });
});

/** Label bytes the old text codec broke on, drawn often so that most names hold several. */
const AWKWARD_BYTES = [0x2e, 0x5c, 0x00, 0x20, 0x7f, 0x80, 0xc0, 0xc3, 0xe0, 0xff, 0x41];

/** A name under `suffix` (or alone) of random labels: any byte, sometimes a long run that is not UTF-8. */
function randomName(rand: () => number, suffix: Buffer[]): Buffer[] {
  const labels: Buffer[] = [];
  let wire = 1 + suffix.reduce((n, l) => n + l.length + 1, 0);
  for (let i = 0, count = 1 + Math.floor(rand() * 3); i < count; i++) {
    const long = rand() < 0.25;
    const len = long ? 22 + Math.floor(rand() * 42) : 1 + Math.floor(rand() * 10);
    if (wire + len + 1 > 255) break;
    labels.push(Buffer.from(Array.from({ length: len }, () => (long ? 0x80 + Math.floor(rand() * 0x80) : rand() < 0.4 ? AWKWARD_BYTES[Math.floor(rand() * AWKWARD_BYTES.length)]! : Math.floor(rand() * 256)))));
    wire += len + 1;
  }
  return [...labels, ...suffix];
}

const SUFFIXES = [[], ['cdn', 'test'], ['wild', 'cdn', 'test'], ['example', 'com']].map((s) => s.map((l) => Buffer.from(l)));
const QTYPES = [1, 28, 16, 15, 255, 5];

/** One query: id, flags (RD random), one question, optionally an empty OPT; and the question's bytes. */
function hostileQuery(rand: () => number, id: number): { bytes: Buffer; question: Buffer; absurdCounts: boolean } {
  const labels = randomName(rand, SUFFIXES[Math.floor(rand() * SUFFIXES.length)]!);
  const question = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0, 0, QTYPES[Math.floor(rand() * QTYPES.length)]!, 0, 1])]);
  const edns = rand() < 0.5;
  const header = Buffer.from([id >> 8, id & 0xff, rand() < 0.5 ? 1 : 0, 0, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0]);
  const bytes = Buffer.concat([header, question, edns ? Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0)]);
  // Absurd section counts: far more records than the bytes could hold (issue 10 item 5).
  const absurdCounts = rand() < 0.2;
  if (absurdCounts) for (const at of [4, 6, 8, 10]) bytes.writeUInt16BE(rand() < 0.5 ? 0xffff : 0x1000 + Math.floor(rand() * 0xefff), at);
  return { bytes, question, absurdCounts };
}

describe('fuzzing names and section counts over UDP and TCP', () => {
  /** Every reply answers its query: same id, QR set; FORMERR for absurd counts; otherwise the question echoed byte for byte. */
  function checkReply(sent: { bytes: Buffer; question: Buffer; absurdCounts: boolean }, reply: Buffer | undefined): void {
    expect(reply, 'every query is answered').toBeDefined();
    expect(reply!.readUInt16BE(0)).toBe(sent.bytes.readUInt16BE(0));
    expect(reply![2]! & 0x80).toBe(0x80);
    const rcode = reply![3]! & 0xf;
    if (sent.absurdCounts) {
      expect(rcode).toBe(RCODE.FORMERR);
      return;
    }
    expect([RCODE.NOERROR, RCODE.NXDOMAIN, RCODE.REFUSED]).toContain(rcode);
    expect(reply!.subarray(12, 12 + sent.question.length).equals(sent.question)).toBe(true);
  }

  it('answers queries whose labels hold any bytes, and absurd counts with FORMERR, then still answers', async () => {
    const rand = prng(4343);
    const packets = Array.from({ length: 900 }, (_, i) => hostileQuery(rand, i));
    const internalBefore = Object.values(server.stats.internalErrors).reduce((a, b) => a + b, 0);
    for (let i = 0; i < 600; i += 200) {
      const batch = packets.slice(i, i + 200);
      const replies = await Promise.all(batch.map((p) => udpExchange(port, p.bytes, '127.0.0.1', 3000)));
      batch.forEach((p, j) => checkReply(p, replies[j]));
    }
    // TCP: pipelined on one connection per 100 queries (the listener here caps open connections at 4).
    for (let i = 600; i < packets.length; i += 100) {
      const batch = packets.slice(i, i + 100);
      const replies = await tcpExchangeAll(port, batch.map((p) => p.bytes));
      const byId = new Map(replies.map((r) => [r.readUInt16BE(0), r]));
      batch.forEach((p) => checkReply(p, byId.get(p.bytes.readUInt16BE(0))));
    }
    // The codec handled every name: nothing needed the boundary's SERVFAIL.
    expect(Object.values(server.stats.internalErrors).reduce((a, b) => a + b, 0)).toBe(internalBefore);
    await stillAnswers();
    const [tcp] = await tcpQueries(port, [query('rr.cdn.test', 'A')]);
    expect(tcp!.answers).toHaveLength(3);
  });

  it('answers the 29-byte query with all four counts at 65535 with FORMERR over UDP and TCP', async () => {
    const bytes = Buffer.concat([Buffer.from([0xab, 0xcd, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0, 0, 1, 0, 1]), Buffer.alloc(12)]);
    expect(bytes.length).toBe(29);
    for (const reply of [await udpExchange(port, bytes), (await tcpExchangeAll(port, [bytes]))[0]]) {
      expect(reply!.readUInt16BE(0)).toBe(0xabcd);
      expect(reply![3]! & 0xf).toBe(RCODE.FORMERR);
    }
  });

  it('echoes unknown opcodes (3, 6-15) in NOTIMP replies, as Knot and BIND do (dig +opcode)', async () => {
    for (const opcode of [3, 6, 7, 15]) {
      const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', `+opcode=${opcode}`, 'rr.cdn.test']);
      expect(stdout).toMatch(new RegExp(`opcode: RESERVED${opcode}, status: NOTIMP`));
    }
  });
});

function openTcp(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}
const closed = (s: Socket): Promise<void> => new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

describe('hostile TCP clients', () => {
  it('closes a connection that announces an oversized query instead of buffering it', async () => {
    const s = await openTcp();
    s.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    await closed(s);
    await stillAnswers();
  });

  it('closes half-open and idle connections after the idle timeout, and caps open connections', async () => {
    const half = await openTcp();
    half.write(Buffer.from([0x00, 0x40, 1, 2, 3])); // promises 64 bytes, sends 3, then goes quiet
    const idle = await Promise.all([openTcp(), openTcp(), openTcp()]);
    const over = await openTcp(); // the 5th connection is beyond the cap of 4
    await closed(over);
    await Promise.all([closed(half), ...idle.map(closed)]);
    await stillAnswers();
  });
});

describe('reload', () => {
  it('picks up a changed zone file, and keeps the last good version when the new one is broken', async () => {
    const file = join(zonesDir, 'cdn.test.zone');
    const original = readFileSync(file, 'utf8');
    const waitFor = async (check: () => Promise<boolean>): Promise<void> => {
      for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
      expect(await check()).toBe(true);
    };
    writeFileSync(file, original + 'added  IN  A  127.0.0.42\n');
    await waitFor(async () => (await udpQuery(port, query('added.cdn.test', 'A'))).answers.length === 1);

    writeFileSync(file, original + 'added  IN  A  127.0.0.42\nbroken IN A 1.2.3\n');
    const r = await server.zones.reload(); // the same reload that the folder watch and SIGHUP run
    expect(r.failed[0]!.errors[0]!.message).toMatch(/cdn\.test\.zone:\d+: A "1\.2\.3" is not an IPv4 address/);
    expect(r.failed[0]!.kept).toBe(true);
    const reply = decodeReply((await udpExchange(port, encodeMessage(query('added.cdn.test', 'A'))))!);
    expect(reply.answers).toHaveLength(1); // still the last good version
    writeFileSync(file, original);
    await waitFor(async () => (await udpQuery(port, query('added.cdn.test', 'A'))).rcode === RCODE.NXDOMAIN);
  });
});
