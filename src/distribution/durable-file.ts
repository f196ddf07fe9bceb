import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/**
 * Writing state files so that what is acknowledged is on disk, and a failure is an error, never a silent loss.
 *
 * `FileHandle.write` may write fewer bytes than asked (a full disk part-way through a record, a quota, a
 * signal): the caller must look at `bytesWritten` and go on, or fail. `fdatasync` can fail too (EIO, or ENOSPC
 * on filesystems that allocate at writeback), and then the data is not durable whatever `write` said.
 * Every journal, high-water mark and blob write goes through one `DiskWriter`, so tests can inject a disk that
 * fills up or writes short without mounting anything.
 */
export interface DiskWriter {
  /** One write call: how many bytes of `buffer[offset, offset+length)` reached the file (may be fewer). */
  write(handle: FileHandle, buffer: Buffer, offset: number, length: number, position: number | null): Promise<number>;
  /** Makes the file's data durable (fdatasync). */
  datasync(handle: FileHandle): Promise<void>;
}

export const realDisk: DiskWriter = {
  write: async (handle, buffer, offset, length, position) => (await handle.write(buffer, offset, length, position)).bytesWritten,
  datasync: (handle) => handle.datasync(),
};

/** A write or sync that did not make the bytes durable: the operation it carried must not be acknowledged. */
export class DiskWriteError extends Error {
  constructor(
    readonly file: string,
    /** The errno code (ENOSPC, EIO, ...) or SHORT_WRITE when a write call made no progress. */
    readonly code: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'DiskWriteError';
  }

  /** The disk (or a quota) is full. */
  get full(): boolean {
    return this.code === 'ENOSPC' || this.code === 'EDQUOT';
  }

  /**
   * The answer to a request whose operations this failure kept from being stored: 507 Insufficient Storage
   * (RFC 4918 §11.5) for a full disk, 503 for any other write failure. Both are 5xx, so the sender retries
   * and nothing is acknowledged.
   */
  get httpStatus(): 507 | 503 {
    return this.full ? 507 : 503;
  }

  static from(file: string, err: unknown, what: string): DiskWriteError {
    if (err instanceof DiskWriteError) return err;
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return new DiskWriteError(file, code, `${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Writes all of `buffer`, looping over short writes. A call that writes nothing is treated as a failure
 * (SHORT_WRITE) rather than retried forever. `position` null appends (O_APPEND handles), a number writes there.
 */
export async function writeFully(disk: DiskWriter, handle: FileHandle, file: string, buffer: Buffer, position: number | null = null): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    let n: number;
    try {
      n = await disk.write(handle, buffer, done, buffer.length - done, position === null ? null : position + done);
    } catch (err) {
      throw DiskWriteError.from(file, err, `write of ${buffer.length - done} bytes`);
    }
    if (n <= 0) throw new DiskWriteError(file, 'SHORT_WRITE', `short write: ${done} of ${buffer.length} bytes written, then no progress`);
    done += n;
  }
}

/** fdatasync, with the failure named after the file. */
export async function syncData(disk: DiskWriter, handle: FileHandle, file: string): Promise<void> {
  try {
    await disk.datasync(handle);
  } catch (err) {
    throw DiskWriteError.from(file, err, 'fdatasync');
  }
}

/** Creates (or replaces) `file` with exactly `bytes`, durable on return; on failure the file may be partial. */
export async function writeWholeFile(disk: DiskWriter, file: string, bytes: Buffer): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'w');
  } catch (err) {
    throw DiskWriteError.from(file, err, 'open for writing');
  }
  try {
    await writeFully(disk, fh, file, bytes, 0);
    await syncData(disk, fh, file);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** fsync of the directory makes a rename or a new file's name durable (POSIX leaves it to the directory's own sync). */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    throw DiskWriteError.from(dir, err, 'fsync of the directory');
  } finally {
    await fh.close();
  }
}
