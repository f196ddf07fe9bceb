import { open, readFile, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { logger } from '../log.js';
import type { Logger } from '../log.js';
import { DiskWriteError, realDisk, syncData, syncDirectory, writeFully, writeWholeFile } from './durable-file.js';
import type { DiskWriter } from './durable-file.js';
import { HighWaterMark, highWaterFileFor, readHighWater } from './high-water.js';
import { encodeRecord, MAGIC, scanJournal } from './journal-format.js';
import type { Damage, JournalRecord, JournalScan, SnapshotRecord } from './journal-format.js';
import { applyToLiveObjects } from './operations.js';
import type { Operation, OperationInput, PutOperation } from './operations.js';
import { checkRegularFileOrAbsent } from './state-dir.js';

/**
 * The durable, append-only log of operations with monotonically increasing sequence numbers (format in
 * journal-format.ts).
 *
 * Durability: `append` resolves only once every byte is written (short writes are continued, see
 * durable-file.ts), fdatasynced and, for the origin's journal, the high-water mark raised (high-water.ts).
 * Any failure (ENOSPC, EIO, a short write, a failed fsync) rejects the append with a DiskWriteError, leaves
 * `lastSeq` and the live state as they were, and cuts the file back to its last good record before anything
 * else is appended; so a failed operation is never acknowledged, never half on disk, and its number is reused
 * by the next append.
 *
 * Opening (the rule, applied to what `scanJournal` finds):
 * - bad bytes at the very end, with no good record after them, that hold nothing acknowledged (the last good
 *   sequence is at or above the high-water mark) are a torn append: they are cut, with a warning;
 * - anything else is damage: bad bytes with good records after them, missing sequence numbers, or a bad end
 *   that held acknowledged operations. Opening then fails with a JournalDamageError naming the file, the byte
 *   offset and the sequence numbers, and the file is left exactly as it is (`dnscdn journal verify|repair`).
 * A replica's journal has no high-water mark (its upstream can resend anything), so any bad end is cut there.
 *
 * Compaction writes a fresh file whose first record is a snapshot `{kind:'snapshot', seq, time, entries}` of
 * the live puts (temp file, fsync, rename, directory fsync), so the log never grows without bound.
 * The same class keeps an edge's replicated copy (`appendReplicated`, `resetTo`), which keeps the origin's
 * sequence numbers.
 */
export interface CatchUp {
  /**
   * Present when the reader is older than the last compaction: one page (`entries` from index `from` of
   * `total`) of the live state as of the snapshot `seq`, to replace everything once all pages are in.
   * Pages come from the snapshot, which stays as it is until the next compaction, so they fit together
   * whatever is journaled meanwhile; the tail after `seq` follows as ordinary operations.
   */
  reset?: { seq: number; time: number; from: number; total: number; entries: PutOperation[] };
  ops: Operation[];
}

/** Which page of a snapshot transfer a reader asks for: it names the snapshot it has been receiving. */
export interface SnapshotPage {
  snapshot: number;
  from: number;
}

export interface JournalOptions {
  /** Compact once this many operations follow the snapshot. */
  compactAfter?: number;
  log?: Logger;
  /**
   * Keep a durable high-water mark beside the file (`<file>.seq`): set for the journal that issues sequence
   * numbers (the origin's), not for replicas, which take theirs from upstream.
   */
  highWater?: boolean;
  /** Where writes and fsyncs go (tests inject a disk that fills up or writes short). */
  disk?: DiskWriter;
}

/** The journal cannot be opened as it is: the message names the file, the offset and the sequence numbers. */
export class JournalDamageError extends Error {
  constructor(
    readonly file: string,
    readonly damage: Damage,
    detail: string,
  ) {
    super(`${file}: ${detail}. The file is left as it is: run \`dnscdn journal verify --journal ${file}\` to see the damage, then \`dnscdn journal repair --journal ${file}\` with this process stopped to keep the good records and move the damaged file aside`);
    this.name = 'JournalDamageError';
  }
}

export function describeDamage(d: Damage): string {
  const seqs = d.firstSeq > d.lastSeq ? 'no sequence number missing' : d.firstSeq === d.lastSeq ? `seq ${d.firstSeq}` : `seqs ${d.firstSeq}-${d.lastSeq}`;
  const where = d.bytes === 0 ? `at byte ${d.offset}` : `at byte ${d.offset} (${d.bytes} bytes)`;
  const next = d.next ? `; good records follow at byte ${d.next.offset} (seq ${d.next.seq})` : '';
  return `damaged record ${where}: ${d.reason}; ${seqs} unreadable${next}`;
}

export class Journal {
  private handle!: FileHandle;
  private tail: Operation[] = [];
  private readonly state = new Map<string, PutOperation>();
  private base = { seq: 0, time: 0 };
  /** The live state as of `base.seq` (what the snapshot record holds), served page by page to old readers. */
  private snapshotEntries: PutOperation[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  readonly compactAfter: number;
  private readonly log: Logger;
  private readonly disk: DiskWriter;
  private highWater: HighWaterMark | undefined;
  /** Length of the file up to its last good record. */
  private size = 0;
  /** A failed append may have left bytes after `size`: they are cut before the next append. */
  private dirty = false;

  private constructor(
    readonly file: string,
    private readonly options: JournalOptions,
  ) {
    this.compactAfter = options.compactAfter ?? 10_000;
    this.log = options.log ?? logger('journal');
    this.disk = options.disk ?? realDisk;
  }

  static async open(file: string, options: JournalOptions = {}): Promise<Journal> {
    const j = new Journal(file, options);
    await j.load();
    j.handle = await open(file, 'a');
    return j;
  }

  /** The durable high-water mark (origin journal), or undefined for a replica. */
  get highWaterSeq(): number | undefined {
    return this.highWater?.value;
  }

  get lastSeq(): number {
    return this.tail.length > 0 ? this.tail[this.tail.length - 1]!.seq : this.base.seq;
  }

  get snapshotSeq(): number {
    return this.base.seq;
  }

  get needsCompaction(): boolean {
    return this.tail.length >= this.compactAfter;
  }

  /** The live objects: the newest put of each path not purged since. */
  liveObjects(): PutOperation[] {
    return [...this.state.values()];
  }

  /** Time an operation was journaled, or undefined if compacted away. */
  timeOf(seq: number): number | undefined {
    let lo = 0;
    let hi = this.tail.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.tail[mid]!.seq;
      if (s === seq) return this.tail[mid]!.time;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Assigns sequence numbers, writes and fsyncs; resolves with the journaled operations. */
  append(inputs: OperationInput[], now: number = Date.now()): Promise<Operation[]> {
    return this.serialized(async () => {
      let seq = this.lastSeq;
      const ops = inputs.map((i) => ({ ...i, seq: ++seq, time: now }) as Operation);
      await this.write(ops);
      return ops;
    });
  }

  /** Appends operations that already carry sequence numbers (a replica); older or repeated ones are skipped. */
  appendReplicated(ops: Operation[]): Promise<Operation[]> {
    return this.serialized(async () => {
      let last = this.lastSeq;
      const fresh = ops.filter((o) => (o.seq > last ? ((last = o.seq), true) : false));
      if (fresh.length > 0) await this.write(fresh);
      return fresh;
    });
  }

  /**
   * Operations after `seq`, at most `limit`; a reader older than the snapshot gets a page of at most `limit`
   * snapshot entries instead (from `page.from` if it names the current snapshot, else from the start).
   */
  since(seq: number, limit: number, page?: SnapshotPage): CatchUp {
    if (seq < this.base.seq) {
      const total = this.snapshotEntries.length;
      const from = page && page.snapshot === this.base.seq && page.from <= total ? page.from : 0;
      return { reset: { seq: this.base.seq, time: this.base.time, from, total, entries: this.snapshotEntries.slice(from, from + limit) }, ops: [] };
    }
    const first = this.tail.findIndex((o) => o.seq > seq);
    return { ops: first < 0 ? [] : this.tail.slice(first, first + limit) };
  }

  /** Rewrites the file as one snapshot of the live state (what compaction and a replica's reset do). */
  compact(): Promise<void> {
    return this.serialized(() => this.rewrite(this.lastSeq, this.lastTime(), this.liveObjects()));
  }

  /** A replica told to start over: its whole state becomes `entries` as of `seq`. */
  resetTo(seq: number, time: number, entries: PutOperation[]): Promise<void> {
    return this.serialized(() => this.rewrite(seq, time, entries));
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.handle.close();
    await this.highWater?.close();
  }

  private lastTime(): number {
    return this.tail.length > 0 ? this.tail[this.tail.length - 1]!.time : this.base.time;
  }

  private serialized<T>(f: () => Promise<T>): Promise<T> {
    const run = this.chain.then(f, f);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async write(ops: Operation[]): Promise<void> {
    await this.cutFailedAppend();
    const bytes = Buffer.concat(ops.map(encodeRecord));
    try {
      await writeFully(this.disk, this.handle, this.file, bytes);
      await syncData(this.disk, this.handle, this.file);
      await this.highWater?.raise(ops[ops.length - 1]!.seq);
    } catch (err) {
      this.dirty = true;
      await this.cutFailedAppend().catch((cut: unknown) =>
        this.log.error('cannot cut a failed append back; appends are refused until it can', { file: this.file, error: cut instanceof Error ? cut.message : String(cut) }),
      );
      throw DiskWriteError.from(this.file, err, 'append');
    }
    this.size += bytes.length;
    for (const op of ops) applyToLiveObjects(this.state, op);
    this.tail.push(...ops);
  }

  /** After a failed append: truncate to the last good record and make that durable, or throw (and stay dirty). */
  private async cutFailedAppend(): Promise<void> {
    if (!this.dirty) return;
    try {
      await this.handle.truncate(this.size);
    } catch (err) {
      throw DiskWriteError.from(this.file, err, `truncate back to ${this.size} bytes after a failed append`);
    }
    await syncData(this.disk, this.handle, this.file);
    this.dirty = false;
  }

  /**
   * Replaces the file by one snapshot record. On failure the old file and handle stay in use, unchanged
   * (the temp file is removed), so a full disk during compaction costs nothing but the compaction.
   */
  private async rewrite(seq: number, time: number, entries: PutOperation[]): Promise<void> {
    const snapshot: SnapshotRecord = { kind: 'snapshot', seq, time, entries };
    const tmp = `${this.file}.compact.tmp`;
    const bytes = Buffer.concat([MAGIC, encodeRecord(snapshot)]);
    try {
      await writeWholeFile(this.disk, tmp, bytes);
      await this.highWater?.raise(seq);
      await rename(tmp, this.file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw DiskWriteError.from(this.file, err, 'rewrite');
    }
    await this.handle.close().catch(() => undefined);
    this.handle = await open(this.file, 'a');
    this.size = bytes.length;
    this.dirty = false;
    this.base = { seq, time };
    this.snapshotEntries = entries;
    this.tail = [];
    this.state.clear();
    for (const e of entries) this.state.set(e.path, e);
    await syncDirectory(dirname(this.file)); // the rename is done either way; this makes it survive a power cut
  }

  private async load(): Promise<void> {
    await checkRegularFileOrAbsent(this.file);
    let buf: Buffer;
    try {
      buf = await readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      buf = Buffer.alloc(0);
    }
    const markFile = highWaterFileFor(this.file);
    const mark = this.options.highWater ? await readHighWater(markFile) : undefined;
    // An absent or empty file, or the magic cut short by a crash while the journal was being created, holds
    // nothing: a new journal, unless the high-water mark says operations were acknowledged (checkScan refuses).
    if (buf.length < MAGIC.length && buf.equals(MAGIC.subarray(0, buf.length))) {
      if ((mark ?? 0) === 0) {
        await writeWholeFile(this.disk, this.file, MAGIC);
        await syncDirectory(dirname(this.file));
      }
      buf = Buffer.from(MAGIC);
    }
    if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new Error(`${this.file}: not a dnscdn journal (bad magic)`);
    }
    const scan = scanJournal(buf);
    await this.checkScan(scan, mark);
    for (const { record } of scan.records) this.replay(record);
    this.size = scan.goodEnd;
    if (this.options.highWater) this.highWater = await HighWaterMark.open(markFile, Math.max(mark ?? 0, this.lastSeq), this.disk, mark !== undefined);
    if (mark !== undefined && this.lastSeq > mark) await this.highWater!.raise(this.lastSeq); // a crash between the journal's fsync and the mark's
    if (this.options.highWater && mark === undefined && this.lastSeq > 0) {
      this.log.warn('journal had no high-water mark: created one at its last sequence', { file: markFile, seq: this.lastSeq });
    }
  }

  /** Applies the opening rule (see the class comment): cut a torn tail, or throw JournalDamageError. */
  private async checkScan(scan: JournalScan, mark: number | undefined): Promise<void> {
    const acknowledged = mark ?? 0;
    const first = scan.damage[0];
    if (first) {
      throw new JournalDamageError(this.file, first, `${describeDamage(first)}${scan.damage.length > 1 ? ` (and ${scan.damage.length - 1} more damaged regions)` : ''}`);
    }
    const goodSeq = scan.tail ? scan.tail.firstSeq - 1 : scan.lastSeq;
    if (goodSeq < acknowledged) {
      const lost: Damage = scan.tail ?? { offset: scan.goodEnd, bytes: 0, reason: 'the file ends early', firstSeq: goodSeq + 1, lastSeq: acknowledged };
      const range = goodSeq + 1 === acknowledged ? `seq ${acknowledged}` : `seqs ${goodSeq + 1}-${acknowledged}`;
      throw new JournalDamageError(
        this.file,
        { ...lost, lastSeq: acknowledged },
        `the journal's readable records end at seq ${goodSeq} (byte ${scan.goodEnd}${scan.tail ? `, then ${scan.tail.bytes} bad bytes: ${scan.tail.reason}` : ''}) but ${range} had been acknowledged (high-water mark ${acknowledged} in ${highWaterFileFor(this.file)})`,
      );
    }
    if (scan.tail) {
      this.log.warn('torn last record (an append that was never acknowledged) cut off', { file: this.file, offset: scan.tail.offset, discardedBytes: scan.tail.bytes, reason: scan.tail.reason, lastSeq: goodSeq });
      const fh = await open(this.file, 'r+');
      try {
        await fh.truncate(scan.goodEnd);
        await syncData(this.disk, fh, this.file);
      } finally {
        await fh.close();
      }
    }
  }

  private replay(record: JournalRecord): void {
    if (record.kind === 'snapshot') {
      this.base = { seq: record.seq, time: record.time };
      this.tail = [];
      this.state.clear();
      for (const e of record.entries) this.state.set(e.path, e);
      this.snapshotEntries = this.liveObjects();
      return;
    }
    applyToLiveObjects(this.state, record);
    this.tail.push(record);
  }
}
