/**
 * Traffic steering: the A/AAAA answer for a CDN pool name is chosen per query from the pool's healthy
 * edges by the pool's policy (round-robin, weighted, geo-nearest, failover). Plugged into the authority
 * as its `DynamicAnswers` source, so zone data and steering stay apart.
 *
 * Fail open: when every edge of a pool is down (or the health checker itself is cut off from them),
 * the pool answers as if all were up. An empty answer would take the whole site down for the TTL;
 * a possibly dead address at least lets clients try.
 */
import { Counter, type Registry } from 'prom-client';
import type { Deployment, EdgeConfig, PoolConfig } from '../config/types.js';
import { logger } from '../log.js';
import { parseIp } from '../net/cidr.js';
import type { IpFamily } from '../net/cidr.js';
import type { DynamicAnswer, DynamicAnswers, DynamicChoice } from './authority.js';
import { clientNetwork, distanceKm, GeoLocator, type ClientNetwork, type DnsClient, type GeoResult } from './geo.js';
import type { ResourceRecord } from './types.js';

const log = logger('steering');

export interface EdgeHealth {
  isUp(edge: string): boolean;
  /**
   * Optional: called on every change of `isUp` (HealthChecker does). With it, steering keeps its
   * geo-nearest rankings per location until a health change of the pool's edges; without it, it ranks
   * per query.
   */
  onChange?(listener: (change: { edge: string }) => void): void;
}

export interface SteeringOptions {
  health: EdgeHealth;
  geo?: GeoLocator;
  /** Uniform in [0, 1); inject a seeded one for reproducible weighted choices. */
  random?: () => number;
  registry?: Registry;
}

/** Which edges one answer names, and the RFC 7871 scope it is valid for. */
export interface Steered {
  edges: EdgeConfig[];
  /** 0 when the choice did not depend on the client's address. */
  scopePrefixLength: number;
  failOpen: boolean;
}

/** A decision before it is given: what giving it changes in the pool. */
interface Decision extends Steered {
  /** A round-robin start was used: giving it turns the pool's cursor. */
  turns: boolean;
  /** A weighted draw was used: giving it uses the draw up. */
  drawn: boolean;
}

/** A geo-nearest ranking kept for one location while the pool's health epoch stays the same. */
interface Ranked {
  epoch: number;
  decision: Decision;
  cacheKey: string;
}

/** A weighted draw made ahead (by a fast-path look) and kept until an answer uses it. */
interface PendingDraw {
  usable: EdgeConfig[];
  count: number;
  edges: EdgeConfig[];
}

interface Pool {
  config: PoolConfig;
  edges: EdgeConfig[];
  /** The edges with an address of each family, in pool order (fixed per deployment). */
  candidates: Record<IpFamily, EdgeConfig[]>;
  /** Next round-robin start; wraps (bounded by the pool size). */
  cursor: number;
  /** Bumped on every health change of one of the pool's edges: rankings from an older epoch are stale. */
  epoch: number;
  pending?: PendingDraw;
  /** Rankings by location (the GeoLocator's memoised result objects) and family; collected with them. */
  ranked: Record<IpFamily, WeakMap<GeoResult, Ranked>>;
}

export class Steering implements DynamicAnswers {
  readonly name = 'steering';
  private pools = new Map<string, Pool>();
  private edgesByName = new Map<string, EdgeConfig>();
  /** Edge addresses split by family once per deployment, not per query. */
  private addressesByFamily = new Map<string, Record<IpFamily, string[]>>();
  /** Bumped by every deployment: part of every cache key, so bytes encoded for the old one are never served. */
  private generation = 0;
  private readonly random: () => number;
  private readonly failingOpen = new Set<string>();
  private readonly failOpenAnswers?: Counter;
  private readonly answersByEdge?: Counter;
  /** True when the health source reports its changes (epochs are then meaningful). */
  private readonly tracksHealth: boolean;

  constructor(
    deployment: Pick<Deployment, 'edges' | 'pools'>,
    private readonly options: SteeringOptions,
  ) {
    this.random = options.random ?? Math.random;
    if (options.registry) {
      const registers = [options.registry];
      this.failOpenAnswers = new Counter({ name: 'dnscdn_pool_fail_open_answers_total', help: 'Answers given with every edge of the pool down', labelNames: ['pool'], registers });
      this.answersByEdge = new Counter({ name: 'dnscdn_steering_answers_total', help: 'Steered answers by pool and first edge', labelNames: ['pool', 'edge'], registers });
    }
    this.tracksHealth = options.health.onChange !== undefined;
    options.health.onChange?.((change) => this.healthChanged(change.edge));
    this.setDeployment(deployment);
  }

  /** Takes a reloaded deployment's pools and edges; round-robin positions of unchanged pools are kept. */
  setDeployment(d: Pick<Deployment, 'edges' | 'pools'>): void {
    this.generation++;
    this.edgesByName = new Map(d.edges.map((e) => [e.name, e]));
    this.addressesByFamily = new Map(
      d.edges.map((e) => [e.name, { 4: e.addresses.filter((a) => parseIp(a)?.family === 4), 6: e.addresses.filter((a) => parseIp(a)?.family === 6) }]),
    );
    const next = new Map<string, Pool>();
    for (const config of d.pools) {
      const edges = config.edges.map((n) => this.edgesByName.get(n)).filter((e): e is EdgeConfig => e !== undefined);
      const withFamily = (family: IpFamily): EdgeConfig[] => edges.filter((e) => this.addressesByFamily.get(e.name)![family].length > 0);
      next.set(config.name, {
        config,
        edges,
        candidates: { 4: withFamily(4), 6: withFamily(6) },
        cursor: this.pools.get(config.name)?.cursor ?? 0,
        epoch: 0,
        ranked: { 4: new WeakMap(), 6: new WeakMap() },
      });
    }
    this.pools = next;
  }

  /** An edge went up or down: every pool holding it starts a new health epoch. */
  healthChanged(edge: string): void {
    for (const pool of this.pools.values()) {
      if (pool.config.edges.includes(edge)) pool.epoch++;
    }
  }

  claims(key: string): boolean {
    return this.pools.has(key);
  }

  answer(name: string, type: 'A' | 'AAAA', client: DnsClient): DynamicAnswer | undefined {
    const pool = this.pools.get(name);
    if (!pool) return undefined;
    const family = type === 'A' ? 4 : 6;
    const chosen = this.decide(pool, family, () => clientNetwork(client));
    if (!chosen) return undefined;
    this.give(pool, chosen.decision);
    const records: ResourceRecord[] = [];
    for (const edge of chosen.decision.edges) {
      for (const a of this.addressesByFamily.get(edge.name)![family]) {
        records.push(type === 'A' ? { name, type: 'A', ttl: pool.config.ttl, class: 'IN', data: a } : { name, type: 'AAAA', ttl: pool.config.ttl, class: 'IN', data: a });
      }
    }
    return { records, scopePrefixLength: chosen.decision.scopePrefixLength, cacheKey: chosen.cacheKey };
  }

  choose(name: string, type: 'A' | 'AAAA', network: () => ClientNetwork | undefined): DynamicChoice | undefined {
    const pool = this.pools.get(name);
    if (!pool) return undefined;
    const chosen = this.decide(pool, type === 'A' ? 4 : 6, network);
    if (!chosen) return undefined;
    return { cacheKey: chosen.cacheKey, take: () => this.give(pool, chosen.decision) };
  }

  /** The edges for one query of `poolName` (all the pool's edges as candidates); exported for tests and tools. */
  steer(poolName: string, client: DnsClient): Steered | undefined {
    const pool = this.pools.get(poolName);
    if (!pool) return undefined;
    const decision = this.choice(pool, pool.edges, () => clientNetwork(client));
    this.give(pool, decision);
    return { edges: decision.edges, scopePrefixLength: decision.scopePrefixLength, failOpen: decision.failOpen };
  }

  /**
   * The edges a client would be given now for the pool (IPv4 first, else IPv6), without giving the answer: no
   * round-robin turn, no answer counted. For views of the steering (the dashboard's sample networks).
   */
  preview(poolName: string, client: DnsClient): string[] | undefined {
    const pool = this.pools.get(poolName);
    if (!pool) return undefined;
    const chosen = this.decide(pool, 4, () => clientNetwork(client)) ?? this.decide(pool, 6, () => clientNetwork(client));
    return chosen?.decision.edges.map((e) => e.name);
  }

  /**
   * The decision for `family` and the client's network, with its cache key; no side effects (see
   * `give`). Undefined when no edge has an address of the family: the zone answers (NODATA).
   */
  private decide(pool: Pool, family: IpFamily, network: () => ClientNetwork | undefined): { decision: Decision; cacheKey: string } | undefined {
    const candidates = pool.candidates[family];
    if (candidates.length === 0) return undefined;
    // Geo-nearest for a located client: the ranking for this location holds until the pool's health changes.
    const located = pool.config.policy === 'geo-nearest' && this.options.geo ? network() : undefined;
    const geo = located && this.options.geo!.locate(located);
    if (geo && this.tracksHealth) {
      const kept = pool.ranked[family].get(geo);
      if (kept && kept.epoch === pool.epoch) return kept;
      const decision = this.choice(pool, candidates, network, geo);
      const ranked = { epoch: pool.epoch, decision, cacheKey: this.cacheKey(decision) };
      // Only a ranking is kept; an unknown location turns the round-robin and is decided per query.
      if (!decision.turns) pool.ranked[family].set(geo, ranked);
      return ranked;
    }
    const decision = this.choice(pool, candidates, network, geo);
    return { decision, cacheKey: this.cacheKey(decision) };
  }

  private cacheKey(d: Decision): string {
    let key = `${this.generation}/${d.scopePrefixLength}`;
    for (const e of d.edges) key += `/${e.name}`;
    return key;
  }

  /** Gives a decision: turns the round-robin, uses up the weighted draw, counts the answer. */
  private give(pool: Pool, d: Decision): void {
    if (d.turns) pool.cursor = (pool.cursor + 1) % Number.MAX_SAFE_INTEGER;
    if (d.drawn) delete pool.pending;
    this.noteFailOpen(pool.config.name, d.failOpen);
    this.answersByEdge?.inc({ pool: pool.config.name, edge: d.edges[0]!.name });
  }

  /** `geo`: the client's location when already looked up; else `nearest` looks it up from `network`. */
  private choice(pool: Pool, candidates: EdgeConfig[], network: () => ClientNetwork | undefined, geo?: GeoResult): Decision {
    const healthy = candidates.filter((e) => this.options.health.isUp(e.name));
    const failOpen = healthy.length === 0;
    const usable = failOpen ? candidates : healthy;
    // Fail open names every edge (in the policy's order): the client's own retries then find a live one.
    const count = failOpen ? usable.length : Math.min(pool.config.answers, usable.length);
    const plain = { scopePrefixLength: 0, failOpen, turns: false, drawn: false };
    switch (pool.config.policy) {
      case 'round-robin':
        return { ...plain, edges: this.rotate(pool, usable, count), turns: true };
      case 'weighted':
        return { ...plain, edges: this.draw(pool, usable, count), drawn: true };
      case 'failover':
        // Ordered: `usable` keeps the pool's order, so the first healthy edges win.
        return { ...plain, edges: usable.slice(0, count) };
      case 'geo-nearest':
        return this.nearest(pool, usable, count, network, failOpen, geo);
    }
  }

  /** The round-robin answer at the pool's cursor (`give` turns it). */
  private rotate(pool: Pool, usable: EdgeConfig[], count: number): EdgeConfig[] {
    const start = pool.cursor % usable.length;
    const out: EdgeConfig[] = [];
    for (let i = 0; i < count; i++) out.push(usable[(start + i) % usable.length]!);
    return out;
  }

  /**
   * The pool's next weighted draw: drawn once and kept until given, so a fast-path look that does not
   * answer (the general path then answers) does not draw twice, and the random sequence is the same
   * whichever path answers.
   */
  private draw(pool: Pool, usable: EdgeConfig[], count: number): EdgeConfig[] {
    const p = pool.pending;
    if (p && p.count === count && p.usable.length === usable.length && p.usable.every((e, i) => e === usable[i])) return p.edges;
    const edges = this.weighted(usable, count);
    pool.pending = { usable, count, edges };
    return edges;
  }

  /** Weighted sampling without replacement: each pick is proportional to weight among those not yet picked. */
  private weighted(usable: EdgeConfig[], count: number): EdgeConfig[] {
    const left = [...usable];
    const out: EdgeConfig[] = [];
    while (out.length < count && left.length > 0) {
      const total = left.reduce((s, e) => s + e.weight, 0);
      // All remaining weights 0 (only possible in fail-open or after picks): fall back to uniform.
      let r = this.random() * (total > 0 ? total : left.length);
      let i = 0;
      for (; i < left.length - 1; i++) {
        r -= total > 0 ? left[i]!.weight : 1;
        if (r < 0) break;
      }
      out.push(left.splice(i, 1)[0]!);
    }
    return out;
  }

  private nearest(pool: Pool, usable: EdgeConfig[], count: number, network: () => ClientNetwork | undefined, failOpen: boolean, located?: GeoResult): Decision {
    const client = located || !this.options.geo ? undefined : network();
    const geo: GeoResult | undefined = located ?? (client && this.options.geo!.locate(client));
    // A network pinned to an edge puts that edge first and ranks the rest from its location.
    const pinned = geo?.edge !== undefined ? this.edgesByName.get(geo.edge) : undefined;
    const origin = pinned?.location ?? geo?.location;
    const scopePrefixLength = geo?.prefixLength ?? 0;
    if (!origin) {
      // Unknown location: round-robin among healthy edges. The scope still covers the unknown network,
      // so a resolver does not reuse this answer for clients we can place.
      return { edges: this.rotate(pool, usable, count), scopePrefixLength, failOpen, turns: true, drawn: false };
    }
    const ranked = usable
      .map((e) => ({ e, d: e === pinned ? -1 : distanceKm(origin, e.location) }))
      .sort((a, b) => a.d - b.d)
      .map((x) => x.e);
    return { edges: ranked.slice(0, count), scopePrefixLength, failOpen, turns: false, drawn: false };
  }

  private noteFailOpen(pool: string, failOpen: boolean): void {
    if (failOpen) {
      this.failOpenAnswers?.inc({ pool });
      if (!this.failingOpen.has(pool)) {
        this.failingOpen.add(pool);
        log.warn('every edge of the pool is down: answering with all of them (fail open)', { pool });
      }
    } else if (this.failingOpen.delete(pool)) {
      log.info('pool has healthy edges again', { pool });
    }
  }
}
