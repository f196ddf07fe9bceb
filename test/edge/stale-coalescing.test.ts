import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metric, startFixture, type Fixture } from './harness.js';

let f: Fixture;
beforeEach(async () => {
  f = await startFixture();
});
afterEach(async () => {
  await f.close();
});

describe('stale content (RFC 5861)', () => {
  it('stale-while-revalidate: serves stale at once and revalidates once in the background', async () => {
    let version = 1;
    f.origin.on('/swr', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=1, stale-while-revalidate=30' });
      res.end(`v${version}`);
    });
    await f.get('/swr');
    version = 2;
    f.clock.advance(5);
    const [a, b] = await Promise.all([f.get('/swr'), f.get('/swr')]);
    expect([a.body, b.body]).toEqual(['v1', 'v1']);
    expect(a.headers['x-cache']).toBe('STALE');
    expect(a.headers['cache-status']).toContain('detail=stale-while-revalidate');
    await waitFor(() => f.origin.count('/swr') === 2);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.origin.count('/swr')).toBe(2);
    const fresh = await f.get('/swr');
    expect(fresh.body).toBe('v2');
    expect(fresh.headers['x-cache']).toBe('HIT');
    expect(await metric(f.edge, 'dnscdn_edge_stale_total')).toBe(2);
  });

  it('stale-if-error: serves the stale copy when the origin answers 5xx or is down, within the window', async () => {
    let broken = false;
    f.origin.on('/sie', (_req, res) => {
      if (broken) {
        res.writeHead(503);
        res.end('down');
        return;
      }
      res.writeHead(200, { 'cache-control': 'max-age=1, stale-if-error=60', etag: '"e"' });
      res.end('good');
    });
    await f.get('/sie');
    broken = true;
    f.clock.advance(10);
    const r = await f.get('/sie');
    expect(r.status).toBe(200);
    expect(r.body).toBe('good');
    expect(r.headers['x-cache']).toBe('STALE');
    expect(r.headers['cache-status']).toContain('fwd-status=503');
    await f.origin.close();
    const down = await f.get('/sie');
    expect(down.body).toBe('good');
    expect(down.headers['x-cache']).toBe('STALE');
    f.clock.advance(100);
    const late = await f.get('/sie');
    expect(late.status).toBe(502);
    expect(late.body).toMatch(/origin unreachable/);
  });

  it('no stale copy and no origin: 502 with a short clear body', async () => {
    await f.origin.close();
    const r = await f.get('/nothing');
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/^origin unreachable/);
  });

  it('only-if-cached gets 504 when nothing usable is stored', async () => {
    const r = await f.get('/cold', { 'cache-control': 'only-if-cached' });
    expect(r.status).toBe(504);
    expect(f.origin.count('/cold')).toBe(0);
  });
});

describe('coalescing', () => {
  it('100 concurrent requests for a cold URL reach the origin once', async () => {
    f.origin.on('/cold', (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
        res.end('shared body');
      }, 50);
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
    const replies = await Promise.all(Array.from({ length: 100 }, () => getWith(agent, f.edge.url + '/cold')));
    agent.destroy();
    expect(replies.every((r) => r.status === 200 && r.body === 'shared body')).toBe(true);
    expect(f.origin.count('/cold')).toBe(1);
    expect(replies.filter((r) => String(r.cacheStatus).includes('collapsed')).length).toBeGreaterThan(0);
    expect(await metric(f.edge, 'dnscdn_edge_coalesced_waiters_total')).toBeGreaterThan(0);
  });

  it('waiters for a response that is not storable do not share it: each goes to the origin (pass)', async () => {
    let n = 0;
    f.origin.on('/private', (_req, res) => {
      const mine = ++n;
      setTimeout(() => {
        res.writeHead(200, { 'cache-control': 'private' });
        res.end(`user ${mine}`);
      }, 30);
    });
    const replies = await Promise.all([f.get('/private'), f.get('/private'), f.get('/private')]);
    expect(new Set(replies.map((r) => r.body)).size).toBe(3);
    expect(f.origin.count('/private')).toBe(3);
    expect(replies.filter((r) => r.headers['x-cache'] === 'PASS').length).toBe(2);
  });

  it('streams to the client before the origin finishes, and a late joiner gets the whole body', async () => {
    let finish: () => void = () => {};
    f.origin.on('/slow', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.write('first-');
      finish = () => res.end('last');
    });
    const firstByte = await new Promise<string>((resolve) => {
      http.get(f.edge.url + '/slow', (res) => res.once('data', (c: Buffer) => resolve(c.toString())));
    });
    expect(firstByte).toBe('first-');
    const late = f.get('/slow');
    // It has joined the fetch (not merely been sent) before the origin finishes: it must not become a HIT.
    await waitForAsync(async () => (await metric(f.edge, 'dnscdn_edge_coalesced_waiters_total')) === 1);
    finish();
    const r = await late;
    expect(r.body).toBe('first-last');
    expect(r.headers['cache-status']).toContain('collapsed');
    expect(f.origin.count('/slow')).toBe(1);
    expect((await f.get('/slow')).headers['x-cache']).toBe('HIT');
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  await waitForAsync(async () => cond());
}

async function waitForAsync(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 5));
  expect(await cond()).toBe(true);
}

function getWith(agent: http.Agent, url: string): Promise<{ status: number; body: string; cacheStatus: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cacheStatus: res.headers['cache-status'] as string | undefined }));
      })
      .on('error', reject);
  });
}
