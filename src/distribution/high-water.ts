import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { syncData, syncDirectory, writeFully, writeWholeFile } from './durable-file.js';
import type { DiskWriter } from './durable-file.js';

/**
 * The highest sequence number the origin's journal has ever made durable, kept in a file of its own
 * (`<journal>.seq`) and fsynced before an append is acknowledged or sent to any edge.
 *
 * Why a second file: the journal alone cannot tell an unacknowledged torn append (safe to cut) from an
 * acknowledged record that was damaged later (data lost), and once records are lost it cannot say which
 * numbers were already issued. With this mark, bad bytes at the end of the journal are cut only when they hold
 * nothing at or below it, and a repaired journal continues above it, so a sequence number that any edge may
 * have applied is never issued twice.
 *
 * Format: `DNSCDNH1 | u64 seq | u32 crc32(first 16 bytes)`, 20 bytes overwritten in place: a single sector,
 * which disks write whole. It costs one more small write and fdatasync per append (measured in the README).
 */
const MAGIC = Buffer.from('DNSCDNH1');
const SIZE = 20;

export function encodeHighWater(seq: number): Buffer {
  const b = Buffer.alloc(SIZE);
  MAGIC.copy(b, 0);
  b.writeBigUInt64BE(BigInt(seq), 8);
  b.writeUInt32BE(crc32(b.subarray(0, 16)), 16);
  return b;
}

export class HighWaterError extends Error {}

/** The mark stored in `file`, or undefined when there is no file; throws HighWaterError when it is unreadable. */
export async function readHighWater(file: string): Promise<number | undefined> {
  let b: Buffer;
  try {
    b = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (b.length !== SIZE || !b.subarray(0, 8).equals(MAGIC) || crc32(b.subarray(0, 16)) !== b.readUInt32BE(16)) {
    throw new HighWaterError(`${file}: damaged high-water mark (${b.length} bytes); run dnscdn journal verify, then dnscdn journal repair with this process stopped`);
  }
  return Number(b.readBigUInt64BE(8));
}

export class HighWaterMark {
  private constructor(
    readonly file: string,
    private handle: FileHandle,
    private current: number,
    private readonly disk: DiskWriter,
  ) {}

  /** Creates the file with `seq` when it does not exist (durably: data and directory entry), else opens it. */
  static async open(file: string, seq: number, disk: DiskWriter, exists: boolean): Promise<HighWaterMark> {
    if (!exists) {
      await writeWholeFile(disk, file, encodeHighWater(seq));
      await syncDirectory(dirname(file));
    }
    return new HighWaterMark(file, await open(file, 'r+'), seq, disk);
  }

  get value(): number {
    return this.current;
  }

  /** Makes `seq` the durable mark (never lowers it); throws DiskWriteError, leaving `value` unchanged. */
  async raise(seq: number): Promise<void> {
    if (seq <= this.current) return;
    await writeFully(this.disk, this.handle, this.file, encodeHighWater(seq), 0);
    await syncData(this.disk, this.handle, this.file);
    this.current = seq;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

export function highWaterFileFor(journalFile: string): string {
  return `${journalFile}.seq`;
}
