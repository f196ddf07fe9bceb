import { open, readFile, rename, truncate } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { logger } from '../log.js';
import type { Logger } from '../log.js';
import { parseOperation, purgeMatches } from './operations.js';
import type { Operation, OperationInput, PutOperation } from './operations.js';

/**
 * The durable, append-only log of operations with monotonically increasing sequence numbers.
 *
 * File: the magic `DNSCDNJ1`, then records `u32 length | u32 crc32(payload) | payload (JSON)`, big-endian.
 * A record is either an operation or a snapshot `{kind:'snapshot', seq, time, entries}` (the live puts at
 * `seq`), which compaction writes as the first record of a fresh file (temp file, fsync, rename), so the log
 * never grows without bound. `append` resolves only after fdatasync: an acknowledged operation survives a
 * power cut. On open, a torn or damaged record ends the readable log: the file is truncated to the last whole
 * record and a warning is logged (a crash mid-append loses only the unacknowledged operation).
 *
 * The same class keeps an edge's replicated copy (`appendReplicated`, `resetTo`), which keeps the origin's
 * sequence numbers.
 */
const MAGIC = Buffer.from('DNSCDNJ1');

interface SnapshotRecord {
  kind: 'snapshot';
  seq: number;
  time: number;
  entries: PutOperation[];
}

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

  private constructor(
    readonly file: string,
    options: JournalOptions,
  ) {
    this.compactAfter = options.compactAfter ?? 10_000;
    this.log = options.log ?? logger('journal');
  }

  static async open(file: string, options: JournalOptions = {}): Promise<Journal> {
    const j = new Journal(file, options);
    await j.load();
    j.handle = await open(file, 'a');
    return j;
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
    await this.handle.write(Buffer.concat(ops.map(encodeRecord)));
    await this.handle.datasync();
    for (const op of ops) this.applyToState(op);
    this.tail.push(...ops);
  }

  private applyToState(op: Operation): void {
    if (op.kind === 'put') {
      this.state.set(op.path, op);
      return;
    }
    if (op.target.type === 'url') {
      this.state.delete(op.target.path);
      return;
    }
    for (const [path, put] of this.state) if (purgeMatches(op.target, put)) this.state.delete(path);
  }

  private async rewrite(seq: number, time: number, entries: PutOperation[]): Promise<void> {
    const snapshot: SnapshotRecord = { kind: 'snapshot', seq, time, entries };
    const tmp = `${this.file}.compact.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.write(Buffer.concat([MAGIC, encodeRecord(snapshot)]));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await this.handle.close();
    await rename(tmp, this.file);
    await syncDirectory(dirname(this.file));
    this.handle = await open(this.file, 'a');
    this.base = { seq, time };
    this.snapshotEntries = entries;
    this.tail = [];
    this.state.clear();
    for (const e of entries) this.state.set(e.path, e);
  }

  private async load(): Promise<void> {
    let buf: Buffer;
    try {
      buf = await readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      buf = Buffer.alloc(0);
    }
    if (buf.length === 0) {
      const fh = await open(this.file, 'w');
      await fh.write(MAGIC);
      await fh.datasync();
      await fh.close();
      return;
    }
    if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new Error(`${this.file}: not a dnscdn journal (bad magic)`);
    }
    let at = MAGIC.length;
    while (at < buf.length) {
      const record = decodeRecordAt(buf, at);
      if (!record || !this.tryReplay(record.value)) {
        this.log.warn('torn or damaged journal record: recovered up to the last whole record', {
          file: this.file,
          offset: at,
          discardedBytes: buf.length - at,
          lastSeq: this.lastSeq,
        });
        await truncate(this.file, at);
        break;
      }
      at = record.next;
    }
  }

  private tryReplay(v: unknown): boolean {
    try {
      this.replay(v);
      return true;
    } catch {
      return false;
    }
  }

  private replay(v: unknown): void {
    const rec = v as { kind?: unknown };
    if (rec.kind === 'snapshot') {
      const s = v as SnapshotRecord;
      this.base = { seq: s.seq, time: s.time };
      this.tail = [];
      this.state.clear();
      for (const e of s.entries) {
        const op = parseOperation(e);
        if (op.kind === 'put') this.state.set(op.path, op);
      }
      this.snapshotEntries = this.liveObjects();
      return;
    }
    const op = parseOperation(v);
    this.applyToState(op);
    this.tail.push(op);
  }
}

function encodeRecord(value: object): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(payload.length, 0);
  head.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

function decodeRecordAt(buf: Buffer, at: number): { value: unknown; next: number } | undefined {
  if (buf.length - at < 8) return undefined;
  const len = buf.readUInt32BE(at);
  const sum = buf.readUInt32BE(at + 4);
  if (buf.length - at - 8 < len) return undefined;
  const payload = buf.subarray(at + 8, at + 8 + len);
  if (crc32(payload) !== sum) return undefined;
  try {
    return { value: JSON.parse(payload.toString('utf8')) as unknown, next: at + 8 + len };
  } catch {
    return undefined;
  }
}

/** fsync of the directory makes a rename durable (POSIX leaves it to the directory's own sync). */
async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
