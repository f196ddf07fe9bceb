import { crc32 } from 'node:zlib';
import { parseOperation } from './operations.js';
import type { Operation, PutOperation } from './operations.js';

/**
 * The journal's bytes: the magic `DNSCDNJ1`, then records `u32 length | u32 crc32(payload) | payload (JSON)`,
 * big-endian. A record is an operation, or a snapshot (only as the first record, written by compaction,
 * a replica's reset or a repair). Operation sequence numbers follow each other with no gap.
 *
 * `scanJournal` reads a whole file into the good records and a list of what is wrong, without deciding what
 * to do about it: opening (journal.ts), `dnscdn journal verify` and `repair` share it.
 */
export const MAGIC = Buffer.from('DNSCDNJ1');
const HEADER = 8;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

export interface SnapshotRecord {
  kind: 'snapshot';
  seq: number;
  time: number;
  entries: PutOperation[];
}

export type JournalRecord = SnapshotRecord | Operation;

export function encodeRecord(value: JournalRecord): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  const head = Buffer.allocUnsafe(HEADER);
  head.writeUInt32BE(payload.length, 0);
  head.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

type Decoded = { ok: true; record: JournalRecord; next: number } | { ok: false; reason: string };

/** The record at `at`, or why there is none (never throws). */
export function decodeRecordAt(buf: Buffer, at: number): Decoded {
  if (buf.length - at < HEADER) return { ok: false, reason: `incomplete record header (${buf.length - at} of ${HEADER} bytes)` };
  const len = buf.readUInt32BE(at);
  if (buf.length - at - HEADER < len) return { ok: false, reason: `record length ${len} runs past the end of the file` };
  const payload = buf.subarray(at + HEADER, at + HEADER + len);
  if (crc32(payload) !== buf.readUInt32BE(at + 4)) return { ok: false, reason: 'checksum mismatch' };
  try {
    return { ok: true, record: parseRecord(JSON.parse(payload.toString('utf8')) as unknown), next: at + HEADER + len };
  } catch (err) {
    return { ok: false, reason: `not a journal record: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function parseRecord(v: unknown): JournalRecord {
  const r = v as { kind?: unknown; seq?: unknown; time?: unknown; entries?: unknown };
  if (typeof v === 'object' && v !== null && r.kind === 'snapshot') {
    if (!Number.isSafeInteger(r.seq) || !Number.isSafeInteger(r.time) || !Array.isArray(r.entries)) throw new Error('bad snapshot');
    const entries: PutOperation[] = [];
    for (const e of r.entries as unknown[]) {
      const op = parseOperation(e);
      if (op.kind === 'put') entries.push(op);
    }
    return { kind: 'snapshot', seq: r.seq as number, time: r.time as number, entries };
  }
  return parseOperation(v);
}

/** Bytes that are not a good record, with the sequence numbers they should have held. */
export interface Damage {
  offset: number;
  bytes: number;
  reason: string;
  /** Sequence numbers lost there (`first > last` when no number is missing, e.g. a stray duplicate). */
  firstSeq: number;
  lastSeq: number;
  /** The next good record, or undefined when nothing good follows (bad bytes at the very end). */
  next?: { offset: number; seq: number };
}

export interface JournalScan {
  /** The good records in file order, with their byte ranges. */
  records: Array<{ record: JournalRecord; offset: number; end: number }>;
  /** Bad bytes with a good record after them: damage in the middle. */
  damage: Damage[];
  /** Bad bytes at the very end with nothing good after them (a torn append, or damage: the caller decides). */
  tail?: Damage;
  /** The last good sequence number (a snapshot's seq counts). */
  lastSeq: number;
  /** End of the last good record: the length a torn tail is cut back to. */
  goodEnd: number;
}

const seqOf = (r: JournalRecord): number => r.seq;

/**
 * Reads every record after the magic. A record that does not decode, or whose sequence number does not follow
 * the last good one, starts a bad region; the scan then looks for the next offset where a good record starts
 * (a matching CRC-32 over a JSON object: the chance of a false match is about 2^-32 per candidate, and only
 * offsets whose payload starts with `{` and ends with `}` are checked, which keeps the search linear in practice).
 */
export function scanJournal(buf: Buffer): JournalScan {
  const scan: JournalScan = { records: [], damage: [], lastSeq: 0, goodEnd: MAGIC.length };
  let at = MAGIC.length;
  while (at < buf.length) {
    const d = decodeRecordAt(buf, at);
    if (d.ok && d.record.kind !== 'snapshot' && d.record.seq > scan.lastSeq + 1) {
      // A good record after missing sequence numbers: no bytes are bad, but operations are gone.
      scan.damage.push({ offset: at, bytes: 0, reason: `sequence ${d.record.seq} follows ${scan.lastSeq}`, firstSeq: scan.lastSeq + 1, lastSeq: d.record.seq - 1, next: { offset: at, seq: d.record.seq } });
      scan.lastSeq = d.record.seq - 1;
    }
    const problem = d.ok ? misplaced(d.record, scan) : d.reason;
    if (d.ok && problem === undefined) {
      scan.records.push({ record: d.record, offset: at, end: d.next });
      scan.lastSeq = seqOf(d.record);
      scan.goodEnd = d.next;
      at = d.next;
      continue;
    }
    const next = findNextRecord(buf, d.ok ? d.next : at + 1, scan.lastSeq);
    const damage: Damage = { offset: at, bytes: (next?.offset ?? buf.length) - at, reason: problem!, firstSeq: scan.lastSeq + 1, lastSeq: next ? next.seq - 1 : scan.lastSeq + 1 };
    if (!next) {
      scan.tail = damage;
      break;
    }
    damage.next = { offset: next.offset, seq: next.seq };
    scan.damage.push(damage);
    scan.lastSeq = next.seq - 1; // the next record continues from there
    at = next.offset;
  }
  return scan;
}

/** Why a well-formed record cannot stand here, or undefined. */
function misplaced(record: JournalRecord, scan: JournalScan): string | undefined {
  if (record.kind === 'snapshot') return scan.records.length === 0 && scan.damage.length === 0 ? undefined : `a snapshot (seq ${record.seq}) after other records`;
  return record.seq === scan.lastSeq + 1 ? undefined : `sequence ${record.seq} where ${scan.lastSeq + 1} was expected`;
}

function findNextRecord(buf: Buffer, from: number, after: number): { offset: number; seq: number } | undefined {
  for (let p = Math.max(from, MAGIC.length); p + HEADER < buf.length; p++) {
    const len = buf.readUInt32BE(p);
    if (len < 2 || p + HEADER + len > buf.length) continue;
    if (buf[p + HEADER] !== OPEN_BRACE || buf[p + HEADER + len - 1] !== CLOSE_BRACE) continue;
    const d = decodeRecordAt(buf, p);
    if (d.ok && d.record.kind !== 'snapshot' && d.record.seq > after) return { offset: p, seq: d.record.seq };
  }
  return undefined;
}
