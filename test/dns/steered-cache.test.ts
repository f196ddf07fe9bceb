/**
 * The steered fast path against the general path, over real loopback UDP: two servers with the same
 * zone, deployment, seeded randomness and health, one whose steering offers `choose` (fast path on) and
 * one whose steering is hidden behind `answer` only (every steered query takes the general path). The
 * same query sequence must give the same bytes from both, while the first answers from the fast path.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinGeoDatabaseFiles } from '../../src/config/load.js';
import type { EdgeConfig, PoolConfig } from '../../src/config/types.js';
import type { DynamicAnswers } from '../../src/dns/authority.js';
import { GeoLocator } from '../../src/dns/geo.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { Steering, type EdgeHealth } from '../../src/dns/steering.js';
import type { ClientSubnet } from '../../src/dns/types.js';
import { parseCidr } from '../../src/net/cidr.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { decodeReply, query, tcpExchange, udpExchange } from './query-client.js';

const dir = mkdtempSync(join(tmpdir(), 'dnscdn-steered-fast-'));
writeFileSync(
  join(dir, 'cdn.test.zone'),
  ['$ORIGIN cdn.test.', '$TTL 60', '@ IN SOA ns hostmaster 1 3600 600 86400 60', '@ IN NS ns', 'ns IN A 127.0.0.1', 'geo IN A 127.0.0.1', 'rr IN A 127.0.0.1', 'wt IN A 127.0.0.1', 'fo IN A 127.0.0.1', ''].join('\n'),
);

const SITES: Array<[string, string, number, number, number]> = [
  ['london', '127.0.0.11', 51.507, -0.128, 1],
  ['tokyo', '127.0.0.12', 35.69, 139.692, 3],
  ['newyork', '127.0.0.13', 40.713, -74.006, 6],
  ['saopaulo', '127.0.0.14', -23.551, -46.633, 2],
];
const EDGES: EdgeConfig[] = SITES.map(([name, address, lat, lon, weight]) => ({
  name,
  addresses: name === 'london' || name === 'tokyo' ? [address, `fd00::${address.split('.')[3]}`] : [address],
  port: 8080,
  location: { lat, lon },
  weight,
  health: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 },
  cache: { maxBytes: 1e6 },
}));
const names = EDGES.map((e) => e.name);
const POOLS: PoolConfig[] = [
  { name: 'geo.cdn.test', policy: 'geo-nearest', edges: names, ttl: 20, answers: 1 },
  { name: 'rr.cdn.test', policy: 'round-robin', edges: names, ttl: 30, answers: 2 },
  { name: 'wt.cdn.test', policy: 'weighted', edges: names, ttl: 40, answers: 2 },
  { name: 'fo.cdn.test', policy: 'failover', edges: names, ttl: 50, answers: 1 },
];

/** Health that tells its listeners of every change, as HealthChecker does. */
class SwitchedHealth implements EdgeHealth {
  private readonly down = new Set<string>();
  private readonly listeners: Array<(c: { edge: string }) => void> = [];
  isUp(edge: string): boolean {
    return !this.down.has(edge);
  }
  onChange(listener: (c: { edge: string }) => void): void {
    this.listeners.push(listener);
  }
  set(edge: string, up: boolean): void {
    if (up) this.down.delete(edge);
    else this.down.add(edge);
    for (const l of this.listeners) l({ edge });
  }
}

/** mulberry32, so both servers draw the same weighted sequence. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const health = new SwitchedHealth();
let fast: DnsServer;
let general: DnsServer;

beforeAll(async () => {
  const pinned = parseCidr('192.168.0.0/16');
  if (!pinned.ok) throw new Error(pinned.reason);
  const networks = [{ cidr: pinned.cidr, text: '192.168.0.0/16', edge: 'saopaulo' }];
  const steeringFor = async (h: EdgeHealth): Promise<Steering> =>
    new Steering({ edges: EDGES, pools: POOLS }, { health: h, geo: await GeoLocator.open({ databases: builtinGeoDatabaseFiles(), networks }), random: seeded(7) });
  const withFastPath = await steeringFor(health);
  // Health without change events: the reference ranks every query afresh (no epochs, no kept rankings).
  const onlyAnswer = await steeringFor({ isUp: (edge) => health.isUp(edge) });
  // The reference: the same steering with `choose` hidden, so the pipeline has no steered fast path.
  const generalOnly: DynamicAnswers = { name: 'steering', claims: (k) => onlyAnswer.claims(k), answer: (n, t, c) => onlyAnswer.answer(n, t, c) };
  const listen = [{ host: '127.0.0.1', port: 0 }];
  fast = await startDnsServer({ listen, zonesDir: dir, watchZones: false, dynamicAnswers: withFastPath });
  general = await startDnsServer({ listen, zonesDir: dir, watchZones: false, dynamicAnswers: generalOnly });
});

afterAll(async () => {
  await fast?.close();
  await general?.close();
  rmSync(dir, { recursive: true, force: true });
});

const v4 = (address: string, sourcePrefixLength = 24): ClientSubnet => ({ family: 1, sourcePrefixLength, scopePrefixLength: 0, address });
const v6 = (address: string, sourcePrefixLength = 56): ClientSubnet => ({ family: 2, sourcePrefixLength, scopePrefixLength: 0, address });
const COOKIE = { code: 10, data: Buffer.from('0123456789abcdef', 'hex') };

/** Query shapes: without EDNS, with EDNS, DO, a cookie, and ECS from several places and prefix lengths. */
const SHAPES: Array<[string, Parameters<typeof query>[2]]> = [
  ['no EDNS', {}],
  ['EDNS', { edns: {} }],
  ['EDNS DO', { edns: { dnssecOk: true } }],
  ['cookie', { edns: { otherOptions: [COOKIE] } }],
  ['ECS London /24', { edns: { clientSubnet: v4('81.2.69.0') } }],
  ['ECS London /24, other /24', { edns: { clientSubnet: v4('81.2.70.0') } }],
  ['ECS Tokyo /24', { edns: { clientSubnet: v4('126.0.0.0') } }],
  ['ECS Tokyo /16', { edns: { clientSubnet: v4('126.0.0.0', 16) } }],
  ['ECS /32 (truncated to /24)', { edns: { clientSubnet: v4('126.0.0.77', 32) } }],
  ['ECS pinned network', { edns: { clientSubnet: v4('192.168.7.0') } }],
  ['ECS source 0', { edns: { clientSubnet: v4('0.0.0.0', 0) } }],
  ['ECS IPv6', { edns: { clientSubnet: v6('2400:4050::') } }],
  ['ECS and cookie', { edns: { clientSubnet: v4('81.2.69.0'), otherOptions: [COOKIE] } }],
];

/** Sends the same bytes to both servers; returns both replies. */
async function both(bytes: Buffer, tcp = false): Promise<[Buffer, Buffer]> {
  const ask = async (server: DnsServer): Promise<Buffer> => {
    const port = server.addresses[0]!.port;
    const reply = tcp ? await tcpExchange(port, bytes) : await udpExchange(port, bytes);
    if (!reply) throw new Error('no reply');
    return reply;
  };
  return [await ask(fast), await ask(general)];
}

/** Case-mixes a name the way a 0x20 resolver does (the reply must echo it). */
const mixCase = (name: string, i: number): string => [...name].map((c, j) => ((i + j) % 3 === 0 ? c.toUpperCase() : c)).join('');

describe('steered answers on the fast path', () => {
  it('give the general path’s bytes for every policy, query shape, case and health change', async () => {
    const before = fast.stats.byHandler.fastpath!;
    let sent = 0;
    const run = async (): Promise<void> => {
      for (const pool of POOLS) {
        for (const type of ['A', 'AAAA'] as const) {
          for (const [shape, options] of SHAPES) {
            for (let i = 0; i < 4; i++) {
              const bytes = encodeMessage(query(mixCase(pool.name, i), type, { ...options, id: 100 + i }));
              const [f, g] = await both(bytes);
              sent++;
              expect(f.equals(g), `${pool.name} ${type} ${shape} #${i}: ${f.toString('hex')} vs ${g.toString('hex')}`).toBe(true);
            }
          }
        }
      }
    };
    const londonAsks = async (): Promise<string> => {
      const [f] = await both(encodeMessage(query('geo.cdn.test', 'A', { edns: { clientSubnet: v4('81.2.69.0') } })));
      return String(decodeReply(f).answers[0]!.data);
    };
    await run();
    expect(await londonAsks()).toBe('127.0.0.11');
    health.set('london', false); // geo answers for London move, failover moves, rotations shrink
    expect(await londonAsks()).not.toBe('127.0.0.11');
    await run();
    health.set('tokyo', false);
    health.set('newyork', false);
    health.set('saopaulo', false); // every edge down: fail open everywhere
    await run();
    for (const e of names) health.set(e, true);
    await run();
    // Most queries were answered from encoded bytes: only the first of each decision needs the general path.
    expect(fast.stats.byHandler.fastpath! - before).toBeGreaterThan(sent / 2);
    expect(general.stats.byHandler.fastpath!).toBe(0);
  });

  it('turns round-robin and draws weighted per query on the fast path too', async () => {
    const firsts = async (name: string): Promise<Set<string>> => {
      const seen = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const [f] = await both(encodeMessage(query(name, 'A', { edns: {} })));
        seen.add(String(decodeReply(f).answers[0]!.data));
      }
      return seen;
    };
    const before = fast.stats.byHandler.fastpath!;
    expect((await firsts('rr.cdn.test')).size).toBe(4);
    expect((await firsts('wt.cdn.test')).size).toBeGreaterThan(1);
    expect(fast.stats.byHandler.fastpath! - before).toBeGreaterThan(60);
  });

  it('static names asked with a client subnet option: kept once, the address patched per client', async () => {
    for (const [shape, options] of SHAPES.filter(([label]) => label.startsWith('ECS'))) {
      const replies: Buffer[] = [];
      for (let i = 0; i < 3; i++) {
        const before = fast.stats.byHandler.fastpath!;
        const [f, g] = await both(encodeMessage(query('ns.cdn.test', 'A', { ...options, id: 77 })));
        expect(f.equals(g), `${shape} #${i}`).toBe(true);
        // Both servers may answer from kept bytes here: check the echoed subnet against the query's own.
        const echoed = decodeReply(f).edns?.clientSubnet;
        const sent = options?.edns ? options.edns.clientSubnet : undefined;
        expect(echoed, shape).toEqual({ ...sent, scopePrefixLength: 0 });
        replies.push(f);
        if (i > 0) expect(fast.stats.byHandler.fastpath! - before, `${shape} #${i}`).toBe(1);
      }
      expect(replies[2]!.equals(replies[0]!), shape).toBe(true);
    }
  });

  it('over TCP too, and with RA for nobody (no recursion configured)', async () => {
    for (let i = 0; i < 3; i++) {
      const [f, g] = await both(encodeMessage(query('GEO.cdn.test', 'A', { edns: { clientSubnet: v4('126.0.0.0') }, id: 9 })), true);
      expect(f.equals(g)).toBe(true);
      expect(decodeReply(f).flags.ra).toBe(false);
    }
  });

  it('still answers FORMERR to malformed client subnet options, and keeps answering', async () => {
    const good = encodeMessage(query('geo.cdn.test', 'A', { edns: { clientSubnet: v4('81.2.69.0') }, id: 5 }));
    await both(good);
    await both(good); // now on the fast path for this shape
    // ECS data starts 4 bytes into the option: family (2), source (1), scope (1), address.
    const ecsAt = good.length - 3 - 4;
    const bad: Array<[string, (b: Buffer) => void]> = [
      ['family 3', (b) => b.writeUInt16BE(3, ecsAt)],
      ['source longer than IPv4', (b) => (b[ecsAt + 2] = 33)],
      ['scope longer than IPv4', (b) => (b[ecsAt + 3] = 33)],
      ['address length not ceil(source/8)', (b) => (b[ecsAt + 2] = 16)],
      ['bits past the source prefix', (b) => (b[ecsAt + 2] = 20)],
    ];
    for (const [what, spoil] of bad) {
      const bytes = Buffer.from(good);
      spoil(bytes);
      const [f, g] = await both(bytes);
      expect(f[3]! & 0xf, what).toBe(1); // FORMERR
      expect(f.equals(g), what).toBe(true);
    }
    const [f] = await both(good);
    expect(decodeReply(f).answers).toHaveLength(1);
  });
});
