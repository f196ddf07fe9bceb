/**
 * The lifecycle's contract (pipeline.ts): which steps each kind of request visits, observed through `onSteps`
 * (the varnishlog idea) while a real origin on loopback counts what reached it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { StepName } from '../../src/edge/pipeline.js';
import { fixed, metric, request, sendRaw, startFixture, type Fixture } from './harness.js';

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

/** A fixture whose edge records each request's steps as one string, e.g. 'recv hash lookup hit deliver'. */
async function traced(options: Parameters<typeof startFixture>[0] = {}): Promise<{ fx: Fixture; steps: string[] }> {
  const steps: string[] = [];
  const fx = await startFixture({ ...options, onSteps: (s: readonly StepName[]) => steps.push(s.join(' ')) });
  f = fx;
  return { fx, steps };
}

describe('edge lifecycle steps', () => {
  it('miss then hit: a miss fetches; a fresh hit is lookup -> hit -> deliver and reaches no origin', async () => {
    const { fx, steps } = await traced();
    fx.origin.on('/a', fixed(200, { 'cache-control': 'max-age=60', etag: '"a"' }, 'body-a'));
    expect((await fx.get('/a')).headers['x-cache']).toBe('MISS');
    const plain = await fx.get('/a');
    const conditional = await fx.get('/a', { 'if-none-match': '"a"' });
    expect([plain.headers['x-cache'], plain.headers['cache-status']]).toEqual(['HIT', 'dnscdn; hit']);
    expect(conditional.status).toBe(304);
    expect(steps).toEqual(['recv hash lookup miss fetch deliver', 'recv hash lookup hit deliver', 'recv hash lookup hit deliver']);
    expect(fx.origin.count('/a')).toBe(1);
  });

  it('pass: an unsafe method goes recv -> pass -> fetch -> deliver, never through the store', async () => {
    const { fx, steps } = await traced();
    fx.origin.on('/form', fixed(200, { 'cache-control': 'max-age=60' }, 'posted'));
    const r = await request(fx.edge.url, '/form', { method: 'POST', body: 'x=1' });
    expect([r.status, r.headers['x-cache']]).toEqual([200, 'PASS']);
    expect(steps).toEqual(['recv pass fetch deliver']);
    expect(fx.edge.cache.store.objects).toBe(0);
  });

  it('revalidate: a stale entry goes lookup -> revalidate -> fetch -> deliver', async () => {
    const { fx, steps } = await traced();
    fx.origin.on('/r', fixed(200, { 'cache-control': 'max-age=5', etag: '"r"' }, 'body-r'));
    await fx.get('/r');
    fx.clock.advance(10);
    expect((await fx.get('/r')).headers['x-cache']).toBe('REVALIDATED');
    expect(steps[1]).toBe('recv hash lookup revalidate fetch deliver');
  });

  it('a 304 that selects nothing starts over once from hash, without the dropped copy', async () => {
    const { fx, steps } = await traced();
    let etag = '"old"';
    fx.origin.on('/x', (req, res) => {
      if (req.headers['if-none-match'] !== undefined) {
        res.writeHead(304, { etag: '"other"', 'cache-control': 'max-age=5' });
        res.end();
        return;
      }
      res.writeHead(200, { 'cache-control': 'max-age=5', etag });
      res.end(`v ${etag}`);
    });
    await fx.get('/x');
    etag = '"new"';
    fx.clock.advance(10);
    expect((await fx.get('/x')).body).toBe('v "new"');
    expect(steps[1]).toBe('recv hash lookup revalidate fetch hash lookup miss fetch deliver');
  });

  it('synth: recv answers bad requests and /healthz; lookup answers only-if-cached; fetch answers a dead origin', async () => {
    const { fx, steps } = await traced();
    expect((await fx.get('/' + 'u'.repeat(9000))).status).toBe(414);
    expect(await sendRaw(fx.edge.address.port, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')).toMatch(/^HTTP\/1.1 400/);
    expect((await fx.get('/healthz')).status).toBe(200);
    expect((await fx.get('/cold', { 'cache-control': 'only-if-cached' })).status).toBe(504);
    await fx.origin.close();
    expect((await fx.get('/down')).status).toBe(502);
    expect(steps).toEqual(['recv synth', 'recv synth', 'recv synth', 'recv hash lookup synth', 'recv hash lookup miss fetch synth']);
  });

  it('admin paths leave the machine at recv: the public port refuses them without reaching the origin', async () => {
    const { fx, steps } = await traced();
    // No purgeAllow list: PURGE on the public port points at the admin listener (405); /.dnscdn/ is 404 here.
    expect((await request(fx.edge.url, '/x', { method: 'PURGE' })).status).toBe(405);
    expect((await fx.get('/.dnscdn/objects')).status).toBe(404);
    expect(steps).toEqual(['recv deliver', 'recv deliver']);
    expect(fx.origin.count('/.dnscdn/objects')).toBe(0);
  });

  it('every answer of the cache is counted by outcome, plain hits included', async () => {
    const { fx } = await traced();
    fx.origin.on('/c', fixed(200, { 'cache-control': 'max-age=60' }, 'c'));
    await fx.get('/c');
    await fx.get('/c');
    await fx.get('/c');
    await fx.get('/healthz');
    expect(await metric(fx.edge, 'dnscdn_edge_responses_total', { cache: 'MISS' })).toBe(1);
    expect(await metric(fx.edge, 'dnscdn_edge_responses_total', { cache: 'HIT' })).toBe(2);
    expect(await metric(fx.edge, 'dnscdn_edge_hits_total')).toBe(2);
    // A health check is not a cache outcome.
    expect(await metric(fx.edge, 'dnscdn_edge_responses_total', { cache: 'SYNTH' })).toBe(0);
  });
});
