/**
 * Liveness of node:cluster workers, checked by their primary over the cluster's IPC channel: every `intervalMs`
 * the primary sends each watched worker a ping, and the worker's event loop answers it with a pong. A worker
 * that stays silent for `misses` intervals in a row is declared unresponsive, once, through `onUnresponsive`;
 * what to do then (SIGKILL and a restart, as the DNS primary does) is the caller's business.
 *
 * Why a ping over IPC rather than the process's mere existence: a worker frozen by SIGSTOP, stuck in a busy loop
 * or in a long synchronous call still exists, and still holds its share of the work (TCP connections the primary
 * handed it; on a SO_REUSEPORT socket, the datagrams the kernel hashes to it), but its event loop reads no IPC
 * either, so silence on the channel is the signal. node:cluster's own `isDead()` only sees an exit.
 *
 * The count is of ticks without any pong since the previous tick, not of unanswered pings: a worker whose pong
 * arrives late (after the next ping went out) is alive and keeps its count at 0. It also makes a stall of the
 * primary itself harmless with misses >= 2: after a stall libuv runs timers before it reads the pipe, so the
 * first tick sees no pong (one miss) while the pongs wait unread in the channel; they reset the count before the
 * next tick. Hence the minimum of 2 in LIVENESS_RANGES.
 *
 * Nothing here is DNS-specific: the edge's workers (src/edge/workers.ts) can use it as they are.
 */

/** The messages on the channel; their kind starts with `dnscdn:liveness:` so role-specific handlers ignore them. */
export type LivenessMessage = { kind: 'dnscdn:liveness:ping' } | { kind: 'dnscdn:liveness:pong' };

const PING: LivenessMessage = { kind: 'dnscdn:liveness:ping' };
const PONG: LivenessMessage = { kind: 'dnscdn:liveness:pong' };

export interface LivenessSettings {
  /** Time between pings; 0 turns the check off. */
  intervalMs: number;
  /** Intervals in a row without a pong that make a worker unresponsive. */
  misses: number;
}

/**
 * 1 s x 3: a frozen worker is found within 3-4 s, and a live one has two whole intervals to show a sign of life.
 * Measured on the project's shared 2-core machine at load average 14-15 (2000 pings, 3 runs): an IPC round trip
 * took 0.03 ms at the median, 1.4-2.0 ms at p99 and 18 ms at most, so a live worker is two orders of magnitude
 * inside the window. The window must also outlast the longest synchronous work a worker may do (a large zone's
 * parse on reload), or that worker is killed for it.
 */
export const LIVENESS_DEFAULTS: LivenessSettings = { intervalMs: 1_000, misses: 3 };

/** Allowed settings (interval 0 = off is allowed apart from the range); shared by the file and the flags. */
export const LIVENESS_RANGES = {
  intervalMs: { min: 50, max: 60_000 },
  misses: { min: 2, max: 100 },
} as const;

/** What the monitor needs of a worker; node:cluster's Worker fits. */
export interface LivenessPeer {
  readonly id: number;
  send(message: LivenessMessage): boolean;
  isConnected(): boolean;
}

export interface Unresponsive {
  /** Intervals without a pong (= the configured misses). */
  missed: number;
  /** How long the worker has been silent, as counted: missed x interval. */
  silentMs: number;
}

interface Watched {
  peer: LivenessPeer;
  heard: boolean;
  missed: number;
}

export class LivenessMonitor {
  private readonly watched = new Map<number, Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: LivenessSettings,
    private readonly onUnresponsive: (peer: LivenessPeer, why: Unresponsive) => void,
  ) {}

  /** Whether the check runs at all (interval 0 = off). */
  get enabled(): boolean {
    return this.settings.intervalMs > 0;
  }

  /** Pings on a timer from now on; the timer does not keep the process alive. */
  start(): void {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => this.tick(), this.settings.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  /** Watch a worker from now on (once it is ready: start-up work may block its loop); watching counts as hearing from it. */
  watch(peer: LivenessPeer): void {
    this.watched.set(peer.id, { peer, heard: true, missed: 0 });
  }

  /** Stop watching a worker (it exited, or is being stopped on purpose). */
  unwatch(id: number): void {
    this.watched.delete(id);
  }

  /**
   * Hand every message from worker `id` here: a pong counts as a sign of life and returns true (consumed);
   * anything else returns false and is the caller's.
   */
  receive(id: number, message: unknown): boolean {
    if (!isLivenessMessage(message) || message.kind !== PONG.kind) return false;
    const w = this.watched.get(id);
    if (w) w.heard = true;
    return true;
  }

  /** One round: count a miss for every worker not heard from since the last round, declare the ones at the limit, ping the rest. */
  tick(): void {
    for (const w of [...this.watched.values()]) {
      w.missed = w.heard ? 0 : w.missed + 1;
      w.heard = false;
      if (w.missed >= this.settings.misses) {
        this.watched.delete(w.peer.id);
        this.onUnresponsive(w.peer, { missed: w.missed, silentMs: w.missed * this.settings.intervalMs });
        continue;
      }
      // A worker whose channel is gone cannot answer: each round counts as a miss until it exits or is declared.
      if (w.peer.isConnected()) w.peer.send(PING);
    }
  }
}

/**
 * In a worker: answer the primary's pings on this process's channel, from the event loop (so a blocked or frozen
 * loop does not answer). Returns a function that stops answering.
 */
export function answerLivenessPings(channel: NodeJS.Process = process): () => void {
  const onMessage = (message: unknown): void => {
    if (isLivenessMessage(message) && message.kind === PING.kind && channel.connected) channel.send?.(PONG);
  };
  channel.on('message', onMessage);
  return () => channel.off('message', onMessage);
}

export function isLivenessMessage(message: unknown): message is LivenessMessage {
  if (typeof message !== 'object' || message === null || !('kind' in message)) return false;
  return message.kind === PING.kind || message.kind === PONG.kind;
}
