/**
 * Health checks of every edge of a deployment, as DNS steering sees them. Every address an edge is handed out
 * with (`addresses`, IPv4 and IPv6) is probed on its own (monitor.ts), because a client may be given any of
 * them: a dual-stack edge whose IPv6 listener is dead would fail every client that picked AAAA.
 *
 * Per edge, not per address: an edge is up only while every one of its addresses is up. Steering answers with
 * all of an edge's addresses of the asked type, so one dead address takes the whole edge out of answers (the
 * next edge of the pool answers instead) rather than trimming the address list; a half-working edge is treated
 * as a failing host, as a load balancer would. Status changes are logged, counted and passed to listeners.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EdgeConfig } from '../config/types.js';
import { logger } from '../log.js';
import { formatHostPort } from '../net/address.js';
import { HealthMonitor, type MonitoredTarget, type Probe, type Timers } from './monitor.js';
import type { HealthStatus } from './state.js';

export type { Timers } from './monitor.js';

const log = logger('health');

export interface HealthCheckerOptions {
  registry?: Registry;
  timers?: Timers;
  probe?: Probe;
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

/** The monitor's id of one address of an edge: `london@[::1]:8080`. */
function addressId(edge: ProbedEdge, address: string): string {
  return `${edge.name}@${formatHostPort({ host: address, port: edge.port })}`;
}

export class HealthChecker {
  private readonly monitor: HealthMonitor;
  private edges = new Map<string, ProbedEdge>();
  /** The edge each monitored address belongs to. */
  private readonly owner = new Map<string, string>();
  private readonly down = new Set<string>();
  private readonly lastReason = new Map<string, string>();
  private readonly listeners: Array<(c: HealthChange) => void> = [];
  private readonly upGauge?: Gauge;
  private readonly changes?: Counter;
  private readonly failures?: Counter;

  constructor(edges: readonly ProbedEdge[], options: HealthCheckerOptions = {}) {
    if (options.registry) {
      const registers = [options.registry];
      this.upGauge = new Gauge({ name: 'dnscdn_edge_up', help: 'Edge health as DNS steering sees it (1 up, 0 down: some address failed)', labelNames: ['edge'], registers });
      this.changes = new Counter({ name: 'dnscdn_edge_health_changes_total', help: 'Edge health status changes', labelNames: ['edge', 'status'], registers });
      this.failures = new Counter({ name: 'dnscdn_edge_probe_failures_total', help: 'Failed health probes (any address of the edge)', labelNames: ['edge'], registers });
    }
    const monitorOptions: ConstructorParameters<typeof HealthMonitor>[1] = {
      onResult: (id, r) => {
        const edge = this.owner.get(id);
        if (edge === undefined) return;
        this.lastReason.set(edge, r.ok ? `status ${r.status}` : `${id.slice(edge.length + 1)}: ${r.reason}`);
        if (!r.ok) this.failures?.inc({ edge });
      },
    };
    if (options.timers) monitorOptions.timers = options.timers;
    if (options.probe) monitorOptions.probe = options.probe;
    if (options.now) monitorOptions.now = options.now;
    this.monitor = new HealthMonitor([], monitorOptions);
    this.monitor.onChange((c) => this.recompute(this.owner.get(c.id), c.reason));
    this.setEdges(edges);
  }

  /** Replaces the set of edges (config reload): addresses that stay keep their state; new ones start up. */
  setEdges(edges: readonly ProbedEdge[]): void {
    const targets: MonitoredTarget[] = [];
    this.owner.clear();
    for (const edge of edges) {
      for (const address of edge.addresses) {
        const id = addressId(edge, address);
        this.owner.set(id, edge.name);
        targets.push({ id, host: address, port: edge.port, health: edge.health });
      }
    }
    for (const name of this.edges.keys()) {
      if (edges.some((e) => e.name === name)) continue;
      this.down.delete(name);
      this.lastReason.delete(name);
      this.upGauge?.remove({ edge: name });
    }
    const known = this.edges;
    this.edges = new Map(edges.map((e) => [e.name, e]));
    this.monitor.setTargets(targets);
    for (const edge of edges) {
      if (!known.has(edge.name)) this.upGauge?.set({ edge: edge.name }, 1);
      else this.recompute(edge.name, this.lastReason.get(edge.name) ?? 'addresses changed');
    }
  }

  onChange(listener: (c: HealthChange) => void): void {
    this.listeners.push(listener);
  }

  isUp(edge: string): boolean {
    return !this.down.has(edge);
  }

  status(): Array<{ edge: string; status: HealthStatus; lastReason: string }> {
    return [...this.edges.keys()].map((edge) => ({ edge, status: this.isUp(edge) ? 'up' : 'down', lastReason: this.lastReason.get(edge) ?? 'not probed yet' }));
  }

  start(): void {
    this.monitor.start();
  }

  stop(): void {
    this.monitor.stop();
  }

  /** An edge's status from its addresses' (all up -> up); tells listeners when that changed. */
  private recompute(name: string | undefined, reason: string): void {
    const edge = name === undefined ? undefined : this.edges.get(name);
    if (edge === undefined) return;
    const up = edge.addresses.every((a) => this.monitor.isUp(addressId(edge, a)));
    if (up === !this.down.has(edge.name)) return;
    if (up) this.down.delete(edge.name);
    else this.down.add(edge.name);
    const status: HealthStatus = up ? 'up' : 'down';
    (up ? log.info : log.warn)(`edge ${status}`, { edge: edge.name, reason });
    this.upGauge?.set({ edge: edge.name }, up ? 1 : 0);
    this.changes?.inc({ edge: edge.name, status });
    const change: HealthChange = { edge: edge.name, status, reason };
    for (const l of this.listeners) l(change);
  }
}
