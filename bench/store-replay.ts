/**
 * Replays a trace through the edge's real object store (src/edge/store.ts with the given eviction policy,
 * the edge's default max object size of maxBytes / 8, at least 1), in-process and without HTTP: each request
 * is a lookup, and a miss offers the object as the edge offers a fetched response. The policy's fixed tables
 * are sized for the trace's mean object size, as an operator sizes them with `expectedObjectBytes`.
 */
import { EdgeStore, replayAccess } from '../src/edge/store.js';
import type { CachePolicyName } from '../src/config/cache-policies.js';
import type { HitCounts } from './opt.js';
import { traceTotals, type Trace } from './trace.js';

const REPLAY_HASH_SEED = 0x811c9dc5;

/** A store of `capacity` bytes as the replays use it: the edge's default max object size, tables sized for the trace, a fixed hash seed. */
export function replayStore(trace: Trace, capacity: number, policy: CachePolicyName): EdgeStore {
  const totals = traceTotals(trace);
  return new EdgeStore({
    maxBytes: capacity,
    maxObjectBytes: Math.max(1, Math.floor(capacity / 8)),
    policy,
    expectedObjectBytes: totals.objects === 0 ? 1 : totals.uniqueBytes / totals.objects,
    // A fixed hash seed: the replay, and so the committed results, are the same on every run.
    hashSeed: REPLAY_HASH_SEED,
  });
}

/** The key of object `id` in every replay. */
export function replayKeys(trace: Trace): string[] {
  return Array.from(trace.sizes, (_, id) => `/o/${id}`);
}

export function storeReplay(trace: Trace, capacity: number, policy: CachePolicyName): HitCounts {
  const store = replayStore(trace, capacity, policy);
  const keys = replayKeys(trace);
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

/** The edge store with `lru` (the reference every policy is compared with). */
export function lruReplay(trace: Trace, capacity: number): HitCounts {
  return storeReplay(trace, capacity, 'lru');
}
