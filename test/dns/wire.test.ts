/** The wire layer's header checks: section counts against the message length, and opcodes kept as sent. */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/dns/wire.js';
import { query } from './query-client.js';

/** A header with the given flags word and section counts, then `body`. */
function message(flags: number, counts: [number, number, number, number], body: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0xbeef, 0);
  header.writeUInt16BE(flags, 2);
  counts.forEach((n, i) => header.writeUInt16BE(n, 4 + 2 * i));
  return Buffer.concat([header, body]);
}

/** "a." IN A: 7 bytes. */
const QUESTION = Buffer.from([1, 0x61, 0, 0, 1, 0, 1]);
/** The smallest question: root, type A, class IN — 5 bytes. */
const ROOT_QUESTION = Buffer.from([0, 0, 1, 0, 1]);
/** A minimal record: root owner, type TXT, class IN, TTL 0, RDLENGTH 0 — 11 bytes. */
const EMPTY_RECORD = Buffer.from([0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0]);

describe('section counts against the message length (issue 10 item 5)', () => {
  it('refuses counts the bytes cannot hold before decoding anything: 29 bytes claiming 65535 of each', () => {
    const bytes = message(0x0100, [0xffff, 0xffff, 0xffff, 0xffff], Buffer.concat([QUESTION, Buffer.alloc(10)]));
    expect(bytes.length).toBe(29);
    expect(decodeMessage(bytes)).toEqual({ kind: 'malformed', id: 0xbeef, opcode: 'QUERY', rd: true, qr: false, reason: 'section counts need more bytes than the message holds' });
  });

  it.each([
    ['one question short of a byte', [1, 0, 0, 0], Buffer.from([0, 0, 1, 0])],
    ['an answer count one byte beyond the bytes', [1, 2, 0, 0], Buffer.concat([ROOT_QUESTION, EMPTY_RECORD, EMPTY_RECORD.subarray(1)])],
    ['an additional count alone', [0, 0, 0, 1], Buffer.alloc(10)],
  ] as const)('%s', (_what, counts, body) => {
    const decoded = decodeMessage(message(0, [...counts], body));
    expect(decoded.kind === 'malformed' && decoded.reason).toBe('section counts need more bytes than the message holds');
  });

  it('lets through the smallest messages that do hold their counts', () => {
    expect(decodeMessage(message(0, [1, 0, 0, 0], ROOT_QUESTION)).kind).toBe('message');
    expect(decodeMessage(message(0, [1, 1, 1, 1], Buffer.concat([ROOT_QUESTION, EMPTY_RECORD, EMPTY_RECORD, EMPTY_RECORD]))).kind).toBe('message');
  });
});

describe('opcodes', () => {
  it.each([3, 6, 7, 9, 15])('keeps unknown opcode %i from decode to encode', (n) => {
    const bytes = encodeMessage(query('a.test', 'A'));
    bytes[2] = (bytes[2]! & 0x87) | (n << 3);
    const decoded = decodeMessage(bytes);
    if (decoded.kind !== 'message') throw new Error(decoded.kind);
    expect(decoded.message.opcode).toBe(`OPCODE_${n}`);
    expect((encodeMessage(decoded.message)[2]! >> 3) & 0xf).toBe(n);
  });
});
