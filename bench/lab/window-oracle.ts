/**
 * A bound on what knowledge of the near future is worth: Belady's MIN that sees only the next `window`
 * requests. A resident object whose next request lies inside the window is "known" and ranked by that next
 * request (furthest evicted first); every other resident is "unknown" and evicted first, least recently used
 * first, as an online policy must. A new object is admitted unless it is known not to come back within the
 * window while the cache is full of known objects that do. window = 0 is LRU; window = trace length is MIN.
 * Sweeping the window shows how far ahead a policy would have to predict to reach a given share of the
 * LRU->OPT gap; no online policy predicts that well for free.
 */
import { MaxHeap } from '../opt.js';
import { IdLists } from './id-list.js';
import type { SimContext, SimPolicy } from './sim-policy.js';

const UNKNOWN = 0;

export function windowOracle(window: number): (ctx: SimContext) => SimPolicy {
  return (ctx) => {
    const n = ctx.requests.length;
    const unknown = new IdLists(ctx.ids, 1);
    const resident = new Uint8Array(ctx.ids);
    // The next request of each resident object (its current pending one) and the key it is filed under in the heap.
    const pending = new Float64Array(ctx.ids).fill(n);
    const filed = new Float64Array(ctx.ids).fill(-1);
    const known = new MaxHeap(n + ctx.ids);
    let used = 0;
    let knownBytes = 0;
    const makeKnown = (id: number): void => {
      unknown.remove(id, ctx.sizes[id]!);
      filed[id] = pending[id]!;
      known.push(pending[id]!, id);
      knownBytes += ctx.sizes[id]!;
    };
    const evictOne = (): void => {
      const u = unknown.tailOf(UNKNOWN);
      if (u >= 0) {
        unknown.remove(u, ctx.sizes[u]!);
        resident[u] = 0;
        used -= ctx.sizes[u]!;
        return;
      }
      for (;;) {
        const id = known.topId();
        const key = known.topPriority();
        known.pop();
        if (filed[id] !== key) continue;
        filed[id] = -1;
        resident[id] = 0;
        used -= ctx.sizes[id]!;
        knownBytes -= ctx.sizes[id]!;
        return;
      }
    };
    return {
      get used() {
        return used;
      },
      access(id, size, t) {
        // The request at t + window comes into view: its object, if resident and waiting for exactly it, becomes known.
        const horizon = t + window;
        if (horizon < n && horizon > t) {
          const seen = ctx.requests[horizon]!;
          if (resident[seen] === 1 && pending[seen] === horizon && filed[seen] < 0) makeKnown(seen);
        }
        const nextUse = ctx.next[t]!;
        const hit = resident[id] === 1;
        if (hit) {
          if (filed[id]! >= 0) {
            filed[id] = -1;
            knownBytes -= size;
          } else unknown.remove(id, size);
        } else {
          if (size > ctx.maxObject) return false;
          // Known not to return within the window, and the rest is all known to return: not worth a place.
          if (nextUse - t > window && used + size > ctx.capacity && knownBytes >= used) return false;
          resident[id] = 1;
          used += size;
        }
        pending[id] = nextUse;
        if (nextUse - t <= window && nextUse < n) {
          filed[id] = nextUse;
          known.push(nextUse, id);
          knownBytes += size;
        } else unknown.pushHead(UNKNOWN, id, size);
        while (used > ctx.capacity) evictOne();
        return hit;
      },
    };
  };
}
