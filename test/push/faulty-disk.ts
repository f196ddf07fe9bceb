import type { FileHandle } from 'node:fs/promises';
import type { DiskWriter } from '../../src/distribution/durable-file.js';

const errno = (code: string, what: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: ${what}`), { code });

/**
 * A real disk (the writes reach real files) that can be made to fill up, write short or fail to sync,
 * the way a full filesystem, a quota or a dying disk does: used where mounting a small tmpfs is too coarse.
 */
export class FaultyDisk implements DiskWriter {
  /** Bytes that still fit: a write past it is cut short there, and the next one fails with ENOSPC. */
  spaceLeft = Number.POSITIVE_INFINITY;
  /** Every write call writes at most half of what it is asked (at least 1 byte): short but making progress. */
  halfWrites = false;
  /** Write calls write nothing at all. */
  stuck = false;
  /** fdatasync fails with EIO. */
  failSync = false;
  writeCalls = 0;

  async write(handle: FileHandle, buffer: Buffer, offset: number, length: number, position: number | null): Promise<number> {
    this.writeCalls++;
    if (this.stuck) return 0;
    if (this.spaceLeft <= 0) throw errno('ENOSPC', 'no space left on device, write');
    const n = Math.min(this.halfWrites ? Math.max(1, Math.ceil(length / 2)) : length, this.spaceLeft);
    const { bytesWritten } = await handle.write(buffer, offset, n, position);
    this.spaceLeft -= bytesWritten;
    return bytesWritten;
  }

  async datasync(handle: FileHandle): Promise<void> {
    if (this.failSync) throw errno('EIO', 'i/o error, fdatasync');
    await handle.datasync();
  }

  heal(): void {
    this.spaceLeft = Number.POSITIVE_INFINITY;
    this.halfWrites = false;
    this.stuck = false;
    this.failSync = false;
  }
}
