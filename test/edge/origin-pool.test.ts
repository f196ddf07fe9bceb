/**
 * The origin pool over real origin servers on loopback: each policy's choice, passive ejection and return,
 * retries (once, only for GET/HEAD that never reached a server), and what happens when every server is down.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { originPoolOf } from '../../src/config/origin-pool.js';
import type { OriginPolicy, OriginPoolConfig } from '../../src/config/types.js';
import { OriginPool } from '../../src/edge/upstream/origin-pool.js';
import type { UpstreamRequest } from '../../src/edge/upstream/upstream.js';
import { refusingUrl } from '../net/loopback.js';
import { startNamedOrigins, type NamedOrigin } from './pool-origins.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function origins(...names: string[]): Promise<NamedOrigin[]> {
  const list = await startNamedOrigins(names);
  cleanup.push(() => Promise.all(list.map((o) => o.close())));
  return list;
}

function pool(config: OriginPoolConfig, now?: () => number): OriginPool {
  const p = new OriginPool({ pool: config, timeoutMs: 2000, ...(now && { now }) });
  cleanup.push(() => p.close());
  return p;
}

function poolOf(list: Array<NamedOrigin | string>, policy: OriginPolicy, edit: (c: OriginPoolConfig) => void = () => undefined): OriginPoolConfig {
  const c = originPoolOf(list.map((o) => (typeof o === 'string' ? o : o.url)), policy);
  edit(c);
  return c;
}

/** The server that answered (its x-server), or the failure kind; the body is read so the connection is freed. */
async function ask(p: OriginPool, r: Partial<UpstreamRequest> = {}): Promise<string> {
  const result = await p.request({ method: 'GET', path: '/x', headers: { host: 'cdn.test' }, ...r });
  if (result.kind !== 'response') return result.kind;
  result.response.resume();
  await new Promise((done) => result.response.once('end', done));
  return String(result.response.headers['x-server']);
}

async function askMany(p: OriginPool, n: number, r: Partial<UpstreamRequest> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await ask(p, r));
  return out;
}

describe('origin pool policies', () => {
  it('round-robin takes each server in turn', async () => {
    const p = pool(poolOf(await origins('a', 'b', 'c'), 'round-robin'));
    expect(await askMany(p, 6)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('weighted spreads by weight, smoothly (5:1:1 is a,a,b,a,c,a,a)', async () => {
    const [a, b, c] = await origins('a', 'b', 'c');
    const p = pool(
      poolOf([a!, b!, c!], 'weighted', (cfg) => {
        cfg.servers[0]!.weight = 5;
      }),
    );
    const picks = await askMany(p, 14);
    expect(picks.slice(0, 7)).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
    expect(picks.filter((x) => x === 'a').length).toBe(10);
    expect(picks.filter((x) => x === 'b').length).toBe(2);
  });

  it('least-connections sends the next request to the server with fewer in flight', async () => {
    const [a, b] = await origins('a', 'b');
    const p = pool(poolOf([a!, b!], 'least-connections'));
    a!.hold = true;
    const first = p.request({ method: 'GET', path: '/slow', headers: { host: 'cdn.test' } }); // a: turn 0, both idle
    await waitFor(() => a!.seen.length === 1);
    // a has one in flight: b for the next three, even where the turn would have said a.
    expect(await askMany(p, 3)).toEqual(['b', 'b', 'b']);
    a!.release();
    const r = await first;
    if (r.kind === 'response') r.response.resume();
  });

  it('hash keeps a cache key on one server, and moves only the keys of a server that leaves', async () => {
    const list = await origins('a', 'b', 'c', 'd');
    const p = pool(poolOf(list, 'hash'));
    const keys = Array.from({ length: 80 }, (_, i) => `cdn.test/object-${i}`);
    const before = new Map<string, string>();
    for (const k of keys) before.set(k, await ask(p, { cacheKey: k }));
    for (const k of keys.slice(0, 10)) expect(await ask(p, { cacheKey: k })).toBe(before.get(k));
    // Every server owns some keys (80 keys over 4: each well above 0).
    for (const o of list) expect([...before.values()].filter((s) => s === o.name).length).toBeGreaterThan(5);
    // c leaves (refuses connections: retried elsewhere, then ejected): only c's keys move.
    await list[2]!.close();
    for (const k of keys) {
      const now = await ask(p, { cacheKey: k });
      if (before.get(k) === 'c') expect(now).not.toBe('c');
      else expect(now).toBe(before.get(k));
    }
  });

  it('failover asks the first healthy server in order, and backups only when no other is left', async () => {
    const [a, b, backup] = await origins('a', 'b', 'backup');
    const p = pool(
      poolOf([a!, b!, backup!], 'failover', (cfg) => {
        cfg.servers[2]!.backup = true;
        cfg.passive.maxFails = 1;
      }),
    );
    expect(await askMany(p, 3)).toEqual(['a', 'a', 'a']);
    await a!.close();
    expect(await askMany(p, 3)).toEqual(['b', 'b', 'b']);
    await b!.close();
    expect(await askMany(p, 2)).toEqual(['backup', 'backup']);
  });

  it('round-robin never picks a backup while a primary is available', async () => {
    const [a, backup] = await origins('a', 'backup');
    const p = pool(poolOf([a!, backup!], 'round-robin', (cfg) => (cfg.servers[1]!.backup = true)));
    expect(await askMany(p, 4)).toEqual(['a', 'a', 'a', 'a']);
  });
});

describe('origin pool passive checks', () => {
  it('ejects a server after maxFails consecutive 5xx, and takes it back when the back-off ends', async () => {
    let now = 1_000_000;
    const [a, b] = await origins('a', 'b');
    const p = pool(
      poolOf([a!, b!], 'round-robin', (cfg) => (cfg.passive = { maxFails: 2, ejectMs: 30_000 })),
      () => now,
    );
    a!.status = 500;
    // a answers 500 twice (a 5xx is an answer: returned, not retried), then is ejected: b alone.
    expect(await askMany(p, 4)).toEqual(['a', 'b', 'a', 'b']);
    expect(await askMany(p, 4)).toEqual(['b', 'b', 'b', 'b']);
    expect(p.status().map((s) => s.available)).toEqual([false, true]);
    a!.status = 200;
    now += 29_000;
    expect(await ask(p)).toBe('b');
    now += 1_000;
    expect(new Set(await askMany(p, 4))).toEqual(new Set(['a', 'b']));
  });

  it('a success resets the count: failures that are not consecutive never eject', async () => {
    const [a] = await origins('a');
    const p = pool(poolOf([a!], 'round-robin', (cfg) => (cfg.passive = { maxFails: 2, ejectMs: 30_000 })));
    for (let i = 0; i < 4; i++) {
      a!.status = 500;
      await ask(p);
      a!.status = 200;
      expect(await ask(p)).toBe('a');
    }
    expect(p.status()[0]!.available).toBe(true);
  });
});

describe('origin pool active checks', () => {
  it('probes every server (health/monitor.ts) and skips one whose probe fails `fall` times, until `rise` good ones', async () => {
    const [a, b] = await origins('a', 'b');
    const p = pool(
      poolOf([a!, b!], 'round-robin', (cfg) => {
        cfg.health = { path: '/healthz', intervalMs: 50, timeoutMs: 40, rise: 2, fall: 2 };
        cfg.passive = { maxFails: 1000, ejectMs: 1 }; // passive checks out of the way
      }),
    );
    a!.status = 500;
    await waitFor(() => !p.status()[0]!.available);
    expect(a!.seen.filter((s) => s === 'GET /healthz').length).toBeGreaterThanOrEqual(2);
    expect(await askMany(p, 4)).toEqual(['b', 'b', 'b', 'b']);
    a!.status = 200;
    await waitFor(() => p.status()[0]!.available);
    expect(new Set(await askMany(p, 4))).toEqual(new Set(['a', 'b']));
  });
});

describe('origin pool retries', () => {
  it('retries a GET that could not connect once, on another server', async () => {
    const [b] = await origins('b');
    const dead = refusingUrl();
    const p = pool(poolOf([dead, b!], 'round-robin'));
    // Turn 0 is the dead server: refused, then b answers the same request.
    expect(await ask(p)).toBe('b');
    expect(b!.seen).toEqual(['GET /x']);
  });

  it('retries at most `retries` times', async () => {
    const p = pool(poolOf([refusingUrl(), refusingUrl(), refusingUrl()], 'failover', (cfg) => (cfg.retries = 1)));
    expect(await ask(p)).toBe('connect-error');
  });

  it('never retries a POST, even one that could not connect', async () => {
    const [b] = await origins('b');
    const p = pool(poolOf([refusingUrl(), b!], 'round-robin'));
    const body = { stream: Readable.from([Buffer.from('x=1')]), length: 3 };
    expect(await ask(p, { method: 'POST', body })).toBe('connect-error');
    expect(b!.seen).toEqual([]);
  });

  it('gives a retry only what is left of the first attempt\'s timeout', async () => {
    // a accepts, waits 300 ms and resets the connection (retryable); b never answers.
    const resetter = net.createServer((socket) => setTimeout(() => socket.resetAndDestroy(), 300));
    await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => resetter.close(() => r())));
    const [b] = await origins('b');
    b!.hold = true;
    const config = poolOf([`http://127.0.0.1:${(resetter.address() as AddressInfo).port}`, b!], 'failover');
    const p = new OriginPool({ pool: config, timeoutMs: 600 });
    cleanup.push(() => p.close());
    const r = await p.request({ method: 'GET', path: '/x', headers: { host: 'cdn.test' } });
    expect(r.kind).toBe('timeout');
    expect(b!.seen).toEqual(['GET /x']); // retried on b...
    const budget = Number(/within (\d+) ms/.exec(r.kind === 'response' ? '' : r.error.message)?.[1]);
    expect(budget).toBeLessThanOrEqual(300); // ...with at most 600 - 300 ms, not a second full timeout
    expect(budget).toBeGreaterThan(0);
  });

  it('retries a GET elsewhere when a server sends nothing within the header timeout, and counts it for ejection', async () => {
    const [a, b] = await origins('a', 'b');
    a!.hold = true; // accepts and reads the request, never answers: a frozen or hung server
    const p = pool(
      poolOf([a!, b!], 'failover', (cfg) => {
        cfg.headerTimeoutMs = 150;
        cfg.passive.maxFails = 2;
      }),
    );
    expect(await askMany(p, 3)).toEqual(['b', 'b', 'b']);
    // Two silent attempts eject a (maxFails 2): the third request is not sent there at all.
    expect(a!.seen).toEqual(['GET /x', 'GET /x']);
    expect(b!.seen).toHaveLength(3);
  });

  it('never retries a POST after the header timeout, and waits the whole origin timeout for it', async () => {
    const [a, b] = await origins('a', 'b');
    a!.hold = true;
    const p = new OriginPool({ pool: poolOf([a!, b!], 'failover', (cfg) => (cfg.headerTimeoutMs = 100)), timeoutMs: 500 });
    cleanup.push(() => p.close());
    const r = await p.request({ method: 'POST', path: '/x', headers: { host: 'cdn.test' }, body: { stream: Readable.from([Buffer.from('x=1')]), length: 3 } });
    expect(r.kind === 'response' ? r.kind : r.error.message).toMatch(/did not answer within 500 ms/);
    expect(b!.seen).toEqual([]);
  });

  it('does not cut short or retry a server that started its answer', async () => {
    // a sends its status line at once, the rest after 400 ms: slow, not silent.
    const slow = net.createServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\n');
        setTimeout(() => socket.end('x-server: a\r\ncontent-length: 2\r\nconnection: close\r\n\r\na\n'), 400);
      });
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => slow.close(() => r())));
    const [b] = await origins('b');
    const p = pool(poolOf([`http://127.0.0.1:${(slow.address() as AddressInfo).port}`, b!], 'failover', (cfg) => (cfg.headerTimeoutMs = 100)));
    expect(await ask(p)).toBe('a');
    expect(b!.seen).toEqual([]);
  });

  it('gives the last server left the whole origin timeout, not the header timeout', async () => {
    const [a] = await origins('a');
    a!.hold = true;
    setTimeout(() => a!.release(), 300);
    const p = pool(poolOf([a!], 'failover', (cfg) => (cfg.headerTimeoutMs = 100)));
    expect(await ask(p)).toBe('a');
  });

  it('does not retry a 5xx (the origin answered)', async () => {
    const [a, b] = await origins('a', 'b');
    a!.status = 503;
    const p = pool(poolOf([a!, b!], 'round-robin'));
    expect(await ask(p)).toBe('a');
    expect(b!.seen).toEqual([]);
  });
});

describe('origin pool with every server down', () => {
  it('answers unavailable at once, with the time until the first ejection ends', async () => {
    let now = 5_000_000;
    const p = pool(poolOf([refusingUrl(), refusingUrl()], 'round-robin', (cfg) => (cfg.passive = { maxFails: 1, ejectMs: 7_500 })), () => now);
    expect(await ask(p)).toBe('connect-error'); // both tried: both ejected
    now += 1_000;
    const r = await p.request({ method: 'GET', path: '/x', headers: {} });
    expect(r.kind).toBe('unavailable');
    if (r.kind !== 'unavailable') return;
    expect(r.error.status).toBe(503);
    expect(r.retryAfterSec).toBe(7); // 6.5 s left, rounded up
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error('condition not met');
}
