/**
 * Prototypes that rank residents by a score and evict the lowest of a random sample (as Redis and the
 * Hyperbolic and LHD papers do: 64 samples approximate the true minimum well, Psounis and Prabhakar 2001):
 * - hyperbolic (Blankstein et al., ATC'17): requests since insertion / time in cache, per byte;
 * - lrfu (Lee et al., 2001): combined recency-frequency, each past request worth 2^(-lambda x age), per byte;
 * - lhd (Beckmann et al., NSDI'18): hit density per byte, learned online from hits and evictions by age and class.
 * Each admits every object; only the eviction rank differs.
 */
import { seededRandom } from '../random.js';
import type { SimContext, SimPolicy } from './sim-policy.js';

const SAMPLES = 64;

/** The residents as a dense array (O(1) add, remove and uniform sampling). */
export class Residents {
  readonly list: Int32Array;
  readonly pos: Int32Array;
  length = 0;
  used = 0;
  constructor(ids: number) {
    this.list = new Int32Array(ids);
    this.pos = new Int32Array(ids).fill(-1);
  }
  has(id: number): boolean {
    return this.pos[id]! >= 0;
  }
  add(id: number, size: number): void {
    this.pos[id] = this.length;
    this.list[this.length++] = id;
    this.used += size;
  }
  remove(id: number, size: number): void {
    const at = this.pos[id]!;
    const last = this.list[--this.length]!;
    this.list[at] = last;
    this.pos[last] = at;
    this.pos[id] = -1;
    this.used -= size;
  }
}

export interface Scored {
  /** Called on every request, before the hit/miss is decided. */
  touch(id: number, t: number, hit: boolean): void;
  /** Higher is more worth keeping. */
  score(id: number, t: number): number;
  /** Called when an object leaves. */
  evicted(id: number, t: number): void;
}

/** Admits every object; evicts the lowest `score` of SAMPLES residents drawn at random. `residents` may be shared with the scorer. */
export function sampledPolicy(ctx: SimContext, scored: Scored, residents = new Residents(ctx.ids), seed = 7): SimPolicy {
  const random = seededRandom(seed);
  return {
    get used() {
      return residents.used;
    },
    access(id, size, t) {
      const hit = residents.has(id);
      scored.touch(id, t, hit);
      if (hit) return true;
      if (size > ctx.maxObject) return false;
      while (residents.used + size > ctx.capacity) {
        let victim = -1;
        let worst = Infinity;
        const n = residents.length;
        for (let k = 0; k < Math.min(SAMPLES, n); k++) {
          const candidate = residents.list[Math.floor(random() * n)]!;
          const s = scored.score(candidate, t);
          if (s < worst) {
            worst = s;
            victim = candidate;
          }
        }
        residents.remove(victim, ctx.sizes[victim]!);
        scored.evicted(victim, t);
      }
      residents.add(id, size);
      return false;
    },
  };
}

export function hyperbolic(ctx: SimContext): SimPolicy {
  const count = new Float64Array(ctx.ids);
  const since = new Float64Array(ctx.ids);
  return sampledPolicy(ctx, {
    touch(id, t, hit) {
      if (hit) count[id]!++;
      else {
        count[id] = 1;
        since[id] = t;
      }
    },
    score: (id, t) => count[id]! / (t - since[id]! + 1) / ctx.sizes[id]!,
    evicted() {},
  });
}

/** lambda is per request, scaled to the cache's expected object count: `halfLives` cache turnovers halve a request's weight. */
export function lrfu(halfLives: number): (ctx: SimContext) => SimPolicy {
  return (ctx) => {
    const objects = Math.max(1, ctx.capacity / ctx.meanSize);
    const lambda = 1 / (halfLives * objects);
    const crf = new Float64Array(ctx.ids);
    const last = new Float64Array(ctx.ids);
    return sampledPolicy(ctx, {
      touch(id, t) {
        crf[id] = 1 + crf[id]! * 2 ** (-lambda * (t - last[id]!));
        last[id] = t;
      },
      score: (id, t) => (crf[id]! * 2 ** (-lambda * (t - last[id]!))) / ctx.sizes[id]!,
      evicted() {},
    });
  };
}

const AGE_BUCKETS = 256;
const CLASSES = 8;

/**
 * LHD with classes by hits so far (log2) and 256 age buckets spanning 8 cache turnovers; the event counts decay
 * by 0.9 and the densities are recomputed every cache turnover. `keepHistory`: an object's request count survives
 * its eviction (an unbounded table: an upper estimate of what a bounded ghost table could give).
 */
export function lhd(keepHistory: boolean): (ctx: SimContext) => SimPolicy {
  return (ctx) => lhdPolicy(ctx, keepHistory);
}

function lhdPolicy(ctx: SimContext, keepHistory: boolean): SimPolicy {
  const objects = Math.max(1, ctx.capacity / ctx.meanSize);
  const granularity = Math.max(1, Math.ceil((8 * objects) / AGE_BUCKETS));
  const reconfigureEvery = Math.max(1000, Math.ceil(objects));
  const hits = new Float64Array(CLASSES * AGE_BUCKETS);
  const evictions = new Float64Array(CLASSES * AGE_BUCKETS);
  const density = new Float64Array(CLASSES * AGE_BUCKETS).fill(1);
  const hitCount = new Uint32Array(ctx.ids);
  const lastAccess = new Float64Array(ctx.ids);
  let sinceReconfigure = 0;
  const classOf = (id: number): number => Math.min(CLASSES - 1, Math.floor(Math.log2(hitCount[id]! + 1)));
  const bucketOf = (id: number, t: number): number => Math.min(AGE_BUCKETS - 1, Math.floor((t - lastAccess[id]!) / granularity));
  const reconfigure = (): void => {
    for (let c = 0; c < CLASSES; c++) {
      let cumHits = 0;
      let cumEvents = 0;
      let lifetime = 0;
      for (let a = AGE_BUCKETS - 1; a >= 0; a--) {
        const i = c * AGE_BUCKETS + a;
        cumHits += hits[i]!;
        cumEvents += hits[i]! + evictions[i]!;
        lifetime += cumEvents;
        density[i] = lifetime > 0 ? cumHits / lifetime : 0;
        hits[i]! *= 0.9;
        evictions[i]! *= 0.9;
      }
    }
  };
  return sampledPolicy(ctx, {
    touch(id, t, hit) {
      if (hit) {
        hits[classOf(id) * AGE_BUCKETS + bucketOf(id, t)]!++;
        hitCount[id]!++;
      } else if (!keepHistory) hitCount[id] = 0;
      else if (lastAccess[id]! > 0) hitCount[id]!++;
      lastAccess[id] = t;
      if (++sinceReconfigure >= reconfigureEvery) {
        sinceReconfigure = 0;
        reconfigure();
      }
    },
    score: (id, t) => density[classOf(id) * AGE_BUCKETS + bucketOf(id, t)]! / ctx.sizes[id]!,
    evicted(id, t) {
      evictions[classOf(id) * AGE_BUCKETS + bucketOf(id, t)]!++;
    },
  });
}
