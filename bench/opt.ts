/**
 * Offline reference policies that know the whole trace in advance.
 *
 * `belady`: Belady's MIN (1966) — on a miss, admit the object, then evict the cached object whose next
 * request is furthest in the future until the cache fits again (the new object itself may be the one
 * evicted, i.e. it bypasses the cache). With equal object sizes (count-only traces) this is the exact
 * optimum for object hit ratio. With variable sizes and a byte budget it is still the classic "Belady"
 * reference line, but no longer a proof of optimality: exact OPT with sizes is NP-hard.
 *
 * `intervalBound`: the size-aware upper bound we use for variable sizes — the "PFOO-U" relaxation of
 * Berger, Beckmann and Harchol-Balter ("Practical Bounds on Optimal Caching with Variable Object Sizes",
 * SIGMETRICS 2018). A hit on request j of an object needs the object kept since its previous request
 * i, which occupies size x (j - i) byte-steps; over the whole trace the cache has capacity x n
 * byte-steps. Choosing reuse intervals to maximise hits (or hit bytes) within that budget is a
 * fractional knapsack solved greedily, and no real policy can beat it, Belady included.
 */
import { nextUseIndex, type Trace } from './trace.js';

export interface HitCounts {
  requests: number;
  hits: number;
  bytes: number;
  hitBytes: number;
}

export function hitRatios(counts: HitCounts): { ohr: number; bhr: number } {
  return {
    ohr: counts.requests === 0 ? 0 : counts.hits / counts.requests,
    bhr: counts.bytes === 0 ? 0 : counts.hitBytes / counts.bytes,
  };
}

/** A binary max-heap of (priority, object id) pairs in two parallel typed arrays (Belady here, the lookahead oracle in lab/). */
export class MaxHeap {
  private readonly priority: Float64Array;
  private readonly id: Uint32Array;
  length = 0;

  constructor(capacity: number) {
    this.priority = new Float64Array(capacity);
    this.id = new Uint32Array(capacity);
  }

  push(priority: number, id: number): void {
    let i = this.length++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.priority[parent]! >= priority) break;
      this.priority[i] = this.priority[parent]!;
      this.id[i] = this.id[parent]!;
      i = parent;
    }
    this.priority[i] = priority;
    this.id[i] = id;
  }

  topPriority(): number {
    return this.priority[0]!;
  }

  topId(): number {
    return this.id[0]!;
  }

  pop(): void {
    const last = --this.length;
    const p = this.priority[last]!;
    const v = this.id[last]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      if (child + 1 < last && this.priority[child + 1]! > this.priority[child]!) child++;
      if (this.priority[child]! <= p) break;
      this.priority[i] = this.priority[child]!;
      this.id[i] = this.id[child]!;
      i = child;
    }
    this.priority[i] = p;
    this.id[i] = v;
  }
}

/**
 * Replays the trace through Belady's MIN with `capacity` in the trace's size unit (bytes, or objects
 * for count-only traces). `next` may be passed in when several capacities replay one trace.
 */
export function belady(trace: Trace, capacity: number, next: Uint32Array = nextUseIndex(trace)): HitCounts {
  const n = trace.requests.length;
  // The next-use index an object is currently filed under in the heap, or -1 when it is not cached.
  // Heap entries whose priority no longer matches are stale and skipped when they surface.
  const filedUnder = new Float64Array(trace.sizes.length).fill(-1);
  const heap = new MaxHeap(n);
  let used = 0;
  const counts: HitCounts = { requests: n, hits: 0, bytes: 0, hitBytes: 0 };
  for (let i = 0; i < n; i++) {
    const id = trace.requests[i]!;
    const size = trace.sizes[id]!;
    const nextUse = next[i]!;
    counts.bytes += size;
    if (filedUnder[id]! >= 0) {
      counts.hits++;
      counts.hitBytes += size;
      if (nextUse === n) {
        // Never requested again: it would be the first evicted anyway.
        filedUnder[id] = -1;
        used -= size;
      } else {
        filedUnder[id] = nextUse;
        heap.push(nextUse, id);
      }
      continue;
    }
    if (nextUse === n || size > capacity) continue;
    filedUnder[id] = nextUse;
    heap.push(nextUse, id);
    used += size;
    while (used > capacity) {
      const victim = heap.topId();
      const filed = heap.topPriority();
      heap.pop();
      if (filedUnder[victim] !== filed) continue;
      filedUnder[victim] = -1;
      used -= trace.sizes[victim]!;
    }
  }
  return counts;
}

/**
 * Upper bounds on object and byte hit ratio for each capacity (see the module comment).
 * Returns one {ohr, bhr} per capacity, in the order given.
 */
export function intervalBound(trace: Trace, capacities: readonly number[], next: Uint32Array = nextUseIndex(trace)): Array<{ ohr: number; bhr: number }> {
  const n = trace.requests.length;
  let bytes = 0;
  for (const id of trace.requests) bytes += trace.sizes[id]!;
  // Object hits: every interval is worth one hit and costs size x length; cheapest first.
  const costs: number[] = [];
  // Byte hits: an interval is worth `size` bytes at cost size x length, so value per cost is
  // 1 / length whatever the size: bucket by length and take the shortest first.
  const bytesByLength = new Float64Array(n + 1);
  const sizeOf = (i: number): number => trace.sizes[trace.requests[i]!]!;
  for (let i = 0; i < n; i++) {
    const j = next[i]!;
    if (j === n) continue;
    const length = j - i;
    const size = sizeOf(i);
    costs.push(size * length);
    bytesByLength[length] = bytesByLength[length]! + size;
  }
  const sortedCosts = Float64Array.from(costs).sort();
  // Intervals of objects larger than the cache are kept in: that only loosens the bound, never breaks it.
  return capacities.map((capacity) => {
    const budget = capacity * n;
    let spent = 0;
    let hits = 0;
    for (const cost of sortedCosts) {
      if (spent + cost > budget) {
        hits += (budget - spent) / cost;
        break;
      }
      spent += cost;
      hits++;
    }
    let byteSpent = 0;
    let hitBytes = 0;
    for (let length = 1; length <= n; length++) {
      const value = bytesByLength[length]!;
      if (value === 0) continue;
      const cost = value * length;
      if (byteSpent + cost > budget) {
        hitBytes += (budget - byteSpent) / length;
        break;
      }
      byteSpent += cost;
      hitBytes += value;
    }
    return { ohr: n === 0 ? 0 : hits / n, bhr: bytes === 0 ? 0 : hitBytes / bytes };
  });
}

/**
 * `staticBest`: the best *fixed* content for the whole trace, chosen knowing every object's total number of
 * requests in advance (an oracle of popularity, not of timing): objects by requests per byte, greedily, while
 * they fit; each is a hit on every request but its first. It is what a perfect frequency-only policy could reach
 * if popularity never changed. Where it lies near lru (the cache2k traces: 1-13 % of the LRU->OPT gap at 5 and
 * 10 %), popularity drifts within the trace and what OPT gains comes from timing, which frequency-based admission
 * cannot see; where it lies near OPT (stationary Zipf), frequency is what matters.
 */
export function staticBest(trace: Trace, capacity: number): HitCounts {
  const count = new Float64Array(trace.sizes.length);
  let bytes = 0;
  for (const id of trace.requests) {
    count[id]!++;
    bytes += trace.sizes[id]!;
  }
  const ids = Array.from(count.keys()).filter((id) => count[id]! > 0);
  ids.sort((a, b) => count[b]! / trace.sizes[b]! - count[a]! / trace.sizes[a]! || a - b);
  let room = capacity;
  let hits = 0;
  let hitBytes = 0;
  for (const id of ids) {
    const size = trace.sizes[id]!;
    if (size > room) continue;
    room -= size;
    hits += count[id]! - 1;
    hitBytes += (count[id]! - 1) * size;
  }
  return { requests: trace.requests.length, hits, bytes, hitBytes };
}
