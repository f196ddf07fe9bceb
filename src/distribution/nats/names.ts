/**
 * Names in the NATS account that one deployment uses, all derived from `distribution.nats.stream`:
 * - `<STREAM>`: the operations, one stream sequence each (= the operation's `seq` everywhere else);
 *   subjects `<prefix>.ops.put.<hash of path>` and `<prefix>.ops.purge.<hash of target>`;
 * - `<STREAM>_STATE`: per-path last values (max_msgs_per_subject = 1), what a new edge rebuilds from;
 *   `<prefix>.state.p.<hash of path>` and the marker `<prefix>.state.mark`;
 * - `<STREAM>_BODIES`: the Object Store bucket of bodies, keyed by SHA-256, so an unchanged body is stored once;
 * - `<STREAM>_LEASE`: the KV bucket of the publisher lease (lease.ts), one key;
 * - a durable consumer `edge-<name>` per edge.
 * A path goes into a subject as a hash: subjects are tokenised on `.` and may not hold spaces, `*` or `>`.
 */
import { createHash } from 'node:crypto';
import type { Operation, OperationInput } from '../operations.js';
import { describeTarget } from '../operations.js';

export interface NatsNames {
  stream: string;
  stateStream: string;
  bodies: string;
  lease: string;
  prefix: string;
}

export function natsNames(stream: string): NatsNames {
  return { stream, stateStream: `${stream}_STATE`, bodies: `${stream}_BODIES`, lease: `${stream}_LEASE`, prefix: stream.toLowerCase() };
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

export function opSubject(n: NatsNames, op: OperationInput | Operation): string {
  return op.kind === 'put' ? `${n.prefix}.ops.put.${hashOf(op.path)}` : `${n.prefix}.ops.purge.${hashOf(describeTarget(op.target))}`;
}

export function stateSubject(n: NatsNames, path: string): string {
  return `${n.prefix}.state.p.${hashOf(path)}`;
}

export function markSubject(n: NatsNames): string {
  return `${n.prefix}.state.mark`;
}

/** Consumer names may not hold `.`, `*`, `>` or whitespace; an edge name may. */
export function consumerName(edge: string): string {
  return `edge-${edge.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}
