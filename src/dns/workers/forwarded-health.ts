/**
 * A worker's view of edge health: what the primary's one HealthChecker found, forwarded over IPC
 * (messages.ts). Probes run once per host, not once per worker, and every worker holds the same
 * up/down set, so all of them give the same steered answer. Steering keeps its own epoch per pool and
 * bumps it on each change it is told of here; the epoch only invalidates local rankings (it is not part
 * of an answer or of an encoded reply's key), so workers that started at different times still agree.
 */
import type { EdgeHealth } from '../steering.js';
import type { EdgeHealthEntry } from './messages.js';

export class ForwardedHealth implements EdgeHealth {
  private edges = new Map<string, EdgeHealthEntry>();
  private readonly listeners: Array<(change: { edge: string }) => void> = [];

  /** Takes the primary's whole list; tells steering of every edge whose up/down state changed. */
  apply(entries: readonly EdgeHealthEntry[]): void {
    const before = this.edges;
    this.edges = new Map(entries.map((e) => [e.edge, e]));
    for (const e of entries) {
      const was = before.get(e.edge);
      // An edge not heard of before counts as up (HealthChecker starts every edge up).
      if ((was?.status ?? 'up') !== e.status) for (const l of this.listeners) l({ edge: e.edge });
    }
  }

  isUp(edge: string): boolean {
    return this.edges.get(edge)?.status !== 'down';
  }

  onChange(listener: (change: { edge: string }) => void): void {
    this.listeners.push(listener);
  }

  status(): EdgeHealthEntry[] {
    return [...this.edges.values()];
  }
}
