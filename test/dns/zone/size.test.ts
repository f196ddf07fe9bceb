/** Zone data that no DNS message can carry is refused at load, with file and line (issue 10 item 7). */
import { describe, expect, it } from 'vitest';
import { Authority } from '../../../src/dns/authority.js';
import { authorityReply } from '../../../src/dns/response.js';
import { encodeMessage } from '../../../src/dns/wire.js';
import { parseMasterText } from '../../../src/dns/zone/parse.js';
import { nameWireLength } from '../../../src/dns/name-codec.js';
import { Zone, ZoneSet } from '../../../src/dns/zone/store.js';
import { validateZone } from '../../../src/dns/zone/validate.js';
import { query } from '../query-client.js';

const HEAD = `$TTL 60
@ SOA ns1 host 1 2 3 4 5
@ NS ns1
ns1 A 192.0.2.1
`;
const FIRST_BODY_LINE = 5;

/** `count` TXT records of one 255-byte string each (distinct, so none is dropped as a duplicate). */
function fullStrings(owner: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${owner} TXT "${String(i).padStart(4, '0')}${'x'.repeat(251)}"`);
}

/**
 * A TXT RRset whose smallest answer (header 12 + question + per record 2 + 10 + RDATA) is `total` bytes.
 * Owner "t.example.test" is 16 bytes on the wire, so the question is 20: 244 records of 268 bytes, and a
 * last record whose one string is sized to land on `total`.
 */
function txtSetOfMessageSize(total: number): string {
  const lines = fullStrings('t', 244);
  const used = 12 + 16 + 4 + 244 * (12 + 256);
  const lastString = total - used - 12 - 1;
  lines.push(`t TXT "last${'y'.repeat(lastString - 4)}"`);
  return lines.join('\n') + '\n';
}

function load(body: string): { errors: string[]; zone?: Zone } {
  const parsed = parseMasterText(HEAD + body, 'big.zone', { origin: 'example.test' });
  expect(parsed.errors.map((e) => e.message)).toEqual([]);
  const errors = validateZone('example.test', 'big.zone', parsed.records).map((e) => e.message);
  return errors.length > 0 ? { errors } : { errors, zone: Zone.build('example.test', parsed.records.map((r) => r.record)) };
}

describe('sizes on the wire', () => {
  it.each([
    ['.', 1],
    ['example.test', 14],
    ['example.test.', 14],
    ['a\\.b.test', 10],
    ['\\255x.test', 9],
  ])('nameWireLength(%s) = %d', (name, length) => {
    expect(nameWireLength(name)).toBe(length);
  });
});

describe('RRsets that cannot fit in a DNS message (RFC 1035 §4.2.2)', () => {
  it('loads a TXT set whose answer is exactly 65535 bytes, and that answer encodes to 65535 bytes', () => {
    const { errors, zone } = load(txtSetOfMessageSize(65535));
    expect(errors).toEqual([]);
    // The formula agrees with the real encoder: a TCP answer without EDNS is exactly the budget.
    const authority = new Authority(() => new ZoneSet(new Map([['example.test', zone!]])));
    const q = query('t.example.test', 'TXT');
    const outcome = authority.answer(q.questions[0]!, { address: '127.0.0.1', port: 1, transport: 'tcp' });
    expect(encodeMessage(authorityReply(q, outcome, 1232, 0)).length).toBe(65535);
  });

  it('refuses the same set one byte larger, naming the file and the line of the record that crosses the limit', () => {
    const { errors } = load(txtSetOfMessageSize(65536));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^big\\.zone:${FIRST_BODY_LINE + 244}: the TXT RRset of "t\\.example\\.test" needs 65536 bytes`));
  });

  it('refuses one record whose RDATA is longer than 65535 bytes (RFC 1035 §3.2.1)', () => {
    const strings = Array.from({ length: 257 }, () => `"${'z'.repeat(255)}"`).join(' ');
    const { errors } = load(`huge TXT ( ${strings} )\n`);
    expect(errors).toEqual([`big.zone:${FIRST_BODY_LINE}: TXT record data is 65792 bytes; RDATA holds at most 65535 (RFC 1035 §3.2.1)`]);
  });

  it('budgets a 255-byte question for a wildcard owner, since any name below it may be asked', () => {
    // Fits for its own 18-byte name "*.w.example.test", but not for a 255-byte name matched by the wildcard.
    const lines = fullStrings('*.w', 244);
    lines.push(`*.w TXT "last${'y'.repeat(60)}"`);
    const { errors } = load(lines.join('\n') + '\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^big\.zone:\d+: the TXT RRset of "\*\.w\.example\.test" needs \d+ bytes in a DNS message \(a wildcard/);
  });

  it('counts a duplicated record once, as the zone holds it (RFC 2181 §5)', () => {
    const fits = txtSetOfMessageSize(65535);
    const lastLine = fits.trimEnd().split('\n').at(-1)!;
    expect(load(fits + lastLine + '\n').errors).toEqual([]);
  });
});
