/**
 * Backpressure for clients of a shared fetch (shared-fetch.ts): a client that does not read must not make the
 * edge buffer the body for it. Unstored bodies: the origin is paused. Stored bodies: the slow client is paused
 * and later reads from the complete stored body, while the others get theirs at full speed.
 */
import net from 'node:net';
import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { metric, startFixture, type Fixture } from './harness.js';

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

/** An origin handler that writes `body` in 64 KiB chunks, honouring its own socket's backpressure; counts what it wrote. */
function streamer(body: Buffer, headers: Record<string, string>, gate: Promise<void> = Promise.resolve()): { handler: (req: http.IncomingMessage, res: http.ServerResponse) => void; written: () => number } {
  let written = 0;
  const handler = async (_req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    res.writeHead(200, headers);
    res.flushHeaders();
    await gate;
    let at = 0;
    const pump = (): void => {
      while (at < body.length) {
        const c = body.subarray(at, at + 65536);
        at += c.length;
        written = at;
        if (!res.write(c)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  };
  return { handler, written: () => written };
}

/** A raw client that sends a GET and reads nothing until `read()` is called. */
function pausedClient(port: number, path: string): { read(): Promise<Buffer> } {
  const socket = net.connect(port, '127.0.0.1');
  socket.pause();
  socket.write(`GET ${path} HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n`);
  return {
    read: () =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('end', () => {
          const all = Buffer.concat(chunks);
          resolve(all.subarray(all.indexOf('\r\n\r\n') + 4));
        });
        socket.on('error', reject);
        socket.resume();
      }),
  };
}

async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 10));
}

/** Resolves once `value()` has not changed for `quietMs` (or reached `done`). */
async function settled(value: () => number, done: number, quietMs = 300): Promise<number> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const v = value();
    if (v === done) return v;
    if (v !== last) {
      last = v;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return v;
  }
}

describe('slow clients of a shared fetch', () => {
  it('an unstored body is not buffered for a client that does not read: the origin is paused', async () => {
    f = await startFixture();
    const total = 64 * 1024 * 1024;
    const body = pattern(total);
    const origin = streamer(body, { 'cache-control': 'no-store', 'content-length': String(total) });
    f.origin.on('/big', (req, res) => void origin.handler(req, res));
    const client = pausedClient(f.edge.address.port, '/big');
    const stalled = await settled(origin.written, total);
    // Kernel socket buffers on two loopback hops hold some megabytes; the edge itself holds about a chunk.
    expect(stalled).toBeLessThan(total / 2);
    const got = await client.read();
    expect(got.length).toBe(total);
    expect(got.equals(body)).toBe(true);
  }, 30_000);

  it('a slow client does not hold back a stored fill: others finish, it reads the rest from the stored body', async () => {
    f = await startFixture({ maxBytes: 128 * 1024 * 1024, maxObjectBytes: 48 * 1024 * 1024 });
    const total = 40 * 1024 * 1024;
    const body = pattern(total);
    let release!: () => void;
    const origin = streamer(body, { 'cache-control': 'max-age=60', 'content-length': String(total) }, new Promise<void>((r) => (release = r)));
    f.origin.on('/shared', (req, res) => void origin.handler(req, res));
    const slow = pausedClient(f.edge.address.port, '/shared');
    await until(() => f!.origin.count('/shared') === 1);
    const fastReply = f.get('/shared', { host: 'example.test' });
    const edge = f.edge;
    await until(async () => (await metric(edge, 'dnscdn_edge_coalesced_waiters_total')) === 1);
    release();
    const fast = await fastReply;
    expect(fast.headers['cache-status']).toContain('collapsed');
    expect([fast.status, fast.headers['content-length']]).toEqual([200, String(total)]);
    // The fill completed and was stored while the slow client had read nothing.
    expect(origin.written()).toBe(total);
    const hit = await f.get('/shared', { host: 'example.test' });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(f.origin.count('/shared')).toBe(1);
    const got = await slow.read();
    expect(got.length).toBe(total);
    expect(got.equals(body)).toBe(true);
  }, 30_000);
});
