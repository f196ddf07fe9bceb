/**
 * Faults at random intervals, from a seeded source so that a run can be replayed: SIGKILL of a process (the
 * supervisor, `dnscdn up --restart`, starts it again after its back-off) or SIGSTOP for a random downtime,
 * then SIGCONT (the process is frozen: connections hang instead of being refused, the harder case for
 * clients and health checks). One fault at a time, so that each one's effect can be measured on its own.
 */
import type { Random } from '../random.js';

export type FaultKind = 'kill' | 'stop';

export interface Fault {
  /** Milliseconds since the run started. */
  at: number;
  kind: FaultKind;
  /** The process label from up's table (`edge london`, `origin`, `dns`). */
  target: string;
  pid: number;
  /** For `stop`: how long it stays frozen. */
  downtimeMs: number;
}

export interface FaultOptions {
  random: Random;
  /** The processes that may be faulted now, by label, with their current pid. */
  targets(): Array<{ label: string; pid: number }>;
  /** Mean time between faults; intervals are drawn uniformly in [0.5, 1.5] x mean. */
  meanIntervalMs: number;
  minDowntimeMs: number;
  maxDowntimeMs: number;
  now: () => number;
  onFault(f: Fault): void;
  /** Signals a process (tests and the run use process.kill). */
  signal?: (pid: number, signal: NodeJS.Signals) => void;
}

export class FaultInjector {
  private timer: NodeJS.Timeout | undefined;
  private frozen: { pid: number; timer: NodeJS.Timeout } | undefined;
  private readonly signal: (pid: number, signal: NodeJS.Signals) => void;

  constructor(private readonly o: FaultOptions) {
    this.signal = o.signal ?? ((pid, s) => process.kill(pid, s));
  }

  start(): void {
    this.schedule();
  }

  /** No more faults; a frozen process is thawed now. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.thaw();
  }

  private schedule(): void {
    const delay = this.o.meanIntervalMs * (0.5 + this.o.random());
    this.timer = setTimeout(() => {
      this.inject();
      this.schedule();
    }, delay);
  }

  private inject(): void {
    if (this.frozen) return; // one fault at a time
    const targets = this.o.targets();
    if (targets.length === 0) return;
    const target = targets[Math.floor(this.o.random() * targets.length)]!;
    const kind: FaultKind = this.o.random() < 0.5 ? 'kill' : 'stop';
    const downtimeMs = kind === 'stop' ? Math.round(this.o.minDowntimeMs + this.o.random() * (this.o.maxDowntimeMs - this.o.minDowntimeMs)) : 0;
    try {
      this.signal(target.pid, kind === 'kill' ? 'SIGKILL' : 'SIGSTOP');
    } catch {
      return; // it exited meanwhile: no fault
    }
    if (kind === 'stop') this.frozen = { pid: target.pid, timer: setTimeout(() => this.thaw(), downtimeMs) };
    this.o.onFault({ at: this.o.now(), kind, target: target.label, pid: target.pid, downtimeMs });
  }

  private thaw(): void {
    if (!this.frozen) return;
    clearTimeout(this.frozen.timer);
    try {
      this.signal(this.frozen.pid, 'SIGCONT');
    } catch {
      // gone already
    }
    this.frozen = undefined;
  }
}
