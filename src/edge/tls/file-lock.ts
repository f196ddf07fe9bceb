/**
 * A lock across processes that share a folder (every edge of `dnscdn up`, or edges started one by one as
 * systemd units, on one host): a file created with O_EXCL. A lock older than `staleMs` belongs to a process that
 * died holding it and is taken over.
 */
import { closeSync, existsSync, openSync, rmSync, statSync } from 'node:fs';

/** The release function, or undefined when another process holds the lock. */
export function tryLock(path: string, staleMs: number, now: number = Date.now()): (() => void) | undefined {
  try {
    if (existsSync(path) && now - statSync(path).mtimeMs > staleMs) rmSync(path, { force: true });
    closeSync(openSync(path, 'wx', 0o600));
  } catch {
    return undefined;
  }
  return () => rmSync(path, { force: true });
}

/** Waits (polling) until the lock is free, up to `timeoutMs`; then takes it. */
export async function lock(path: string, staleMs: number, timeoutMs: number): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const release = tryLock(path, staleMs);
    if (release) return release;
    if (Date.now() > deadline) throw new Error(`${path}: still locked by another process after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
