/**
 * The per-path state stream (`<STREAM>_STATE`, one message per subject): for each path its last put, or a
 * tombstone once a purge removed it, and a marker holding the last operation whose state is complete. It is
 * what an edge rebuilds from when it is new or further behind than the operations stream keeps.
 *
 * Consistency: the one publisher writes the state of operation N (entries, then the marker N) before it
 * publishes N+1, all on one connection, so the stream holds them in operation order. A reader that takes the
 * stream in order and stops at marker S has every path as of S (or newer, from an operation after S that it
 * will replay): it keeps entries with `asOf <= S` and consumes operations from S + 1.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { isNat } from '../json-shape.js';
import { applyToLiveObjects, parseOperation, purgeMatches } from '../operations.js';
import type { Operation, PutOperation } from '../operations.js';
import type { NatsLink } from './connect.js';
import { markSubject, stateSubject } from './names.js';
import { readStream } from './read-stream.js';

/** A state message: a path's last put, or null once purged; `asOf` is the operation that wrote it. */
interface StateEntry {
  path: string;
  asOf: number;
  op: PutOperation | null;
}

function parseEntry(v: unknown): StateEntry | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as { path?: unknown; asOf?: unknown; op?: unknown };
  if (typeof e.path !== 'string' || !isNat(e.asOf)) return undefined;
  if (e.op === null) return { path: e.path, asOf: e.asOf, op: null };
  const op = parseOperation(e.op);
  return op.kind === 'put' ? { path: e.path, asOf: e.asOf, op } : undefined;
}

/** The body digest a state message refers to (a path's last put), if any. */
export function stateDigest(m: JsMsg): string | undefined {
  try {
    return parseEntry(m.json())?.op?.sha256;
  } catch {
    return undefined;
  }
}

function parseMark(v: unknown): number | undefined {
  const seq = (v as { seq?: unknown } | null)?.seq;
  return isNat(seq) ? seq : undefined;
}

export interface StateSnapshot {
  /** The last operation the snapshot is complete for. */
  seq: number;
  live: Map<string, PutOperation>;
}

/** Reads the whole state stream in order, as of its last complete marker. */
export async function readState(link: NatsLink): Promise<StateSnapshot> {
  const { names } = link;
  const live = new Map<string, PutOperation>();
  let seq = 0;
  const pending = new Map<string, StateEntry>();
  const mark = markSubject(names);
  await readStream(link, names.stateStream, take);
  return { seq, live };

  function take(m: JsMsg): void {
    const value: unknown = m.json();
    if (m.subject === mark) {
      const s = parseMark(value);
      if (s === undefined) return;
      seq = s;
      // Entries up to this marker are complete; later ones belong to an operation that will be replayed.
      for (const [path, e] of pending) {
        if (e.asOf > s) continue;
        if (e.op) live.set(path, e.op);
        else live.delete(path);
        pending.delete(path);
      }
      return;
    }
    const e = parseEntry(value);
    if (e) pending.set(e.path, e);
  }
}

/**
 * The publisher's view of the live objects, kept in step with the state stream: `apply` writes what operation
 * `op` changed (the put, or a tombstone per path a purge removed) and then the marker, and resolves once
 * JetStream has acknowledged them all.
 */
export class LiveState {
  constructor(
    private readonly link: NatsLink,
    readonly live: Map<string, PutOperation>,
    public seq: number,
  ) {}

  async apply(op: Operation): Promise<void> {
    if (op.seq <= this.seq) return; // already in the state (a retried publish answered as a duplicate)
    const { js, names } = this.link;
    // The map changes only after JetStream has every write, so a failed apply can simply be retried.
    const removed = op.kind === 'purge' ? [...this.live.values()].filter((put) => purgeMatches(op.target, put)).map((put) => put.path) : [];
    const writes: Array<Promise<unknown>> = [];
    const entry = (e: StateEntry): void => void writes.push(js.publish(stateSubject(names, e.path), JSON.stringify(e)));
    if (op.kind === 'put') entry({ path: op.path, asOf: op.seq, op });
    for (const path of removed) entry({ path, asOf: op.seq, op: null });
    writes.push(js.publish(markSubject(names), JSON.stringify({ seq: op.seq })));
    await Promise.all(writes);
    applyToLiveObjects(this.live, op);
    this.seq = op.seq;
  }
}
