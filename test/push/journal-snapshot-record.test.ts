/**
 * A snapshot record read back from a journal file is checked like an operation: seq and time are whole numbers
 * >= 0, and no entry was written after the snapshot's seq. Anything else is a damaged record, not a state.
 */
import { describe, expect, it } from 'vitest';
import { decodeRecordAt, encodeRecord, MAGIC, scanJournal, type JournalRecord } from '../../src/distribution/journal-format.js';
import type { PutOperation } from '../../src/distribution/operations.js';

const entry = (seq: number): PutOperation => ({ kind: 'put', path: `/p${seq}`, status: 200, etag: `"${seq}"`, headers: {}, sha256: 'a'.repeat(64), length: 1, seq, time: 1_700_000_000_000 });
const snapshot = (seq: number, time: number, entries: PutOperation[]): JournalRecord => ({ kind: 'snapshot', seq, time, entries });

describe('journal snapshot record', () => {
  it('a good snapshot decodes as written', () => {
    const record = snapshot(5, 1_700_000_000_000, [entry(2), entry(5)]);
    const d = decodeRecordAt(encodeRecord(record), 0);
    expect(d.ok && d.record).toEqual(record);
  });

  const bad: Array<{ why: string; record: JournalRecord; reason: RegExp }> = [
    { why: 'a negative seq', record: snapshot(-3, 1_700_000_000_000, []), reason: /seq must be a whole number >= 0/ },
    { why: 'a fractional seq', record: snapshot(2.5, 1_700_000_000_000, []), reason: /seq must be a whole number >= 0/ },
    { why: 'a negative time', record: snapshot(5, -1, []), reason: /time must be a whole number >= 0/ },
    { why: 'an entry after the snapshot', record: snapshot(5, 1_700_000_000_000, [entry(2), entry(9)]), reason: /entry seq 9 is after the snapshot's seq 5/ },
  ];
  for (const { why, record, reason } of bad) {
    it(`refuses ${why} as damage`, () => {
      const d = decodeRecordAt(encodeRecord(record), 0);
      expect(d.ok).toBe(false);
      expect(!d.ok && d.reason).toMatch(reason);
      // In a file, followed by a good operation: damage at the start that the journal refuses to open over.
      const after = { ...entry(6), kind: 'put' as const };
      const scan = scanJournal(Buffer.concat([MAGIC, encodeRecord(record), encodeRecord(after)]));
      expect(scan.records.map((r) => r.record.seq)).toEqual([6]);
      expect(scan.damage[0]?.reason).toMatch(reason);
    });
  }
});
