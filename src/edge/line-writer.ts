/**
 * Batched, asynchronous appends of text lines to a file or stderr: the access log's writer.
 *
 * Lines are collected in memory and written as one append when 64 KiB have gathered or 200 ms have passed since
 * the first unwritten line, whichever comes first; one write is in flight at a time (appends stay in order).
 * A request therefore never waits on the disk, and a busy edge does one write(2) per 64 KiB instead of one per
 * line (about 300 combined lines).
 *
 * Bounded: while the disk is slower than the traffic, at most MAX_PENDING_BYTES wait; lines past that are
 * dropped and counted (`dropped`), rather than growing the heap until the process dies. A failed write is logged
 * once per kind of failure and the log keeps trying with the next batch.
 *
 * `reopen()` is logrotate's `postrotate kill -HUP`: the batch gathered so far goes to the old file, then the path
 * is opened again (created if logrotate moved it away).
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { logger } from '../log.js';

const log = logger('access-log');

/** Bytes gathered before a write is started at once. */
const BATCH_BYTES = 64 * 1024;
/** Longest a line waits in memory. */
const FLUSH_MS = 200;
/** Lines waiting while a write is slow; past this they are dropped. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

export type LineTarget = { path: string } | { stderr: true };

export class LineWriter {
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The write (or reopen) in progress; the next one starts after it. */
  private busy: Promise<void> = Promise.resolve();
  private file: Promise<FileHandle> | undefined;
  private lastError = '';
  private closed = false;
  /** Lines dropped because the writer fell MAX_PENDING_BYTES behind. */
  dropped = 0;

  constructor(private readonly target: LineTarget) {
    if ('path' in target) this.file = openForAppend(target.path);
  }

  /** Queues one line (with its newline). */
  write(line: string): void {
    if (this.closed) return;
    if (this.pendingBytes + line.length > MAX_PENDING_BYTES) {
      this.dropped++;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= BATCH_BYTES) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Starts writing what is gathered; resolves when it (and every earlier batch) is written. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return this.busy;
    const batch = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.busy = this.busy.then(() => this.append(batch));
    return this.busy;
  }

  reopen(): Promise<void> {
    if (!('path' in this.target)) return this.flush();
    const path = this.target.path;
    void this.flush();
    this.busy = this.busy.then(async () => {
      const old = this.file;
      this.file = openForAppend(path);
      await this.file.catch(() => undefined);
      await old?.then((h) => h.close()).catch(() => undefined);
      log.info('access log reopened', { path });
    });
    return this.busy;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.file?.then((h) => h.close()).catch(() => undefined);
  }

  private async append(batch: string): Promise<void> {
    try {
      if (this.file === undefined) {
        await new Promise<void>((resolve) => process.stderr.write(batch, () => resolve()));
        return;
      }
      const handle = await this.file;
      // FileHandle.write may write less than asked (a full disk); appendFile loops until all is written or throws.
      await handle.appendFile(batch);
      this.lastError = '';
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (reason !== this.lastError) log.error('access log write failed', { target: 'path' in this.target ? this.target.path : 'stderr', error: reason });
      this.lastError = reason;
    }
  }
}

/** Opens for appending; a failure surfaces at the first write (logged there), never as an unhandled rejection. */
function openForAppend(path: string): Promise<FileHandle> {
  // The folder is made if missing (a fresh checkout's var/log, or logrotate's `olddir` moved it).
  const handle = mkdir(dirname(path), { recursive: true }).then(() => open(path, 'a', 0o640));
  handle.catch(() => undefined);
  return handle;
}
