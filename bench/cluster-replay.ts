/**
 * The `cluster` rows of bench:hit-ratio: what sharing a cache across edges buys. A simulation, without sockets:
 * the edges' real stores (src/edge/store.ts, default policy) and the real ring (src/edge/ring/hash-ring.ts),
 * fed one trace. Three layouts of the same trace:
 *   sharded      N edges of C bytes in one cluster: each request is answered by the owner of its key (peer
 *                fill), so the cluster holds each object once. Hot local copies at non-owners are left out.
 *   independent  N edges of C bytes on their own: each request goes to the edge its client reached (spread
 *                evenly and independently of the key, as DNS steering spreads clients), which caches for itself.
 *   single N×C   one store of N × C bytes, the reference a sharded cluster should come close to.
 */
import { DEFAULT_CACHE_POLICY } from '../src/config/cache-policies.js';
import { HashRing } from '../src/edge/ring/hash-ring.js';
import { replayAccess } from '../src/edge/store.js';
import { hitRatios, type HitCounts } from './opt.js';
import { replayKeys, replayStore, storeReplay } from './store-replay.js';
import { traceTotals, type Trace } from './trace.js';

export const CLUSTER_EDGES = 5;
/** Per-edge cache sizes, as fractions of the trace's unique bytes (so N × C is 5 % and 25 %). */
export const CLUSTER_FRACTIONS = [0.01, 0.05] as const;
export const CLUSTER_LAYOUTS = ['sharded', 'independent', 'single'] as const;
export type ClusterLayout = (typeof CLUSTER_LAYOUTS)[number];

export interface ClusterRow {
  trace: string;
  /** Each edge's size C as a fraction of unique bytes (`single` holds edges × C). */
  cacheFraction: number;
  edges: number;
  layout: ClusterLayout;
  ohr: number;
  bhr: number;
}

const round = (x: number): number => Math.round(x * 10000) / 10000;

function replayOver(trace: Trace, capacity: number, edges: number, edgeOf: (request: number, key: string) => number): HitCounts {
  const stores = Array.from({ length: edges }, () => replayStore(trace, capacity, DEFAULT_CACHE_POLICY));
  const keys = replayKeys(trace);
  const counts: HitCounts = { requests: trace.requests.length, hits: 0, bytes: 0, hitBytes: 0 };
  trace.requests.forEach((id, i) => {
    const size = trace.sizes[id]!;
    const key = keys[id]!;
    counts.bytes += size;
    if (replayAccess(stores[edgeOf(i, key)]!, key, size)) {
      counts.hits++;
      counts.hitBytes += size;
    }
  });
  return counts;
}

export function clusterRows(trace: Trace, edges = CLUSTER_EDGES, fractions: readonly number[] = CLUSTER_FRACTIONS): ClusterRow[] {
  const totals = traceTotals(trace);
  const names = Array.from({ length: edges }, (_, i) => `edge${i}`);
  const ring = new HashRing(names);
  const ownerIndex = new Map(names.map((n, i) => [n, i]));
  const rows: ClusterRow[] = [];
  for (const cacheFraction of fractions) {
    const capacity = Math.max(1, Math.floor(cacheFraction * totals.uniqueBytes));
    const add = (layout: ClusterLayout, counts: HitCounts): void => {
      const r = hitRatios(counts);
      rows.push({ trace: trace.name, cacheFraction, edges, layout, ohr: round(r.ohr), bhr: round(r.bhr) });
    };
    add('sharded', replayOver(trace, capacity, edges, (_, key) => ownerIndex.get(ring.owner(key)!)!));
    // Knuth's multiplicative hash of the request's position: an even spread that ignores the key.
    add('independent', replayOver(trace, capacity, edges, (i) => (Math.imul(i, 2654435761) >>> 0) % edges));
    add('single', storeReplay(trace, capacity * edges, DEFAULT_CACHE_POLICY));
  }
  return rows;
}
