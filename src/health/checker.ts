/**
 * Health checks for every edge of a deployment: each edge is probed on its own timer (interval and
 * timeout from its config), results go through rise/fall hysteresis (state.ts), and status changes are
 * logged, counted in metrics and passed to listeners (steering reads `isUp`).
 * The timer and the probe are injectable so that tests can drive flapping without sleeping.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EdgeConfig } from '../config/types.js';
import { logger } from '../log.js';
import { probeHttp, type ProbeResult, type ProbeTarget } from './probe.js';
import { HealthState, type HealthStatus } from './state.js';

const log = logger('health');

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface HealthCheckerOptions {
  registry?: Registry;
  timers?: Timers;
  probe?: (target: ProbeTarget, timeoutMs: number) => Promise<ProbeResult>;
  /** Milliseconds clock, paired with `timers`. */
  now?: () => number;
}

/** What a probe needs of an edge: DNS steering passes its edges, an edge passes its ring peers (edge/ring/ring-setup.ts). */
export type ProbedEdge = Pick<EdgeConfig, 'name' | 'addresses' | 'port' | 'health'>;

export interface HealthChange {
  edge: string;
  status: HealthStatus;
  reason: string;
}

interface Checked {
  edge: ProbedEdge;
  state: HealthState;
  timer?: unknown;
  lastReason: string;
}

export class HealthChecker {
  private readonly checked = new Map<string, Checked>();
  private readonly listeners: Array<(c: HealthChange) => void> = [];
  private readonly timers: Timers;
  private readonly probe: (target: ProbeTarget, timeoutMs: number) => Promise<ProbeResult>;
  private readonly upGauge?: Gauge;
  private readonly changes?: Counter;
  private readonly failures?: Counter;
  private running = false;
  private readonly now: () => number;

  constructor(edges: readonly ProbedEdge[], options: HealthCheckerOptions = {}) {
    this.timers = options.timers ?? realTimers;
    this.probe = options.probe ?? probeHttp;
    this.now = options.now ?? Date.now;
    if (options.registry) {
      const registers = [options.registry];
      this.upGauge = new Gauge({ name: 'dnscdn_edge_up', help: 'Edge health as DNS steering sees it (1 up, 0 down)', labelNames: ['edge'], registers });
      this.changes = new Counter({ name: 'dnscdn_edge_health_changes_total', help: 'Edge health status changes', labelNames: ['edge', 'status'], registers });
      this.failures = new Counter({ name: 'dnscdn_edge_probe_failures_total', help: 'Failed health probes', labelNames: ['edge'], registers });
    }
    this.setEdges(edges);
  }

  /** Replaces the set of edges (config reload): edges that stay keep their state; new ones start up. */
  setEdges(edges: readonly ProbedEdge[]): void {
    const next = new Set(edges.map((e) => e.name));
    for (const [name, c] of this.checked) {
      if (next.has(name)) continue;
      if (c.timer !== undefined) this.timers.clearTimeout(c.timer);
      this.checked.delete(name);
      this.upGauge?.remove({ edge: name });
    }
    for (const edge of edges) {
      const existing = this.checked.get(edge.name);
      if (existing) {
        existing.edge = edge;
        continue;
      }
      const c: Checked = { edge, state: new HealthState(edge.health), lastReason: 'not probed yet' };
      this.checked.set(edge.name, c);
      this.upGauge?.set({ edge: edge.name }, 1);
      if (this.running) this.schedule(c, 0);
    }
  }

  onChange(listener: (c: HealthChange) => void): void {
    this.listeners.push(listener);
  }

  isUp(edge: string): boolean {
    return this.checked.get(edge)?.state.status !== 'down';
  }

  status(): Array<{ edge: string; status: HealthStatus; lastReason: string }> {
    return [...this.checked.values()].map((c) => ({ edge: c.edge.name, status: c.state.status, lastReason: c.lastReason }));
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
    const edge = c.edge;
    const host = edge.addresses[0]!;
    const result = await this.probe({ host, port: edge.port, path: edge.health.path }, edge.health.timeoutMs);
    if (!this.running || this.checked.get(edge.name) !== c) return;
    this.record(c, result);
    // Keep a steady cadence: the next probe starts one interval after this one started.
    this.schedule(c, Math.max(0, edge.health.intervalMs - (this.now() - started)));
  }

  private record(c: Checked, result: ProbeResult): void {
    c.lastReason = result.ok ? `status ${result.status}` : result.reason;
    if (!result.ok) this.failures?.inc({ edge: c.edge.name });
    const changed = c.state.record(result.ok);
    if (changed === undefined) return;
    const change: HealthChange = { edge: c.edge.name, status: changed, reason: c.lastReason };
    (changed === 'down' ? log.warn : log.info)(`edge ${changed}`, { edge: c.edge.name, reason: c.lastReason });
    this.upGauge?.set({ edge: c.edge.name }, changed === 'up' ? 1 : 0);
    this.changes?.inc({ edge: c.edge.name, status: changed });
    for (const l of this.listeners) l(change);
  }
}
