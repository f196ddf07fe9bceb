/**
 * The child's half of `dnscdn up` supervision, active only when `up` started this process (SUPERVISED_ENV):
 * - it exits when its supervisor goes away, however that happens (kill -9 included): the IPC channel closes,
 *   and a role that outlived `up` would keep its ports and serve a deployment nobody manages;
 * - it says "ready" over that channel once every listener is bound, so `up` never announces a CDN that is
 *   still starting.
 */
import cluster from 'node:cluster';
import { SUPERVISED_ENV, SUPERVISED_VALUE, type ReadyMessage } from './messages.js';

/** Time a role gets to close cleanly (journal, sockets) after its supervisor died, before a hard exit. */
const ORPHAN_GRACE_MS = 3000;

function supervised(): boolean {
  // A cluster worker (dnscdn dns --workers) inherits the variable, but its channel leads to its primary,
  // which is the supervised one; node:cluster already ends a worker whose primary is gone.
  return process.env[SUPERVISED_ENV] === SUPERVISED_VALUE && typeof process.send === 'function' && !cluster.isWorker;
}

/** Call once at start: when the supervisor's channel closes, stop as on SIGTERM, and exit for sure after a grace period. */
export function exitWithSupervisor(): void {
  if (!supervised()) return;
  process.once('disconnect', () => {
    setTimeout(() => process.exit(1), ORPHAN_GRACE_MS).unref();
    // A running role closes cleanly in its own SIGTERM handler. With no handler, the role is still starting
    // (or already inside that handler, which removed itself): the grace timer ends it without cutting a close short.
    if (process.listenerCount('SIGTERM') > 0) process.kill(process.pid, 'SIGTERM');
  });
  // The channel must not keep a finished process alive; the 'disconnect' event still fires.
  process.channel?.unref();
}

/** Tells the supervisor (if any) that every listener of this role is bound. */
export function reportReady(listening: string[]): void {
  if (!supervised() || !process.connected) return;
  const message: ReadyMessage = { type: 'dnscdn:ready', listening };
  process.send!(message);
}
