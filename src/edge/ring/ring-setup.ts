/**
 * Builds an edge's way to the content from its ring settings, innermost first:
 *
 *   origin  <-  shield ring (another site)  <-  cluster ring (this site's edges)  <-  worker ring (this host's workers)
 *
 * Each ring is a PeerRing (upstream/peer-ring.ts) whose fallback is the next one out, so a key owned here falls
 * through to the shield or the origin, and a request forwarded by a member of a ring skips that ring (hop
 * header). Cluster and shield members are probed with the edge health checks (src/health, the same probe DNS
 * steering uses, with each edge's own `health` settings); workers are not probed (the primary restarts a dead
 * worker and sends the new list), only ejected passively.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HealthCheckConfig } from '../../config/types.js';
import { HealthChecker, type ProbedEdge } from '../../health/checker.js';
import { PeerRing, type RingEvent, type RingMember } from '../upstream/peer-ring.js';
import type { Upstream } from '../upstream/upstream.js';
import { HopSigner } from './hops.js';
import { HotCopies } from './hot-copies.js';

/** A ring member as the deployment names it. */
export interface PeerTarget {
  name: string;
  /** `http://host:port`: its public listener. */
  url: string;
  /** Active probe settings; absent: not probed (passive ejection only). */
  health?: HealthCheckConfig;
}

export interface EdgeRingOptions {
  /** Key of the hop header's MAC: the deployment's admin token (every edge of the file has it). */
  secret: string;
  /** This edge's name in its cluster and in hop lists. */
  name: string;
  /** The other edges of this edge's cluster. */
  cluster?: readonly PeerTarget[];
  /** The edges of the shield this edge asks instead of the origin. */
  shield?: readonly PeerTarget[];
  /** This worker's member name (`london#1`) when the host runs several workers; members arrive with setWorkers. */
  worker?: string;
  /** Time to a member's response head before it counts as failed. Default: the origin timeout. */
  peerTimeoutMs?: number;
  /** How long a failed member stays out of the ring. Default 10 s. */
  ejectMs?: number;
  /** Bytes of hot copies of other members' objects. Default: a tenth of the store. */
  hotCopyBytes?: number;
}

export interface EdgeRings {
  upstream: Upstream;
  signer: HopSigner;
  /** Absent when the edge has no peer ring (only a shield, or nothing). */
  hot: HotCopies | undefined;
  cluster: PeerRing | undefined;
  workers: PeerRing | undefined;
  /** The worker ring's members (all workers of the host, this one included). */
  setWorkers(members: readonly RingMember[]): void;
  close(): void;
}

export interface RingContext {
  origin: Upstream;
  registry: Registry;
  originTimeoutMs: number;
  storeBytes: number;
  /** Does the store hold this key (for the hot-copy ledger)? */
  holds: (key: string) => boolean;
}

export function buildRings(o: EdgeRingOptions, ctx: RingContext): EdgeRings {
  const ownNames = o.worker === undefined ? [o.name] : [o.worker, o.name];
  const signer = new HopSigner(o.secret, ownNames);
  const events = new Counter({
    name: 'dnscdn_edge_ring_fills_total',
    help: 'Fills by ring tier and what happened: forward (asked the owner), own (this edge owns the key), fallback-after-failure, eject, loop',
    labelNames: ['tier', 'kind', 'member'],
    registers: [ctx.registry],
  });
  // Labels come from the deployment's names (members), never from a request.
  const counted =
    (tier: 'shield' | 'cluster' | 'workers') =>
    (e: RingEvent): void =>
      events.inc({ tier, kind: e.kind, member: e.member });
  const timeoutMs = o.peerTimeoutMs ?? ctx.originTimeoutMs;
  const common = { signer, timeoutMs, ...(o.ejectMs !== undefined ? { ejectMs: o.ejectMs } : {}) };
  const probed = [...(o.cluster ?? []), ...(o.shield ?? [])].filter((p) => p.health !== undefined).map(probedEdge);
  const health = probed.length > 0 ? new HealthChecker(probed) : undefined;
  const isUp = (name: string): boolean => health?.isUp(name) ?? true;

  let upstream = ctx.origin;
  let shield: PeerRing | undefined;
  if (o.shield !== undefined && o.shield.length > 0) {
    shield = new PeerRing({ ...common, tier: 'shield', hopName: o.name, members: o.shield.map(member), fallback: upstream, isUp, onEvent: counted('shield') });
    upstream = shield;
  }
  let cluster: PeerRing | undefined;
  if (o.cluster !== undefined && o.cluster.length > 0) {
    cluster = new PeerRing({ ...common, tier: 'peers', self: o.name, hopName: o.name, members: o.cluster.map(member), fallback: upstream, isUp, onEvent: counted('cluster') });
    upstream = cluster;
  }
  let workers: PeerRing | undefined;
  if (o.worker !== undefined) {
    workers = new PeerRing({ ...common, tier: 'peers', self: o.worker, hopName: o.worker, members: [], fallback: upstream, onEvent: counted('workers') });
    upstream = workers;
  }
  const rings: Array<[string, PeerRing | undefined]> = [
    ['shield', shield],
    ['cluster', cluster],
    ['workers', workers],
  ];
  new Gauge({
    name: 'dnscdn_edge_ring_members',
    help: 'Members on each ring now (healthy and not ejected; this edge included on its own rings; with workers, the fewest any worker sees)',
    labelNames: ['tier'],
    registers: [ctx.registry],
    // Each worker ejects peers on its own: an edge primary shows the smallest view, not the sum of N views.
    aggregator: 'min',
    collect() {
      for (const [tier, ring] of rings) if (ring) this.set({ tier }, ring.live.length);
    },
  });
  health?.onChange(() => {
    shield?.refresh();
    cluster?.refresh();
  });
  health?.start();
  const hot = cluster || workers ? new HotCopies({ maxBytes: o.hotCopyBytes ?? Math.floor(ctx.storeBytes / 10), holds: ctx.holds }) : undefined;
  const outermost = upstream;
  return {
    upstream: outermost,
    signer,
    hot,
    cluster,
    workers,
    setWorkers: (members) => workers?.setMembers(members),
    close: () => {
      health?.stop();
      outermost.close();
    },
  };
}

function member(p: PeerTarget): RingMember {
  return { name: p.name, url: p.url };
}

function probedEdge(p: PeerTarget): ProbedEdge {
  const u = new URL(p.url);
  return { name: p.name, addresses: [u.hostname.replace(/^\[|\]$/g, '')], port: Number(u.port || 80), health: p.health! };
}
