/**
 * The Upstream contract (upstream/upstream.ts) for its single-origin implementation, against real servers on
 * loopback: every attempt resolves (never rejects) and reports its target, status or kind of failure, and latency.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { observedUpstream } from '../../src/edge/upstream/observed.js';
import { SingleOrigin } from '../../src/edge/upstream/single-origin.js';
import type { UpstreamOutcome, UpstreamResult } from '../../src/edge/upstream/upstream.js';
import { fixed, metric, startFixture, startOrigin, type Fixture, type TestOrigin } from './harness.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function origin(url: string, timeoutMs = 2000): SingleOrigin {
  const o = new SingleOrigin({ origin: url, timeoutMs });
  closers.push(() => o.close());
  return o;
}

async function testOrigin(): Promise<TestOrigin> {
  const o = await startOrigin();
  closers.push(() => o.close());
  return o;
}

/** A TCP server that accepts and runs `onConnection`; returns its http:// URL. */
async function rawServer(onConnection: (s: net.Socket) => void): Promise<string> {
  const server = net.createServer(onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => sockets.add(s));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A loopback port with nothing listening on it (bound, read back, released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function failure(r: UpstreamResult): { kind: string; status: number; message: string } {
  if (r.kind === 'response') throw new Error(`expected a failure, got ${r.status}`);
  return { kind: r.kind, status: r.error.status, message: r.error.message };
}

describe('single-origin upstream: outcomes are values', () => {
  it('a response reports its status, the target asked and the latency to the head', async () => {
    const o = await testOrigin();
    o.on('/a', fixed(404, {}, 'nope'));
    const r = await origin(o.url).request({ method: 'GET', path: '/a', headers: { host: 'example.test' } });
    if (r.kind !== 'response') throw new Error(`expected a response, got ${r.kind}`);
    r.response.resume();
    expect([r.status, r.target]).toEqual([404, o.url]);
    expect(r.latencySec).toBeGreaterThan(0);
    expect(r.latencySec).toBeLessThan(2);
    expect(o.seen[0]?.headers.host).toBe('example.test');
  });

  it('nothing listening: connect-error, 502', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await origin(url).request({ method: 'GET', path: '/', headers: { host: 'x' } });
    expect(failure(r)).toMatchObject({ kind: 'connect-error', status: 502 });
    expect(r.target).toBe(url);
  });

  it('no head within the timeout: timeout, 504', async () => {
    const url = await rawServer(() => undefined); // accepts, never answers
    const r = await origin(url, 150).request({ method: 'GET', path: '/', headers: { host: 'x' } });
    expect(failure(r)).toMatchObject({ kind: 'timeout', status: 504 });
    expect(r.latencySec).toBeGreaterThanOrEqual(0.14);
  });

  it('an answer that is not HTTP: broken, 502', async () => {
    const url = await rawServer((s) => s.once('data', () => s.end('this is not HTTP\r\n\r\n')));
    const r = await origin(url).request({ method: 'GET', path: '/', headers: { host: 'x' } });
    expect(failure(r)).toMatchObject({ kind: 'broken', status: 502 });
  });

  it("the client's upload failing is 'aborted' (our side), not a fault of the target", async () => {
    const url = await rawServer(() => undefined);
    const body = new PassThrough();
    const pending = origin(url).request({ method: 'POST', path: '/up', headers: { host: 'x' }, body: { stream: body, length: 100 } });
    body.write('partial');
    setImmediate(() => body.destroy(new Error('client went away')));
    expect(failure(await pending)).toMatchObject({ kind: 'aborted', status: 502, message: 'request body failed: client went away' });
  });

  it('an observed upstream hands every outcome to its observer, without the response stream', async () => {
    const o = await testOrigin();
    o.on('/ok', fixed(200, { connection: 'close' }, 'ok')); // not pooled: the next attempt connects anew
    const seen: UpstreamOutcome[] = [];
    const up = observedUpstream(origin(o.url), (x) => seen.push(x));
    const ok = await up.request({ method: 'GET', path: '/ok', headers: { host: 'x' } });
    if (ok.kind === 'response') ok.response.resume();
    await o.close();
    await up.request({ method: 'GET', path: '/ok', headers: { host: 'x' } });
    expect(seen.map((s) => [s.kind, s.status, s.target])).toEqual([
      ['response', 200, o.url],
      ['connect-error', 502, o.url],
    ]);
    expect(Object.keys(seen[0]!)).not.toContain('response');
  });
});

describe('the edge reports upstream outcomes', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it('each origin response is one latency observation; hits add none', async () => {
    f = await startFixture();
    f.origin.on('/l', fixed(200, { 'cache-control': 'max-age=60' }, 'l'));
    await f.get('/l');
    await f.get('/l');
    await new Promise<void>((resolve, reject) => {
      http.request(`${f!.edge.url}/p`, { method: 'POST' }, (res) => res.resume().on('end', resolve)).on('error', reject).end('x');
    });
    const latency = await f.edge.registry.getSingleMetric('dnscdn_edge_origin_latency_seconds')?.get();
    // A histogram's samples carry their series name (prom-client's MetricValueWithName).
    const samples = (latency?.values ?? []) as Array<{ metricName?: string; value: number }>;
    expect(samples.find((v) => v.metricName === 'dnscdn_edge_origin_latency_seconds_count')?.value).toBe(2);
    expect(await metric(f.edge, 'dnscdn_edge_hits_total')).toBe(1);
  });
});
