import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** A state path (journal folder, blob folder, replica folder) that cannot hold state: the message names it. */
export class StatePathError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'StatePathError';
  }
}

/**
 * Creates a state directory and its missing parents, one level at a time.
 *
 * Not `mkdir(dir, { recursive: true })`: on Node 20 that loops forever, at 100 % CPU and with no message, when
 * mkdir answers ENOENT for a path whose parent exists, which is what /proc and /sys do (`mkdir /proc/x`).
 * Walking up to the deepest existing ancestor and creating each level once turns that into an error naming
 * the path.
 */
export async function makeStateDirectory(dir: string): Promise<void> {
  const target = resolve(dir);
  const missing: string[] = [];
  for (let at = target; ; ) {
    const info = await stat(at).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined; // look further up for the cause
      throw new StatePathError(target, `cannot use ${at}: ${err.code ?? err.message}`);
    });
    if (info) {
      if (!info.isDirectory()) throw new StatePathError(target, `${at} exists and is not a directory`);
      break;
    }
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      if (code === 'EEXIST' && (await stat(level)).isDirectory()) continue; // created meanwhile by another process
      throw new StatePathError(target, `cannot create directory ${level} (${code}); is it on a filesystem that holds files, not /proc or /sys?`);
    }
  }
}

/** Fails unless `file` is absent or a regular file (a journal path must not name a directory, device or /proc entry). */
export async function checkRegularFileOrAbsent(file: string): Promise<void> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new StatePathError(file, `cannot use as a journal: ${err.code ?? err.message}`);
  });
  if (info && !info.isFile()) throw new StatePathError(file, 'cannot use as a journal: not a regular file');
}
