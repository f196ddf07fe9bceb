import { readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { realDisk, syncDirectory, writeWholeFile } from './durable-file.js';
import { encodeHighWater, highWaterFileFor, readHighWater } from './high-water.js';
import { describeDamage } from './journal.js';
import { encodeRecord, MAGIC, scanJournal } from './journal-format.js';
import type { Damage, JournalRecord, JournalScan, SnapshotRecord } from './journal-format.js';
import { applyToLiveObjects } from './operations.js';
import type { PutOperation } from './operations.js';

/**
 * `dnscdn journal verify` and `repair`, offline (with the process that owns the journal stopped).
 * Both read the file with the same scan as opening does (journal-format.ts) and apply the same rule
 * (journal.ts): a bad end holding nothing acknowledged is a torn append, anything else is damage.
 */
export interface JournalReport {
  file: string;
  /** True when the journal opens as it is (a torn append, if any, is cut then). */
  ok: boolean;
  /** The origin's journal keeps a high-water mark; a replica's does not. */
  issuer: boolean;
  highWater: number | undefined;
  highWaterProblem?: string;
  snapshotSeq: number;
  operations: number;
  lastGoodSeq: number;
  damage: Damage[];
  tail?: Damage;
  /** Acknowledged sequence numbers past the last readable record (the high-water mark says they were issued). */
  missingAcknowledged?: { firstSeq: number; lastSeq: number };
  scan: JournalScan;
}

/** The journal's bytes; a missing or empty file reads as a journal with no records (its mark may say otherwise). */
async function readJournalBytes(file: string): Promise<Buffer> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (info && !info.isFile()) throw new Error(`${file}: not a regular file`);
  if (!info && !(await stat(highWaterFileFor(file)).catch(() => undefined))) throw new Error(`${file}: no journal here (nor its high-water mark)`);
  const buf = info ? await readFile(file) : Buffer.alloc(0);
  if (buf.length < MAGIC.length && buf.equals(MAGIC.subarray(0, buf.length))) return Buffer.from(MAGIC);
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${file}: not a dnscdn journal (bad magic)`);
  return buf;
}

export async function verifyJournal(file: string): Promise<JournalReport> {
  const buf = await readJournalBytes(file);
  const markFile = highWaterFileFor(file);
  let highWater: number | undefined;
  let highWaterProblem: string | undefined;
  let issuer = false;
  try {
    highWater = await readHighWater(markFile);
    issuer = highWater !== undefined;
  } catch (err) {
    issuer = true;
    highWaterProblem = err instanceof Error ? err.message : String(err);
  }
  const scan = scanJournal(buf);
  const first = scan.records[0]?.record;
  const lastGoodSeq = scan.tail ? scan.tail.firstSeq - 1 : scan.lastSeq;
  const report: JournalReport = {
    file,
    ok: false,
    issuer,
    highWater,
    snapshotSeq: first?.kind === 'snapshot' ? first.seq : 0,
    operations: scan.records.filter((r) => r.record.kind !== 'snapshot').length,
    lastGoodSeq,
    damage: scan.damage,
    scan,
  };
  if (scan.tail) report.tail = scan.tail;
  if (highWaterProblem !== undefined) report.highWaterProblem = highWaterProblem;
  if (highWater !== undefined && lastGoodSeq < highWater) report.missingAcknowledged = { firstSeq: lastGoodSeq + 1, lastSeq: highWater };
  report.ok = scan.damage.length === 0 && report.missingAcknowledged === undefined && highWaterProblem === undefined;
  return report;
}

/** The report as `verify` prints it; `advice` adds how to recover when it is damaged. */
export function formatReport(r: JournalReport, advice = true): string {
  const lines = [`${r.file}: ${r.ok ? 'ok' : 'DAMAGED'}`];
  lines.push(`  ${r.operations} operations, last readable seq ${r.lastGoodSeq}${r.snapshotSeq > 0 ? `, snapshot at ${r.snapshotSeq}` : ''}`);
  lines.push(r.issuer ? `  high-water mark: ${r.highWaterProblem ?? r.highWater}` : '  no high-water mark (a replica: its upstream resends anything it lacks)');
  for (const d of r.damage) lines.push(`  ${describeDamage(d)}`);
  if (r.tail) {
    lines.push(
      r.missingAcknowledged
        ? `  bad end at byte ${r.tail.offset} (${r.tail.bytes} bytes): ${r.tail.reason}; it held acknowledged operations`
        : `  torn last record at byte ${r.tail.offset} (${r.tail.bytes} bytes): ${r.tail.reason}; never acknowledged, cut when the journal is next opened`,
    );
  }
  if (r.missingAcknowledged) {
    const m = r.missingAcknowledged;
    lines.push(`  acknowledged ${m.firstSeq === m.lastSeq ? `seq ${m.firstSeq} is` : `seqs ${m.firstSeq}-${m.lastSeq} are`} not in the file`);
  }
  if (!r.ok && advice) lines.push(`  to recover: stop the process using it, then run dnscdn journal repair --journal ${r.file}`);
  return `${lines.join('\n')}\n`;
}

export interface RepairResult {
  report: JournalReport;
  /** False when there was nothing to repair. */
  repaired: boolean;
  /** Where the damaged file was moved (absent when nothing was repaired, or the journal file itself was gone). */
  backup?: string;
  /** The rebuilt journal's last sequence; the next operation gets the one after it. */
  lastSeq: number;
  objects: number;
  lost: Array<{ firstSeq: number; lastSeq: number }>;
}

/**
 * Rebuilds a damaged journal, keeping every good record, and moves the damaged file aside
 * (`<file>.damaged-<time>`), never deleting it.
 *
 * - The origin's journal (it has a high-water mark): the new file is one snapshot of the live objects replayed
 *   from every good record in order, at seq = max(last good seq, high-water mark, `minSeq`). So no sequence
 *   number is issued twice: edges at or below it that miss anything are reset to the snapshot (as after
 *   compaction), and the next operation is numbered above anything an edge may have applied. What the lost
 *   records did is unknown: the result lists their numbers, for the operator to push or purge again.
 * - A replica's journal: the good records before the first damage are kept as they are and the rest dropped;
 *   the replica then catches up from its upstream, which has everything.
 */
export async function repairJournal(file: string, options: { minSeq?: number; now?: Date } = {}): Promise<RepairResult> {
  const report = await verifyJournal(file);
  const lost = [...report.damage, ...(report.missingAcknowledged ? [report.missingAcknowledged] : [])]
    .map((d) => ({ firstSeq: d.firstSeq, lastSeq: d.lastSeq }))
    .filter((d) => d.firstSeq <= d.lastSeq);
  const minSeq = options.minSeq ?? 0;
  if (report.ok && minSeq <= report.lastGoodSeq) return { report, repaired: false, lastSeq: report.lastGoodSeq, objects: -1, lost };
  const { bytes, lastSeq, objects } = report.issuer ? rebuildAsSnapshot(report, minSeq) : keepUntilFirstDamage(report);
  const stamp = (options.now ?? new Date()).toISOString().replace(/[:.]/g, '-');
  const backup = `${file}.damaged-${stamp}`;
  const tmp = `${file}.repair.tmp`;
  await writeWholeFile(realDisk, tmp, bytes);
  if (report.issuer) {
    await writeWholeFile(realDisk, `${tmp}.seq`, encodeHighWater(lastSeq));
    await rename(`${tmp}.seq`, highWaterFileFor(file));
  }
  const previous = await rename(file, backup).then(
    () => backup,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined; // the journal itself was lost: nothing to keep
      throw err;
    },
  );
  await rename(tmp, file);
  await syncDirectory(dirname(file));
  return { report, ...(previous ? { backup: previous } : {}), repaired: true, lastSeq, objects, lost };
}

function rebuildAsSnapshot(report: JournalReport, minSeq: number): { bytes: Buffer; lastSeq: number; objects: number } {
  const records = report.scan.records.map((r) => r.record);
  const live = liveObjectsOf(records);
  const time = records[records.length - 1]?.time ?? 0;
  const seq = Math.max(report.lastGoodSeq, report.scan.lastSeq, report.highWater ?? 0, minSeq);
  const snapshot: SnapshotRecord = { kind: 'snapshot', seq, time, entries: [...live.values()] };
  return { bytes: Buffer.concat([MAGIC, encodeRecord(snapshot)]), lastSeq: seq, objects: live.size };
}

function keepUntilFirstDamage(report: JournalReport): { bytes: Buffer; lastSeq: number; objects: number } {
  const firstBad = report.damage[0]?.offset ?? report.tail?.offset ?? report.scan.goodEnd;
  const kept = report.scan.records.filter((r) => r.end <= firstBad);
  const live = liveObjectsOf(kept.map((r) => r.record));
  const lastSeq = kept[kept.length - 1]?.record.seq ?? 0;
  const bytes = Buffer.concat([MAGIC, ...kept.map((r) => encodeRecord(r.record))]);
  return { bytes, lastSeq, objects: live.size };
}

/** What records leave live, replayed in order (a snapshot first, then operations). */
function liveObjectsOf(records: JournalRecord[]): Map<string, PutOperation> {
  const live = new Map<string, PutOperation>();
  for (const record of records) {
    if (record.kind === 'snapshot') for (const e of record.entries) live.set(e.path, e);
    else applyToLiveObjects(live, record);
  }
  return live;
}
