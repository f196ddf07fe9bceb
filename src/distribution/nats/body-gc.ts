/**
 * Body garbage collection. Bodies live in the Object Store by digest and an unchanged body is stored once, so a
 * body may be shared by many operations and paths. A body may be deleted only when
 * - no operation the stream still retains refers to it (an edge behind, within retention, replays those), and
 * - no per-path state entry refers to it (a new edge rebuilds from those), and
 * - it is older than the grace period: a publish stores the body first and publishes the operation after, so a
 *   body younger than that may belong to a publish still in flight (in this origin, or in one that died
 *   mid-publish and whose client is retrying against the next lease holder).
 * A body that is old and unreferenced when listed may still be reused by a publish that starts during the scan
 * (storing it again is skipped as it exists): the publisher records the digests it publishes while a run is
 * under way and deletes none of them (publisher.ts runs the deletes between two publishes).
 *
 * Only the lease holder runs it (lease.ts), so two runs never race each other.
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import type { NatsLink } from './connect.js';
import { readStream } from './read-stream.js';
import { stateDigest } from './state.js';

/** Deletes per run: each costs two round trips while publishing waits, so a big backlog is spread over runs. */
export const MAX_DELETES_PER_RUN = 1000;

/** The digest a put operation message refers to (purges refer to none). */
function opDigest(m: JsMsg): string | undefined {
  try {
    const v = m.json<{ kind?: unknown; sha256?: unknown }>();
    return v.kind === 'put' && typeof v.sha256 === 'string' ? v.sha256 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Bodies older than `olderThan` (wall-clock ms) that nothing refers to. The bucket is listed before the streams
 * are read, so an operation published in between is seen as a reference.
 */
export async function unreferencedBodies(link: NatsLink, bodies: ObjectStore, olderThan: number): Promise<ObjectInfo[]> {
  const old = (await bodies.list()).filter((b) => !b.deleted && Date.parse(b.mtime) < olderThan);
  if (old.length === 0) return [];
  const referenced = new Set<string>();
  const note = (digest: string | undefined): void => void (digest !== undefined && referenced.add(digest));
  await readStream(link, link.names.stream, (m) => note(opDigest(m)));
  await readStream(link, link.names.stateStream, (m) => note(stateDigest(m)));
  return old.filter((b) => !referenced.has(b.name)).slice(0, MAX_DELETES_PER_RUN);
}
