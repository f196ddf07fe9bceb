import { createHash } from 'node:crypto';
import { readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskWriteError, realDisk, syncDirectory, writeWholeFile } from './durable-file.js';
import type { DiskWriter } from './durable-file.js';
import { makeStateDirectory } from './state-dir.js';

/**
 * Content-addressed bodies (`<dir>/<sha256>`): a journal record names its body by digest, so the same bytes
 * pushed twice are stored once, and a body is durable before the record that refers to it is written.
 *
 * Each body is written whole to a temp file (short writes continued), fdatasynced, renamed into place, and the
 * directory fsynced (`putAll` syncs it once for the batch), so a name in the folder always holds every byte of
 * its body. On a full disk or any write error the temp file is removed and the error thrown (DiskWriteError):
 * the publish or the replicated batch that needed the body fails and is not acknowledged.
 */
export class BlobStore {
  private constructor(
    private readonly dir: string,
    private readonly disk: DiskWriter,
  ) {}

  static async open(dir: string, disk: DiskWriter = realDisk): Promise<BlobStore> {
    await makeStateDirectory(dir);
    return new BlobStore(dir, disk);
  }

  private pathFor(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('bad blob digest');
    return join(this.dir, sha256);
  }

  /** Stores one body durably (data and name). */
  async put(sha256: string, body: Buffer): Promise<void> {
    await this.write(sha256, body);
    await syncDirectory(this.dir);
  }

  /** Data durable and renamed into place; the directory entry still needs a directory fsync. */
  private async write(sha256: string, body: Buffer): Promise<void> {
    const final = this.pathFor(sha256);
    const tmp = `${final}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await writeWholeFile(this.disk, tmp, body);
      await rename(tmp, final);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw DiskWriteError.from(final, err, 'blob write');
    }
  }

  /**
   * Stores several bodies, a few at a time: their fsyncs overlap (the filesystem commits them together), which
   * made a 1,000-object catch-up several times faster than one fsync after another. Resolves when all are durable.
   */
  async putAll(items: Array<{ sha256: string; body: Buffer }>, parallel = 16): Promise<void> {
    const unique = [...new Map(items.map((i) => [i.sha256, i.body])).entries()];
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < unique.length && !failed) {
        const [sha256, body] = unique[next++]!;
        await this.write(sha256, body).catch((err: unknown) => {
          failed = true; // the others stop after their current body: the batch has failed anyway
          throw err;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, unique.length) }, worker));
    if (unique.length > 0) await syncDirectory(this.dir);
  }

  /** The body, or undefined when missing or damaged (its digest is checked on every read). */
  async get(sha256: string): Promise<Buffer | undefined> {
    try {
      const body = await readFile(this.pathFor(sha256));
      return createHash('sha256').update(body).digest('hex') === sha256 ? body : undefined;
    } catch {
      return undefined;
    }
  }

  /** Removes every blob not in `keep` (after a journal compaction). Returns how many were removed. */
  async retainOnly(keep: Set<string>): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      if (keep.has(name)) continue;
      await unlink(join(this.dir, name)).catch(() => undefined);
      removed++;
    }
    return removed;
  }
}
