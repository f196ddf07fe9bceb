import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Stats } from 'node:fs';
import { LRUCache } from 'lru-cache';

/** What the origin knows about a file's current content: its strong validator and its digest. */
export interface FileValidators {
  /** Strong ETag (RFC 9110 §8.8.3): derived from the bytes, so identical content gives the same tag on every origin. */
  etag: string;
  /** Hex SHA-256 of the body; the push journal and its blobs use the same digest. */
  sha256: string;
}

/**
 * Hashing a file costs a full read, so results are cached keyed by path and invalidated by any change of
 * mtime, size or inode (an editor's atomic rename changes the inode). Bounded by entry count.
 */
export class EtagCache {
  private readonly cache: LRUCache<string, FileValidators & { stamp: string }>;

  constructor(maxEntries = 10_000) {
    this.cache = new LRUCache({ max: maxEntries });
  }

  async validators(file: string, stats: Stats): Promise<FileValidators> {
    const stamp = `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
    const hit = this.cache.get(file);
    if (hit && hit.stamp === stamp) return hit;
    const sha256 = await hashFile(file);
    const entry = { etag: etagForDigest(sha256), sha256, stamp };
    this.cache.set(file, entry);
    return entry;
  }
}

export function etagForDigest(sha256Hex: string): string {
  return `"${sha256Hex.slice(0, 32)}"`;
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
