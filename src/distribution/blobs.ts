import { createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Content-addressed bodies (`<dir>/<sha256>`): a journal record names its body by digest, so the same bytes
 * pushed twice are stored once, and a body is written (and fsynced) before the record that refers to it.
 */
export class BlobStore {
  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<BlobStore> {
    await mkdir(dir, { recursive: true });
    return new BlobStore(dir);
  }

  private pathFor(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('bad blob digest');
    return join(this.dir, sha256);
  }

  async put(sha256: string, body: Buffer): Promise<void> {
    const final = this.pathFor(sha256);
    const tmp = `${final}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(body);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, final);
  }

  /**
   * Stores several bodies, a few at a time: their fsyncs overlap (the filesystem commits them together), which
   * made a 1,000-object catch-up several times faster than one fsync after another. Resolves when all are durable.
   */
  async putAll(items: Array<{ sha256: string; body: Buffer }>, parallel = 16): Promise<void> {
    const unique = [...new Map(items.map((i) => [i.sha256, i.body])).entries()];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < unique.length) {
        const [sha256, body] = unique[next++]!;
        await this.put(sha256, body);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, unique.length) }, worker));
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
