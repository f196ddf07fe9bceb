/**
 * Worker liveness (src/cluster/liveness.ts): the counting of silent rounds with rounds driven by hand, then real
 * node:cluster workers over the real IPC channel, one of them frozen with SIGSTOP.
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { LivenessMonitor, isLivenessMessage, type LivenessMessage, type LivenessPeer, type Unresponsive } from '../../src/cluster/liveness.js';

/** A worker in this process: `answers` decides whether it replies to a ping (at once, as a live loop would). */
class Peer implements LivenessPeer {
  pings = 0;
  answers = true;
  connected = true;
  monitor: LivenessMonitor | undefined;
  constructor(readonly id: number) {}
  send(message: LivenessMessage): boolean {
    this.pings++;
    if (this.answers && message.kind === 'dnscdn:liveness:ping') this.monitor!.receive(this.id, { kind: 'dnscdn:liveness:pong' });
    return true;
  }
  isConnected(): boolean {
    return this.connected;
  }
}

function setUp(misses: number, ...peers: Peer[]): { monitor: LivenessMonitor; declared: Array<[number, Unresponsive]> } {
  const declared: Array<[number, Unresponsive]> = [];
  const monitor = new LivenessMonitor({ intervalMs: 1_000, misses }, (peer, why) => declared.push([peer.id, why]));
  for (const p of peers) {
    p.monitor = monitor;
    monitor.watch(p);
  }
  return { monitor, declared };
}

describe('LivenessMonitor rounds', () => {
  it('declares a worker silent for `misses` rounds in a row, once, and keeps pinging the live one', () => {
    const live = new Peer(1);
    const frozen = new Peer(2);
    frozen.answers = false;
    const { monitor, declared } = setUp(3, live, frozen);
    monitor.tick(); // watching counts as heard: both pinged, no miss yet
    monitor.tick(); // frozen: 1 miss
    monitor.tick(); // 2
    expect(declared).toEqual([]);
    monitor.tick(); // 3: declared
    expect(declared).toEqual([[2, { missed: 3, silentMs: 3_000 }]]);
    for (let i = 0; i < 5; i++) monitor.tick();
    expect(declared).toHaveLength(1); // not declared again: it is no longer watched
    expect(frozen.pings).toBe(3);
    expect(live.pings).toBe(9);
  });

  it('a pong, even a late one, resets the count: a slow worker is alive', () => {
    const slow = new Peer(1);
    slow.answers = false;
    const { monitor, declared } = setUp(2, slow);
    for (let i = 0; i < 10; i++) {
      monitor.tick();
      // Every other round a pong arrives: never two silent rounds in a row.
      if (i % 2 === 1) monitor.receive(1, { kind: 'dnscdn:liveness:pong' });
    }
    expect(declared).toEqual([]);
  });

  it('a worker whose channel is gone is not pinged, and its rounds count as misses', () => {
    const gone = new Peer(1);
    gone.connected = false;
    const { monitor, declared } = setUp(2, gone);
    monitor.tick();
    monitor.tick();
    expect(declared).toEqual([]);
    monitor.tick();
    expect(declared.map(([id]) => id)).toEqual([1]);
    expect(gone.pings).toBe(0);
  });

  it('an unwatched worker is neither pinged nor declared; other messages are left to the caller', () => {
    const p = new Peer(1);
    p.answers = false;
    const { monitor, declared } = setUp(2, p);
    monitor.unwatch(1);
    for (let i = 0; i < 5; i++) monitor.tick();
    expect(declared).toEqual([]);
    expect(p.pings).toBe(0);
    expect(monitor.receive(1, { kind: 'dnscdn:dns:ready', listening: [] })).toBe(false);
    expect(monitor.receive(1, { type: 'prom-client:getMetricsReq' })).toBe(false);
    expect(monitor.receive(1, { kind: 'dnscdn:liveness:pong' })).toBe(true);
    expect(isLivenessMessage({ kind: 'dnscdn:liveness:ping' })).toBe(true);
    expect(isLivenessMessage(null)).toBe(false);
  });

  it('interval 0 is off: start() sets no timer', () => {
    expect(new LivenessMonitor({ intervalMs: 0, misses: 3 }, () => undefined).enabled).toBe(false);
    expect(new LivenessMonitor({ intervalMs: 10, misses: 3 }, () => undefined).enabled).toBe(true);
  });
});

describe('LivenessMonitor with node:cluster workers', () => {
  const workers: Worker[] = [];
  afterAll(() => {
    for (const w of workers) {
      w.process.kill('SIGCONT');
      w.process.kill('SIGKILL');
    }
  });

  it('finds the worker frozen by SIGSTOP, and only it, over the real IPC channel', async () => {
    cluster.setupPrimary({ exec: new URL('./liveness-worker.mjs', import.meta.url).pathname, silent: true });
    for (let i = 0; i < 2; i++) {
      const w = cluster.fork();
      workers.push(w);
      await once(w, 'message');
    }
    const [live, frozen] = workers as [Worker, Worker];
    const declared: number[] = [];
    const monitor = new LivenessMonitor({ intervalMs: 200, misses: 3 }, (peer) => declared.push(peer.id));
    for (const w of workers) {
      w.on('message', (m: unknown) => monitor.receive(w.id, m));
      monitor.watch(w);
    }
    monitor.start();
    frozen.process.kill('SIGSTOP');
    await expect.poll(() => declared, { timeout: 5_000, interval: 20 }).toEqual([frozen.id]);
    // The live one keeps answering: many more rounds pass and it is never declared.
    let pongs = 0;
    live.on('message', (m: unknown) => void (isLivenessMessage(m) && pongs++));
    await expect.poll(() => pongs, { timeout: 5_000, interval: 20 }).toBeGreaterThanOrEqual(10);
    monitor.stop();
    expect(declared).toEqual([frozen.id]);
  });
});
