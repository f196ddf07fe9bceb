/**
 * Replays a trace through the edge's real object store (src/edge/store.ts: lru-cache bounded by bytes,
 * with the edge's default max object size of maxBytes / 8, at least 1), in-process and without HTTP: each request
 * is a lookup, and a miss stores the object as the edge stores a fetched response.
 */
import { EdgeStore, replayAccess } from '../src/edge/store.js';
import type { HitCounts } from './opt.js';
import type { Trace } from './trace.js';

export function lruReplay(trace: Trace, capacity: number): HitCounts {
  const store = new EdgeStore({ maxBytes: capacity, maxObjectBytes: Math.max(1, Math.floor(capacity / 8)) });
  const keys = Array.from(trace.sizes, (_, id) => `/o/${id}`);
  const counts: HitCounts = { requests: trace.requests.length, hits: 0, bytes: 0, hitBytes: 0 };
  for (const id of trace.requests) {
    const size = trace.sizes[id]!;
    counts.bytes += size;
    if (replayAccess(store, keys[id]!, size)) {
      counts.hits++;
      counts.hitBytes += size;
    }
  }
  return counts;
}
