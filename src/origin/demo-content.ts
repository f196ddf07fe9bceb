import { createHash } from 'node:crypto';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../log.js';

/**
 * Large demo files are not committed (the repo stays small): `<dir>/.NAME.spec` containing `size=BYTES`
 * makes the origin write `<dir>/NAME` at start if it is missing. The bytes are a SHA-256 counter stream,
 * so every machine generates the same file and the same ETag.
 */
export async function materialiseLargeFiles(root: string): Promise<void> {
  for (const dir of await walkDirs(root)) {
    for (const name of await readdir(dir)) {
      const m = /^\.(.+)\.spec$/.exec(name);
      if (!m) continue;
      const target = join(dir, m[1]!);
      const size = Number(/size=(\d+)/.exec(await readFile(join(dir, name), 'utf8'))?.[1] ?? NaN);
      if (!Number.isSafeInteger(size) || size <= 0 || size > 256 * 1024 * 1024) continue;
      if ((await stat(target).catch(() => undefined))?.size === size) continue;
      await writeCounterStream(target, size);
      logger('origin').info('generated demo file', { file: target, bytes: size });
    }
  }
}

async function walkDirs(root: string): Promise<string[]> {
  const out = [root];
  for (const e of await readdir(root, { withFileTypes: true })) if (e.isDirectory() && !e.name.startsWith('.')) out.push(...(await walkDirs(join(root, e.name))));
  return out;
}

async function writeCounterStream(file: string, size: number): Promise<void> {
  const fh = await open(file, 'w');
  try {
    const block = Buffer.allocUnsafe(64 * 1024);
    let written = 0;
    let counter = 0;
    while (written < size) {
      for (let at = 0; at < block.length; at += 32) createHash('sha256').update(`dnscdn:${counter++}`).digest().copy(block, at);
      const n = Math.min(block.length, size - written);
      await fh.write(block, 0, n);
      written += n;
    }
  } finally {
    await fh.close();
  }
}
