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
import type { DynamicAnswer, DynamicAnswers } from './authority.js';
import { clientNetwork, distanceKm, GeoLocator, type DnsClient, type GeoResult } from './geo.js';
import type { ResourceRecord } from './types.js';

const log = logger('steering');

export interface EdgeHealth {
  isUp(edge: string): boolean;
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

interface Pool {
  config: PoolConfig;
  edges: EdgeConfig[];
  /** Next round-robin start; wraps (bounded by the pool size). */
  cursor: number;
}

export class Steering implements DynamicAnswers {
  readonly name = 'steering';
  private pools = new Map<string, Pool>();
  private edgesByName = new Map<string, EdgeConfig>();
  /** Edge addresses split by family once per deployment, not per query. */
  private addressesByFamily = new Map<string, Record<4 | 6, string[]>>();
  private readonly random: () => number;
  private readonly failingOpen = new Set<string>();
  private readonly failOpenAnswers?: Counter;
  private readonly answersByEdge?: Counter;

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
    this.setDeployment(deployment);
  }

  /** Takes a reloaded deployment's pools and edges; round-robin positions of unchanged pools are kept. */
  setDeployment(d: Pick<Deployment, 'edges' | 'pools'>): void {
    this.edgesByName = new Map(d.edges.map((e) => [e.name, e]));
    this.addressesByFamily = new Map(
      d.edges.map((e) => [e.name, { 4: e.addresses.filter((a) => parseIp(a)?.family === 4), 6: e.addresses.filter((a) => parseIp(a)?.family === 6) }]),
    );
    const next = new Map<string, Pool>();
    for (const config of d.pools) {
      const edges = config.edges.map((n) => this.edgesByName.get(n)).filter((e): e is EdgeConfig => e !== undefined);
      next.set(config.name, { config, edges, cursor: this.pools.get(config.name)?.cursor ?? 0 });
    }
    this.pools = next;
  }

  claims(key: string): boolean {
    return this.pools.has(key);
  }

  answer(name: string, type: 'A' | 'AAAA', client: DnsClient): DynamicAnswer | undefined {
    const pool = this.pools.get(name);
    if (!pool) return undefined;
    const family = type === 'A' ? 4 : 6;
    // Only edges with an address of the asked family can appear; none at all = let the zone answer (NODATA).
    const candidates = pool.edges.filter((e) => this.addressesByFamily.get(e.name)![family].length > 0);
    if (candidates.length === 0) return undefined;
    const steered = this.choose(pool, candidates, client);
    const records: ResourceRecord[] = [];
    for (const edge of steered.edges) {
      for (const a of this.addressesByFamily.get(edge.name)![family]) {
        records.push(type === 'A' ? { name, type: 'A', ttl: pool.config.ttl, class: 'IN', data: a } : { name, type: 'AAAA', ttl: pool.config.ttl, class: 'IN', data: a });
      }
    }
    this.answersByEdge?.inc({ pool: name, edge: steered.edges[0]!.name });
    return { records, scopePrefixLength: steered.scopePrefixLength };
  }

  /** The edges for one query of `poolName` (all the pool's edges as candidates); exported for tests and tools. */
  steer(poolName: string, client: DnsClient): Steered | undefined {
    const pool = this.pools.get(poolName);
    return pool ? this.choose(pool, pool.edges, client) : undefined;
  }

  private choose(pool: Pool, candidates: EdgeConfig[], client: DnsClient): Steered {
    const healthy = candidates.filter((e) => this.options.health.isUp(e.name));
    const failOpen = healthy.length === 0;
    this.noteFailOpen(pool.config.name, failOpen);
    const usable = failOpen ? candidates : healthy;
    // Fail open names every edge (in the policy's order): the client's own retries then find a live one.
    const count = failOpen ? usable.length : Math.min(pool.config.answers, usable.length);
    switch (pool.config.policy) {
      case 'round-robin':
        return { edges: this.rotate(pool, usable, count), scopePrefixLength: 0, failOpen };
      case 'weighted':
        return { edges: this.weighted(usable, count), scopePrefixLength: 0, failOpen };
      case 'failover':
        // Ordered: `usable` keeps the pool's order, so the first healthy edges win.
        return { edges: usable.slice(0, count), scopePrefixLength: 0, failOpen };
      case 'geo-nearest':
        return this.nearest(pool, usable, count, client, failOpen);
    }
  }

  private rotate(pool: Pool, usable: EdgeConfig[], count: number): EdgeConfig[] {
    const start = pool.cursor % usable.length;
    pool.cursor = (pool.cursor + 1) % Number.MAX_SAFE_INTEGER;
    const out: EdgeConfig[] = [];
    for (let i = 0; i < count; i++) out.push(usable[(start + i) % usable.length]!);
    return out;
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

  private nearest(pool: Pool, usable: EdgeConfig[], count: number, client: DnsClient, failOpen: boolean): Steered {
    const network = clientNetwork(client);
    const geo: GeoResult | undefined = network && this.options.geo?.locate(network);
    // A network pinned to an edge puts that edge first and ranks the rest from its location.
    const pinned = geo?.edge !== undefined ? this.edgesByName.get(geo.edge) : undefined;
    const origin = pinned?.location ?? geo?.location;
    if (!origin) {
      // Unknown location: round-robin among healthy edges. The scope still covers the unknown network,
      // so a resolver does not reuse this answer for clients we can place.
      return { edges: this.rotate(pool, usable, count), scopePrefixLength: geo?.prefixLength ?? 0, failOpen };
    }
    const ranked = usable
      .map((e) => ({ e, d: e === pinned ? -1 : distanceKm(origin, e.location) }))
      .sort((a, b) => a.d - b.d)
      .map((x) => x.e);
    return { edges: ranked.slice(0, count), scopePrefixLength: geo?.prefixLength ?? 0, failOpen };
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
