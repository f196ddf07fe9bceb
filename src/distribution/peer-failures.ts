import type { Logger } from '../log.js';

export interface PeerFailureLogOptions {
  /** Quiet period after the first warning; doubles after each warning while the peer keeps failing (ms). */
  minMs: number;
  maxMs: number;
  now?: () => number;
}

interface PeerState {
  failures: number;
  suppressed: number;
  nextWarnAt: number;
  periodMs: number;
}

/**
 * Warnings about a peer that cannot be reached, at most once per backoff period per peer: the first failure
 * is logged at once (an operator must see it), then at most once per period, the period doubling up to
 * `maxMs`, each line saying how many failures it stands for. A link that retries every 50 ms therefore
 * writes a handful of lines, not thousands, and the first success after failures is logged as a recovery.
 * Holds one entry per peer that is failing now; peers come from the deployment, so the map is bounded by it.
 */
export class PeerFailureLog {
  private readonly peers = new Map<string, PeerState>();
  private readonly now: () => number;

  constructor(
    private readonly log: Logger,
    private readonly what: string,
    private readonly options: PeerFailureLogOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  failed(peer: string, error: string): void {
    const now = this.now();
    const state = this.peers.get(peer) ?? { failures: 0, suppressed: 0, nextWarnAt: now, periodMs: this.options.minMs };
    this.peers.set(peer, state);
    state.failures++;
    if (now < state.nextWarnAt) {
      // A routine retry inside the quiet period: visible at debug, counted in the next warning.
      state.suppressed++;
      this.log.debug(`${this.what} failed again, will retry`, { peer, error, failures: state.failures });
      return;
    }
    this.log.warn(`${this.what} failed, will retry`, { peer, error, failures: state.failures, suppressed: state.suppressed || undefined });
    state.suppressed = 0;
    state.nextWarnAt = now + state.periodMs;
    state.periodMs = Math.min(this.options.maxMs, state.periodMs * 2);
  }

  succeeded(peer: string): void {
    const state = this.peers.get(peer);
    if (!state) return;
    this.peers.delete(peer);
    this.log.info(`${this.what} works again`, { peer, failures: state.failures });
  }
}
