/** Names are byte strings (RFC 2181 §11): the escaped presentation form round-trips any label bytes. */
import { describe, expect, it } from 'vitest';
import { escapeLabel, NameFormatError, nameToWire, nameWireLength, readName } from '../../src/dns/name-codec.js';
import { isAtOrBelow, labelCount, nameKey, parentKey } from '../../src/dns/name.js';
import type { Message, ResourceRecord } from '../../src/dns/types.js';
import { decodeMessage, encodeMessage } from '../../src/dns/wire.js';
import { decodeReply, query } from './query-client.js';

/** A tiny deterministic PRNG so a failing case can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Bytes the old text-based codec got wrong, weighted in so that every name is likely to hold some. */
const AWKWARD = [0x2e, 0x5c, 0x00, 0x20, 0x80, 0xc0, 0xe0, 0xff, 0x41, 0x61, 0x22, 0x3b];

/** Random labels (1..63 bytes of any value) whose wire form fits in 255 bytes. */
function randomLabels(rand: () => number): Buffer[] {
  const labels: Buffer[] = [];
  let wire = 1;
  const count = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < count; i++) {
    const len = 1 + Math.floor(rand() * (rand() < 0.2 ? 63 : 12));
    if (wire + len + 1 > 255) break;
    labels.push(Buffer.from(Array.from({ length: len }, () => (rand() < 0.3 ? AWKWARD[Math.floor(rand() * AWKWARD.length)]! : Math.floor(rand() * 256)))));
    wire += len + 1;
  }
  return labels;
}

function wireOf(labels: Buffer[]): Buffer {
  return Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])]);
}

const asciiLower = (b: Buffer): Buffer => Buffer.from([...b].map((c) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c)));

describe('the name codec over random bytes', () => {
  it('reads any labels into one pure-ASCII form that writes back the exact bytes', () => {
    const rand = prng(1101);
    for (let n = 0; n < 3000; n++) {
      const labels = randomLabels(rand);
      const wire = wireOf(labels);
      const read = readName(wire, 0);
      expect(read.length).toBe(wire.length);
      expect(read.name).toMatch(/^[\x21-\x7e]+$/);
      expect(nameToWire(read.name).equals(wire), read.name).toBe(true);
      expect(nameWireLength(read.name)).toBe(wire.length);
      expect(nameToWire(read.name + '.').equals(wire)).toBe(true); // an absolute spelling is the same name
      // RFC 4343: the key folds A-Z only, so it is the form of the ASCII-lowercased bytes.
      expect(nameKey(read.name)).toBe(readName(asciiLower(wire), 0).name);
      expect(nameKey(read.name + '.')).toBe(nameKey(read.name));
      // Label structure survives escaping: the parent is the name without its first label.
      expect(labelCount(read.name)).toBe(labels.length);
      const parent = parentKey(nameKey(read.name));
      expect(parent).toBe(labels.length === 1 ? '' : nameKey(readName(wireOf(labels.slice(1)), 0).name));
      if (parent !== '') expect(isAtOrBelow(nameKey(read.name), parent!)).toBe(true);
    }
  });

  it('round-trips random names in every section of a whole message, byte for byte', () => {
    const rand = prng(77);
    for (let n = 0; n < 300; n++) {
      const owner = readName(wireOf(randomLabels(rand)), 0).name;
      const target = readName(wireOf(randomLabels(rand)), 0).name;
      const m = query(owner, 'CNAME', { edns: {} });
      const records: ResourceRecord[] = [
        { name: owner, type: 'CNAME', class: 'IN', ttl: 60, data: target },
        { name: target, type: 'MX', class: 'IN', ttl: 60, data: { preference: 1, exchange: owner } },
        { name: owner, type: 'SOA', class: 'IN', ttl: 60, data: { mname: target, rname: owner, serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } },
      ];
      const reply: Message = { ...m, flags: { ...m.flags, qr: true }, answers: records.slice(0, 2), authorities: records.slice(2) };
      const bytes = encodeMessage(reply);
      const back = decodeReply(bytes);
      expect(back.questions[0]!.name).toBe(owner);
      expect(back.answers).toMatchObject(records.slice(0, 2)); // decoding adds the mDNS flush bit
      expect(back.authorities).toMatchObject(records.slice(2));
      expect(encodeMessage(back).equals(bytes)).toBe(true);
    }
  });
});

describe('the presentation form', () => {
  it.each([
    ['a dot inside a label', [Buffer.from('.'), Buffer.from('cdn'), Buffer.from('test')], '\\..cdn.test'],
    ['a backslash', [Buffer.from('a\\b')], 'a\\\\b'],
    ['NUL, space and DEL as \\DDD', [Buffer.from([0x00, 0x20, 0x7f])], '\\000\\032\\127'],
    ['bytes that are not UTF-8', [Buffer.from([0x80, 0xc0, 0xff]), Buffer.from('x')], '\\128\\192\\255.x'],
    ['printable ASCII as itself', [Buffer.from('_srv-1*"@$;()')], '_srv-1*"@$;()'],
  ])('%s', (_what, labels, form) => {
    expect(readName(wireOf(labels), 0).name).toBe(form);
    expect(labels.map((l) => escapeLabel(l)).join('.')).toBe(form);
    expect(nameToWire(form).equals(wireOf(labels))).toBe(true);
  });

  it('writes any escape, not only the canonical ones, and UTF-8 for characters above ASCII', () => {
    expect(nameToWire('\\a\\098c.x.').equals(wireOf([Buffer.from('abc'), Buffer.from('x')]))).toBe(true);
    expect(nameToWire('a\\\\.x').equals(wireOf([Buffer.from('a\\'), Buffer.from('x')]))).toBe(true); // "\\." is a backslash, then a separator
    expect(nameToWire('é').equals(wireOf([Buffer.from([0xc3, 0xa9])]))).toBe(true);
    expect(nameToWire('.').equals(Buffer.from([0]))).toBe(true);
  });

  it('compares names by whole labels: a dot inside a label is no separator', () => {
    expect(isAtOrBelow('a\\.cdn.test', 'cdn.test')).toBe(false);
    expect(isAtOrBelow('a\\\\.cdn.test', 'cdn.test')).toBe(true);
    expect(isAtOrBelow('\\..cdn.test', 'cdn.test')).toBe(true);
    expect(parentKey('a\\.b.c')).toBe('c');
    expect(nameKey('A\\.')).toBe('a\\.'); // an escaped final dot is part of the label
    expect(nameKey('\\200A.X')).toBe('\\200a.x');
  });
});

describe('bad names', () => {
  it.each([
    ['a pointer to itself', Buffer.from([0xc0, 0x00])],
    ['a pointer forwards', Buffer.from([0xc0, 0x02, 0x01, 0x61, 0x00])],
    ['an extended label type', Buffer.from([0x41, 0x61, 0x00])],
    ['a label past the end', Buffer.from([0x05, 0x61])],
    ['no root byte', Buffer.from([0x01, 0x61])],
    ['more than 255 bytes', Buffer.concat([...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])), Buffer.from([0])])],
  ])('reading refuses %s', (_what, bytes) => {
    expect(() => readName(bytes, 0)).toThrow(NameFormatError);
  });

  it('reading refuses a pointer loop through an earlier name', () => {
    // offset 0: "a" then a pointer to 3; offset 3: a pointer back to 0.
    const bytes = Buffer.from([0x01, 0x61, 0xc0, 0x03, 0xc0, 0x00]);
    expect(() => readName(bytes, 3)).toThrow(NameFormatError);
  });

  it.each([
    ['an empty label', 'a..b'],
    ['a label over 63 bytes', 'x'.repeat(64)],
    ['a label over 63 bytes after escapes', '\\000'.repeat(64)],
    ['a name over 255 bytes', Array.from({ length: 5 }, () => 'x'.repeat(63)).join('.')],
    ['a name over 255 bytes after escapes', Array.from({ length: 5 }, () => '\\255'.repeat(63)).join('.')],
    ['a lone backslash', 'a\\'],
    ['a short \\DDD', 'a\\12'],
    ['\\DDD above 255', 'a\\256'],
  ])('writing refuses %s', (_what, name) => {
    expect(() => nameToWire(name)).toThrow(NameFormatError);
    expect(() => nameWireLength(name)).toThrow(NameFormatError);
  });

  it('a query with a name the codec refuses is FORMERR, not a crash', () => {
    const bytes = Buffer.concat([encodeMessage(query('x.test', 'A')).subarray(0, 12), Buffer.from([0x41, 0x61, 0x00, 0x00, 0x01, 0x00, 0x01])]);
    const decoded = decodeMessage(bytes);
    expect(decoded.kind).toBe('malformed');
  });
});
