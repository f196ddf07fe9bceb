/**
 * The IPC messages between an edge primary and its workers (workers.ts; node:cluster's channel with the
 * `advanced` serialization, so pushed bodies travel as binary). Every message of ours has a `type` starting with
 * `edge:`; anything else on the channel (node:cluster's own) is left alone.
 *
 *   primary -> worker  members    the worker ring: every ready worker's peer URL (the whole list each time)
 *                      apply      a replicated operation (put, purge, clear) to apply to the worker's cache
 *                      purge      purge this target from the worker's cache (an admin or public purge)
 *                      list       list the worker's stored objects (`GET /.dnscdn/objects`)
 *                      metrics    the worker's registry, for the primary's `/metrics` (cluster/metrics.ts)
 *                      purged     the answer to the worker's own `purge-elsewhere`: objects purged at the others
 *   worker -> primary  ready      every listener is bound
 *                      answer     the answer to apply, purge or list (same id)
 *                      purge-elsewhere  a public PURGE reached this worker: purge the others too
 */
import type { Operation, PurgeTarget, PutOperation } from '../distribution/operations.js';
import type { WorkerMetrics } from '../cluster/metrics.js';
import type { StoreListing } from './store.js';
import type { RingMember } from './upstream/peer-ring.js';

export type RelayedOp = { kind: 'put'; op: PutOperation; body: Buffer } | { kind: 'purge'; op: Extract<Operation, { kind: 'purge' }> } | { kind: 'clear' };

/** A question the primary asks of workers; each answers with an `answer` of the same id. */
export type WorkerQuestion =
  | { type: 'edge:apply'; id: number; relayed: RelayedOp }
  | { type: 'edge:purge'; id: number; target: PurgeTarget }
  | { type: 'edge:list'; id: number }
  | { type: 'edge:metrics'; id: number };

export type ToWorker = { type: 'edge:members'; members: RingMember[] } | WorkerQuestion | { type: 'edge:purged'; id: number; count: number };

/** A worker's answer: `purged` to a purge, `objects` to a list, `metrics` to metrics, none to an apply. */
export interface WorkerAnswer {
  type: 'edge:answer';
  id: number;
  purged?: number;
  objects?: StoreListing[];
  metrics?: WorkerMetrics;
}

export interface WorkerReady {
  type: 'edge:ready';
  index: number;
  peerUrl: string;
  /** The public URLs (plain and HTTPS), the same at every worker (node:cluster shares the listeners). */
  urls: string[];
  origins: string;
}

export type ToPrimary = WorkerReady | WorkerAnswer | { type: 'edge:purge-elsewhere'; id: number; target: PurgeTarget };

const TO_PRIMARY: ReadonlySet<string> = new Set(['edge:ready', 'edge:answer', 'edge:purge-elsewhere']);
const TO_WORKER: ReadonlySet<string> = new Set(['edge:members', 'edge:apply', 'edge:purge', 'edge:list', 'edge:metrics', 'edge:purged']);

function typeOf(message: unknown): string {
  if (typeof message !== 'object' || message === null || !('type' in message)) return '';
  return typeof message.type === 'string' ? message.type : '';
}

/** One of ours (both ends are this program at the same version, so the shape follows from the type). */
export function isToPrimary(message: unknown): message is ToPrimary {
  return TO_PRIMARY.has(typeOf(message));
}

export function isToWorker(message: unknown): message is ToWorker {
  return TO_WORKER.has(typeOf(message));
}
