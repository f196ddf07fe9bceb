/**
 * The probe loop shared by every health check in the project: DNS probing each address of each edge
 * (checker.ts) and an edge probing each server of its origin pool (edge/upstream/origin-pool.ts). Each target is
 * probed on its own timer (interval and timeout from its config), results go through rise/fall hysteresis
 * (state.ts), and a change of status is passed to the listeners. Timer, clock and probe are injectable so that
 * tests drive flapping without sleeping.
 */
import type { HealthCheckConfig } from '../config/types.js';
import { probeHttp, type ProbeResult, type ProbeTarget } from './probe.js';
import { HealthState, type HealthStatus } from './state.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type Probe = (target: ProbeTarget, timeoutMs: number) => Promise<ProbeResult>;

/** One thing to probe: `id` names it to listeners (unique within a monitor). */
export interface MonitoredTarget {
  id: string;
  host: string;
  port: number;
  health: HealthCheckConfig;
}

export interface TargetChange {
  id: string;
  status: HealthStatus;
  reason: string;
}

export interface MonitorOptions {
  timers?: Timers;
  probe?: Probe;
  /** Milliseconds clock, paired with `timers`. */
  now?: () => number;
  /** Sees every probe result (failure counters). */
  onResult?: (id: string, result: ProbeResult) => void;
}

interface Checked {
  target: MonitoredTarget;
  state: HealthState;
  timer?: unknown;
  lastReason: string;
}

export class HealthMonitor {
  private readonly checked = new Map<string, Checked>();
  private readonly listeners: Array<(c: TargetChange) => void> = [];
  private readonly timers: Timers;
  private readonly probe: Probe;
  private readonly now: () => number;
  private running = false;

  constructor(
    targets: readonly MonitoredTarget[],
    private readonly options: MonitorOptions = {},
  ) {
    this.timers = options.timers ?? realTimers;
    this.probe = options.probe ?? probeHttp;
    this.now = options.now ?? Date.now;
    this.setTargets(targets);
  }

  /** Replaces the targets (config reload): targets that stay keep their state; new ones start up (state.ts). */
  setTargets(targets: readonly MonitoredTarget[]): void {
    const next = new Set(targets.map((t) => t.id));
    for (const [id, c] of this.checked) {
      if (next.has(id)) continue;
      if (c.timer !== undefined) this.timers.clearTimeout(c.timer);
      this.checked.delete(id);
    }
    for (const target of targets) {
      const existing = this.checked.get(target.id);
      if (existing) {
        existing.target = target;
        continue;
      }
      const c: Checked = { target, state: new HealthState(target.health), lastReason: 'not probed yet' };
      this.checked.set(target.id, c);
      if (this.running) this.schedule(c, 0);
    }
  }

  onChange(listener: (c: TargetChange) => void): void {
    this.listeners.push(listener);
  }

  /** Unknown targets count as up: only a probe takes a target out. */
  isUp(id: string): boolean {
    return this.checked.get(id)?.state.status !== 'down';
  }

  status(): Array<{ id: string; status: HealthStatus; lastReason: string }> {
    return [...this.checked.values()].map((c) => ({ id: c.target.id, status: c.state.status, lastReason: c.lastReason }));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const c of this.checked.values()) this.schedule(c, 0);
  }

  stop(): void {
    this.running = false;
    for (const c of this.checked.values()) {
      if (c.timer !== undefined) this.timers.clearTimeout(c.timer);
      c.timer = undefined;
    }
  }

  private schedule(c: Checked, delayMs: number): void {
    c.timer = this.timers.setTimeout(() => void this.runProbe(c), delayMs);
  }

  private async runProbe(c: Checked): Promise<void> {
    const started = this.now();
    const { target } = c;
    const result = await this.probe({ host: target.host, port: target.port, path: target.health.path }, target.health.timeoutMs);
    if (!this.running || this.checked.get(target.id) !== c) return;
    this.record(c, result);
    // Keep a steady cadence: the next probe starts one interval after this one started.
    this.schedule(c, Math.max(0, target.health.intervalMs - (this.now() - started)));
  }

  private record(c: Checked, result: ProbeResult): void {
    c.lastReason = result.ok ? `status ${result.status}` : result.reason;
    this.options.onResult?.(c.target.id, result);
    const changed = c.state.record(result.ok);
    if (changed === undefined) return;
    const change: TargetChange = { id: c.target.id, status: changed, reason: c.lastReason };
    for (const l of this.listeners) l(change);
  }
}
