/**
 * The IPC messages between the DNS primary and its workers (node:cluster's channel, JSON). The channel
 * also carries prom-client's own metric requests (AggregatorRegistry), so every message of ours has a
 * `kind` starting with `dnscdn:dns:`, and anything else is left alone. The liveness ping and pong of
 * src/cluster/liveness.ts share it too (`dnscdn:liveness:`), handled there.
 *
 *   worker -> primary   hello   the worker listens for messages: send it the edges' health
 *                       ready   every listener is bound (the addresses, port 0 resolved)
 *   primary -> worker   health  the edges' health as the primary's checker sees it (the whole set each time)
 *                       reload  reload the zones and the deployment file (SIGHUP reached the primary)
 */
import type { HealthStatus } from '../../health/state.js';
import type { HostPort } from '../../net/address.js';

/** One edge's health; the primary sends the whole list, so a message lost or reordered cannot leave a worker behind. */
export interface EdgeHealthEntry {
  edge: string;
  status: HealthStatus;
  lastReason: string;
}

export type WorkerMessage = { kind: 'dnscdn:dns:hello' } | { kind: 'dnscdn:dns:ready'; listening: HostPort[] };

export type PrimaryMessage = { kind: 'dnscdn:dns:health'; edges: EdgeHealthEntry[] } | { kind: 'dnscdn:dns:reload' };

const WORKER_KINDS: ReadonlySet<string> = new Set(['dnscdn:dns:hello', 'dnscdn:dns:ready']);
const PRIMARY_KINDS: ReadonlySet<string> = new Set(['dnscdn:dns:health', 'dnscdn:dns:reload']);

function kindOf(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || !('kind' in message)) return undefined;
  return typeof message.kind === 'string' ? message.kind : undefined;
}

/** A message a worker sent us (the shapes are ours: both ends are this program at the same version). */
export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return WORKER_KINDS.has(kindOf(message) ?? '');
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return PRIMARY_KINDS.has(kindOf(message) ?? '');
}
