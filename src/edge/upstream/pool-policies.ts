/**
 * How an origin pool picks one server among those it may use now (healthy, not ejected, not yet tried for this
 * request). The candidates come in the pool's configured order; each policy is a pure choice over them plus the
 * small per-server state it keeps (`PolicyServer`), so a test can drive one without a network.
 *
 * - `round-robin`: each in turn, weights ignored.
 * - `weighted`: nginx's smooth weighted round-robin: every pick adds each candidate's weight to its running
 *   score, takes the highest and subtracts the total. Weights 5:1:1 give a,a,b,a,c,a,a rather than a burst of five a's.
 * - `least-connections`: fewest requests in flight relative to weight; ties go to the round-robin turn.
 * - `hash`: rendezvous hashing (highest random weight, Thaler & Ravishankar 1996) of the cache key with each
 *   server id: a URL keeps going to the same server, and when a server leaves only its own keys move (about 1/N),
 *   with no ring to rebuild. Weighted by Schindelhauer's log method: score = weight / -ln(h). Without a key
 *   (a pass) it falls back to round-robin.
 * - `failover`: the first candidate in configured order.
 */
import type { OriginPolicy } from '../../config/types.js';
import { hashKey, mix32 } from '../eviction/key-hash.js';

export interface PolicyServer {
  readonly id: string;
  readonly weight: number;
  /** Requests sent and not yet finished (least-connections). */
  active: number;
  /** Smooth weighted round-robin's running score. */
  currentWeight: number;
  /** hashKey(id), computed once. */
  readonly idHash: number;
}

export interface PickContext {
  /** Increments once per pick (round-robin turn, least-connections ties). */
  turn: number;
  cacheKey: string | undefined;
}

export function pickServer<S extends PolicyServer>(policy: OriginPolicy, candidates: readonly S[], ctx: PickContext): S {
  switch (policy) {
    case 'round-robin':
      return roundRobin(candidates, ctx.turn);
    case 'weighted':
      return smoothWeighted(candidates);
    case 'least-connections':
      return leastConnections(candidates, ctx.turn);
    case 'hash':
      return ctx.cacheKey === undefined ? roundRobin(candidates, ctx.turn) : rendezvous(candidates, ctx.cacheKey);
    case 'failover':
      return candidates[0]!;
  }
}

function roundRobin<S>(candidates: readonly S[], turn: number): S {
  return candidates[turn % candidates.length]!;
}

function smoothWeighted<S extends PolicyServer>(candidates: readonly S[]): S {
  let total = 0;
  let best = candidates[0]!;
  for (const s of candidates) {
    s.currentWeight += s.weight;
    total += s.weight;
    if (s.currentWeight > best.currentWeight) best = s;
  }
  best.currentWeight -= total;
  return best;
}

function leastConnections<S extends PolicyServer>(candidates: readonly S[], turn: number): S {
  const n = candidates.length;
  let best = candidates[turn % n]!;
  for (let i = 1; i < n; i++) {
    const s = candidates[(turn + i) % n]!;
    // a/wa < b/wb without dividing (a weight may be 0 only if the file allows it; it does not).
    if (s.active * best.weight < best.active * s.weight) best = s;
  }
  return best;
}

function rendezvous<S extends PolicyServer>(candidates: readonly S[], key: string): S {
  const keyHash = hashKey(key);
  let best = candidates[0]!;
  let bestScore = -Infinity;
  for (const s of candidates) {
    // (h + 1) / 2^32 + 1 lies in (0, 1): -ln of it is positive and finite.
    const u = (mix32(keyHash ^ s.idHash) + 1) / 4294967297;
    const score = s.weight / -Math.log(u);
    if (score > bestScore) {
      bestScore = score;
      best = s;
    }
  }
  return best;
}
