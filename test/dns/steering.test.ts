import { beforeAll, describe, expect, it } from 'vitest';
import { builtinGeoDatabaseFiles } from '../../src/config/load.js';
import type { EdgeConfig, PoolConfig, PoolPolicy } from '../../src/config/types.js';
import { GeoLocator } from '../../src/dns/geo.js';
import { Steering, type EdgeHealth } from '../../src/dns/steering.js';
import { parseCidr } from '../../src/net/cidr.js';

const SITES: Array<[string, string, number, number, number]> = [
  ['london', '127.0.0.11', 51.507, -0.128, 1],
  ['tokyo', '127.0.0.12', 35.69, 139.692, 3],
  ['newyork', '127.0.0.13', 40.713, -74.006, 6],
  ['saopaulo', '127.0.0.14', -23.551, -46.633, 0],
];
const EDGES: EdgeConfig[] = SITES.map(([name, address, lat, lon, weight]) => ({
  name,
  addresses: name === 'london' ? [address, 'fd00::11'] : [address],
  port: 8080,
  location: { lat, lon },
  weight,
  health: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 },
  cache: { maxBytes: 1e6 },
}));

class SetHealth implements EdgeHealth {
  down = new Set<string>();
  isUp(edge: string): boolean {
    return !this.down.has(edge);
  }
}

/** mulberry32: a small seeded PRNG so the weighted test is reproducible. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pool(policy: PoolPolicy, extra: Partial<PoolConfig> = {}): PoolConfig {
  return { name: 'www.cdn.test', policy, edges: ['london', 'tokyo', 'newyork', 'saopaulo'], ttl: 20, answers: 1, ...extra };
}

const ecs = (address: string, sourcePrefixLength = 24) => ({ address: '127.0.0.1', clientSubnet: { family: 1 as const, sourcePrefixLength, scopePrefixLength: 0, address } });
const firstA = (s: Steering, client: Parameters<Steering['answer']>[2]): string[] => s.answer('www.cdn.test', 'A', client)!.records.map((r) => String(r.data));

describe('steering', () => {
  let geo: GeoLocator;
  beforeAll(async () => {
    const p = parseCidr('192.168.0.0/16');
    if (!p.ok) throw new Error(p.reason);
    geo = await GeoLocator.open({ databases: builtinGeoDatabaseFiles(), networks: [{ cidr: p.cidr, text: '192.168.0.0/16', edge: 'saopaulo' }] });
  });

  it('preview names what a client would get without giving it: a round-robin does not turn, and nothing is counted', () => {
    const s = new Steering({ edges: EDGES, pools: [pool('round-robin')] }, { health: new SetHealth() });
    const previewed = s.preview('www.cdn.test', { address: '127.0.0.1' });
    expect(s.preview('www.cdn.test', { address: '127.0.0.1' })).toEqual(previewed);
    const given = EDGES.find((e) => e.name === previewed![0])!.addresses.filter((a) => !a.includes(':'));
    expect(firstA(s, { address: '127.0.0.1' })).toEqual(given);
    expect(s.preview('www.cdn.test', { address: '127.0.0.1' })).not.toEqual(previewed); // the answer turned it
    expect(s.preview('nope.cdn.test', { address: '127.0.0.1' })).toBeUndefined();
  });

  it('claims pool names only', () => {
    const s = new Steering({ edges: EDGES, pools: [pool('round-robin')] }, { health: new SetHealth() });
    expect(s.claims('www.cdn.test')).toBe(true);
    expect(s.claims('rr.cdn.test')).toBe(false);
    expect(s.answer('rr.cdn.test', 'A', { address: '127.0.0.1' })).toBeUndefined();
  });

  it('geo-nearest: London and Tokyo clients (by ECS) get their own edge, with the ECS scope of the database network', () => {
    const health = new SetHealth();
    const s = new Steering({ edges: EDGES, pools: [pool('geo-nearest')] }, { health, geo });
    const london = s.answer('www.cdn.test', 'A', ecs('81.2.69.0'))!;
    expect(london.records).toEqual([{ name: 'www.cdn.test', type: 'A', class: 'IN', ttl: 20, data: '127.0.0.11' }]);
    expect(london.scopePrefixLength).toBe(24);
    const tokyo = s.answer('www.cdn.test', 'A', ecs('133.242.0.0'))!;
    expect(tokyo.records.map((r) => r.data)).toEqual(['127.0.0.12']);
    expect(tokyo.scopePrefixLength).toBeGreaterThan(0);
    expect(tokyo.scopePrefixLength).toBeLessThanOrEqual(24);
    // The source address counts when there is no ECS.
    expect(firstA(s, { address: '133.242.0.1' })).toEqual(['127.0.0.12']);
    // A config network pinned to an edge.
    expect(firstA(s, { address: '192.168.3.4' })).toEqual(['127.0.0.14']);
    // London down: the next nearest to London is New York.
    health.down.add('london');
    expect(firstA(s, ecs('81.2.69.0'))).toEqual(['127.0.0.13']);
    health.down.add('newyork');
    expect(firstA(s, ecs('81.2.69.0'))).toEqual(['127.0.0.14']);
  });

  it('geo-nearest with several answers lists edges by distance', () => {
    const s = new Steering({ edges: EDGES, pools: [pool('geo-nearest', { answers: 3 })] }, { health: new SetHealth(), geo });
    expect(firstA(s, ecs('133.242.0.0'))).toEqual(['127.0.0.12', '127.0.0.11', '127.0.0.13']);
  });

  it('geo-nearest with an unknown location round-robins among healthy edges', () => {
    const health = new SetHealth();
    health.down.add('tokyo');
    const s = new Steering({ edges: EDGES, pools: [pool('geo-nearest')] }, { health, geo });
    const seen = Array.from({ length: 6 }, () => firstA(s, { address: '127.0.0.1' })[0]);
    expect(seen).toEqual(['127.0.0.11', '127.0.0.13', '127.0.0.14', '127.0.0.11', '127.0.0.13', '127.0.0.14']);
  });

  it('round-robin rotates the answer set per query and skips down edges', () => {
    const health = new SetHealth();
    const s = new Steering({ edges: EDGES, pools: [pool('round-robin', { answers: 2, ttl: 5 })] }, { health });
    expect(firstA(s, { address: '127.0.0.1' })).toEqual(['127.0.0.11', '127.0.0.12']);
    expect(firstA(s, { address: '127.0.0.1' })).toEqual(['127.0.0.12', '127.0.0.13']);
    health.down.add('newyork');
    const a = s.answer('www.cdn.test', 'A', { address: '127.0.0.1' })!;
    expect(a.records.map((r) => r.data)).toEqual(['127.0.0.14', '127.0.0.11']);
    expect(a.records.every((r) => r.ttl === 5)).toBe(true);
    expect(a.scopePrefixLength).toBe(0);
  });

  it('weighted: 10,000 answers split by weight within statistical bounds', () => {
    const s = new Steering({ edges: EDGES, pools: [pool('weighted')] }, { health: new SetHealth(), random: seeded(7) });
    const counts = new Map<string, number>();
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      const a = firstA(s, { address: '127.0.0.1' })[0]!;
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    // Weights 1 : 3 : 6 : 0. Each count is binomial; 4 standard deviations is far outside chance for a correct sampler.
    for (const [address, weight] of [['127.0.0.11', 1], ['127.0.0.12', 3], ['127.0.0.13', 6]] as const) {
      const p = weight / 10;
      const sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs((counts.get(address) ?? 0) - n * p)).toBeLessThan(4 * sd);
    }
    expect(counts.get('127.0.0.14')).toBeUndefined();
  });

  it('failover answers the first healthy edge in order', () => {
    const health = new SetHealth();
    const s = new Steering({ edges: EDGES, pools: [pool('failover', { edges: ['tokyo', 'london', 'newyork'] })] }, { health });
    expect(firstA(s, { address: '127.0.0.1' })).toEqual(['127.0.0.12']);
    health.down.add('tokyo');
    expect(firstA(s, { address: '127.0.0.1' })).toEqual(['127.0.0.11']);
    health.down.add('london');
    expect(firstA(s, { address: '127.0.0.1' })).toEqual(['127.0.0.13']);
  });

  it.each<PoolPolicy>(['round-robin', 'weighted', 'geo-nearest', 'failover'])('%s fails open when every edge is down: all of them, never empty', (policy) => {
    const health = new SetHealth();
    for (const e of EDGES) health.down.add(e.name);
    const s = new Steering({ edges: EDGES, pools: [pool(policy)] }, { health, geo, random: seeded(1) });
    const steered = s.steer('www.cdn.test', ecs('81.2.69.0'))!;
    expect(steered.failOpen).toBe(true);
    expect(steered.edges.map((e) => e.name).sort()).toEqual(['london', 'newyork', 'saopaulo', 'tokyo']);
    expect(firstA(s, ecs('81.2.69.0'))).toHaveLength(4);
  });

  it('answers AAAA from edges with IPv6 addresses and leaves the name to the zone when none has one', () => {
    const s = new Steering({ edges: EDGES, pools: [pool('round-robin'), { ...pool('round-robin'), name: 'v4.cdn.test', edges: ['tokyo'] }] }, { health: new SetHealth() });
    expect(s.answer('www.cdn.test', 'AAAA', { address: '::1' })!.records).toEqual([{ name: 'www.cdn.test', type: 'AAAA', class: 'IN', ttl: 20, data: 'fd00::11' }]);
    expect(s.answer('v4.cdn.test', 'AAAA', { address: '::1' })).toBeUndefined();
  });
});
