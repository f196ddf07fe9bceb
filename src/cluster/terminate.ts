/**
 * Stopping a cluster worker: SIGTERM, so that it closes its listeners and ends its work in order, then
 * SIGKILL if it has not exited after a grace period. A worker that cannot run its SIGTERM handler (its
 * event loop blocked in a busy loop, or the process stopped with SIGSTOP) would otherwise hold up its
 * primary's shutdown for ever, and a supervisor restarting the service would wait on it too.
 */
import type { Worker } from 'node:cluster';

/** Long enough for a worker to close its sockets and flush its logs; short next to a supervisor's stop timeout (systemd: 90 s). */
export const STOP_GRACE_MS = 5_000;

export function terminate(worker: Worker, graceMs: number, onKill: (worker: Worker) => void): void {
  if (worker.isDead()) return;
  const timer = setTimeout(() => {
    if (worker.isDead()) return;
    onKill(worker);
    worker.process.kill('SIGKILL');
  }, graceMs);
  worker.once('exit', () => clearTimeout(timer));
  worker.process.kill('SIGTERM');
}
