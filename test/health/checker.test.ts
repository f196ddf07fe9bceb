import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { EdgeConfig } from '../../src/config/types.js';
import { HealthChecker, type HealthChange, type Timers } from '../../src/health/checker.js';
import type { ProbeResult } from '../../src/health/probe.js';
import { createRegistry } from '../../src/metrics.js';

function edge(name: string, port: number, health: Partial<EdgeConfig['health']> = {}): EdgeConfig {
  return {
    name,
    addresses: ['127.0.0.1'],
    port,
    location: { lat: 0, lon: 0 },
    weight: 1,
    health: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3, ...health },
    cache: { maxBytes: 1e6 },
  };
}

/** A clock and timer queue that only move when the test says so. */
class ManualTimers implements Timers {
  now = 0;
  private queue: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.queue.push({ at: this.now + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.queue = this.queue.filter((t) => t.id !== handle);
  }
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const t = this.queue[0];
      if (!t || t.at > until) break;
      this.queue.shift();
      this.now = t.at;
      t.fn();
      // Let the (already resolved) probe promise and its bookkeeping run.
      await new Promise((r) => setImmediate(r));
    }
    this.now = until;
  }
}

describe('health checker', () => {
  it('takes a failing edge out within interval x fall and brings it back after rise successes', async () => {
    const timers = new ManualTimers();
    let healthy = true;
    const probes: string[] = [];
    const checker = new HealthChecker([edge('a', 1)], {
      timers,
      now: () => timers.now,
      probe: async (t): Promise<ProbeResult> => {
        probes.push(`${t.host}:${t.port}${t.path}`);
        return healthy ? { ok: true, status: 200 } : { ok: false, reason: 'connection refused' };
      },
    });
    const changes: Array<HealthChange & { at: number }> = [];
    checker.onChange((c) => changes.push({ ...c, at: timers.now }));
    checker.start();
    await timers.advance(2500);
    expect(checker.isUp('a')).toBe(true);
    expect(probes[0]).toBe('127.0.0.1:1/healthz');

    healthy = false;
    const failedAt = timers.now;
    await timers.advance(3000);
    expect(checker.isUp('a')).toBe(false);
    expect(changes).toEqual([{ edge: 'a', status: 'down', reason: 'connection refused', at: changes[0]!.at }]);
    expect(changes[0]!.at - failedAt).toBeLessThanOrEqual(1000 * 3);

    healthy = true;
    const recoveredAt = timers.now;
    await timers.advance(1000);
    expect(checker.isUp('a')).toBe(false); // one success is not `rise`
    await timers.advance(1000);
    expect(checker.isUp('a')).toBe(true);
    expect(changes[1]!.status).toBe('up');
    expect(changes[1]!.at - recoveredAt).toBeLessThanOrEqual(1000 * 2);
    checker.stop();
  });

  it('ignores a flapping edge that never fails `fall` times in a row', async () => {
    const timers = new ManualTimers();
    let n = 0;
    const checker = new HealthChecker([edge('a', 1)], {
      timers,
      now: () => timers.now,
      probe: async (): Promise<ProbeResult> => (n++ % 3 === 2 ? { ok: true, status: 200 } : { ok: false, reason: 'flap' }),
    });
    const changes: HealthChange[] = [];
    checker.onChange((c) => changes.push(c));
    checker.start();
    await timers.advance(30_000);
    expect(n).toBeGreaterThanOrEqual(30);
    expect(changes).toEqual([]);
    expect(checker.isUp('a')).toBe(true);
    checker.stop();
  });

  it('probes every address of a dual-stack edge: one dead address takes the edge out, its return brings it back', async () => {
    const timers = new ManualTimers();
    let v6Alive = true;
    const probes = new Set<string>();
    const dual = { ...edge('dual', 8080), addresses: ['127.0.0.1', '::1'] };
    const checker = new HealthChecker([dual, edge('other', 8081)], {
      timers,
      now: () => timers.now,
      probe: async (t): Promise<ProbeResult> => {
        probes.add(`${t.host}:${t.port}`);
        return t.host !== '::1' || v6Alive ? { ok: true, status: 200 } : { ok: false, reason: 'connection refused' };
      },
    });
    const changes: HealthChange[] = [];
    checker.onChange((c) => changes.push(c));
    checker.start();
    await timers.advance(1500);
    expect([...probes].sort()).toEqual(['127.0.0.1:8080', '127.0.0.1:8081', '::1:8080']);
    v6Alive = false;
    await timers.advance(3000);
    expect(checker.isUp('dual')).toBe(false);
    expect(checker.isUp('other')).toBe(true);
    expect(changes).toEqual([{ edge: 'dual', status: 'down', reason: 'connection refused' }]);
    expect(checker.status().find((s) => s.edge === 'dual')!.lastReason).toBe('[::1]:8080: connection refused');
    v6Alive = true;
    await timers.advance(2000);
    expect(checker.isUp('dual')).toBe(true);
    checker.stop();
  });

  describe('against a real HTTP server', () => {
    let server: Server | undefined;
    afterEach(() => {
      server?.closeAllConnections();
      server?.close();
    });

    /** Answers /healthz with 200 or 503 as `answer` says, on one listener for the whole test (port 0, never re-bound). */
    function listen(answer: () => number): Promise<Server> {
      const s = createServer((req, res) => {
        res.statusCode = req.url === '/healthz' ? answer() : 404;
        res.end('ok');
      });
      return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
    }

    /** Resolves once `check` holds (polled every 10 ms; the test's timeout bounds the wait). */
    async function until(check: () => boolean): Promise<void> {
      while (!check()) await new Promise((r) => setTimeout(r, 10));
    }

    it('sees the server go down and come back, and exports the state as a metric', async () => {
      let status = 200;
      server = await listen(() => status);
      const port = (server.address() as AddressInfo).port;
      const registry = createRegistry();
      const checker = new HealthChecker([edge('live', port, { intervalMs: 50, timeoutMs: 40, rise: 2, fall: 2 })], { registry });
      const next = (want: string): Promise<HealthChange> => new Promise((resolve) => checker.onChange((c) => c.status === want && resolve(c)));
      expect(checker.status()).toEqual([{ edge: 'live', status: 'up', lastReason: 'not probed yet' }]);
      checker.start();
      // Up at start is the default (state.ts); what shows the probe works is its result arriving.
      await until(() => checker.status()[0]!.lastReason === 'status 200');
      expect(checker.isUp('live')).toBe(true);

      const down = next('down');
      status = 503;
      expect((await down).reason).toBe('status 503');
      expect(checker.isUp('live')).toBe(false);
      expect(await registry.getSingleMetricAsString('dnscdn_edge_up')).toContain('dnscdn_edge_up{edge="live"} 0');

      const up = next('up');
      status = 200;
      await up;
      expect(checker.isUp('live')).toBe(true);
      expect(await registry.getSingleMetricAsString('dnscdn_edge_up')).toContain('dnscdn_edge_up{edge="live"} 1');
      expect(await registry.getSingleMetricAsString('dnscdn_edge_health_changes_total')).toMatch(/status="down"} 1/);
      checker.stop();
    });

    it('counts a refused connection as a failed probe and names the cause', async () => {
      // Port 1 on loopback (tcpmux): nothing here listens there, and no test binds it.
      const checker = new HealthChecker([edge('gone', 1, { intervalMs: 50, timeoutMs: 40, rise: 1, fall: 1 })]);
      const down = new Promise<HealthChange>((resolve) => checker.onChange(resolve));
      checker.start();
      const change = await down;
      expect(change).toMatchObject({ edge: 'gone', status: 'down' });
      expect(change.reason).toMatch(/ECONNREFUSED/);
      expect(checker.isUp('gone')).toBe(false);
      checker.stop();
    });
  });
});
