/**
 * Every policy behind a real edge (loopback origin and client): Vary variants, purge by URL, prefix and tag,
 * and pushed objects behave as with lru; /metrics names the policy; the default is DEFAULT_CACHE_POLICY.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CACHE_POLICIES, DEFAULT_CACHE_POLICY } from '../../../src/config/cache-policies.js';
import { fixed, request, startFixture, TOKEN, type Fixture } from '../harness.js';

const run = promisify(execFile);
let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

describe.each(CACHE_POLICIES)('edge with cache policy %s', (policy) => {
  it('stores Vary variants, and PURGE / purge by prefix and tag remove what they name', async () => {
    f = await startFixture({ cachePolicy: policy, name: `edge-${policy}` });
    f.origin.on('/p', (req, res) => fixed(200, { 'cache-control': 'max-age=60', vary: 'accept-language' }, `lang ${req.headers['accept-language']}`)(req, res));
    f.origin.on('/img/a', fixed(200, { 'cache-control': 'max-age=60', 'surrogate-key': 'product-1' }, 'a'));
    f.origin.on('/img/b', fixed(200, { 'cache-control': 'max-age=60' }, 'b'));
    f.origin.on('/doc', fixed(200, { 'cache-control': 'max-age=60', 'cache-tag': 'product-1' }, 'd'));
    for (const lang of ['en', 'fr']) expect((await f.get('/p', { 'accept-language': lang })).headers['x-cache']).toBe('MISS');
    const fr = await f.get('/p', { 'accept-language': 'fr' });
    expect([fr.headers['x-cache'], fr.body]).toEqual(['HIT', 'lang fr']);
    expect(f.edge.cache.store.objects).toBe(2);
    expect(f.origin.count('/p')).toBe(2);
    for (const p of ['/img/a', '/img/b', '/doc']) await f.get(p);
    expect(f.edge.cache.store.objects).toBe(5);

    const purged = await request(f.edge.adminUrl, '/p', { method: 'PURGE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(JSON.parse(purged.body)).toEqual({ purged: 2 });
    const admin = (body: object) => request(f!.edge.adminUrl, '/.dnscdn/purge', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
    expect(JSON.parse((await admin({ tag: 'product-1' })).body)).toEqual({ purged: 2 });
    expect(f.edge.cache.list().map((e) => e.path)).toEqual(['/img/b']);
    expect(JSON.parse((await admin({ prefix: '/img/' })).body)).toEqual({ purged: 1 });
    expect(f.edge.cache.store.objects).toBe(0);
    expect(f.edge.cache.store.bytes).toBe(0);
    expect((await f.get('/p', { 'accept-language': 'en' })).headers['x-cache']).toBe('MISS');
  });

  it('serves a pushed object as a HIT and names the policy in /metrics', async () => {
    f = await startFixture({ cachePolicy: policy, name: `edge-${policy}` });
    const headers = { 'cache-control': 'max-age=60' };
    expect(f.edge.cache.putPushed({ path: '/pushed', status: 200, headers, body: Buffer.from('v2'), etag: '"2"', seq: 2 })).toBe('stored');
    expect(f.edge.cache.putPushed({ path: '/pushed', status: 200, headers, body: Buffer.from('v1'), etag: '"1"', seq: 1 })).toBe('older-seq');
    const hit = await f.get('/pushed');
    expect([hit.headers['x-cache'], hit.body]).toEqual(['HIT', 'v2']);
    expect(f.origin.count('/pushed')).toBe(0);
    const { stdout } = await run('curl', ['-s', `${f.edge.adminUrl}/metrics`]);
    expect(stdout).toContain(`dnscdn_edge_cache_policy_info{policy="${policy}",role="edge",edge="edge-${policy}"} 1`);
    expect(stdout).toContain(`dnscdn_edge_admission_rejections_total{role="edge",edge="edge-${policy}"} 0`);
  });
});

describe('default policy', () => {
  it(`an edge started without a policy runs ${DEFAULT_CACHE_POLICY}`, async () => {
    f = await startFixture({ name: 'edge-default' });
    expect(f.edge.cache.store.policyName).toBe(DEFAULT_CACHE_POLICY);
    const { stdout } = await run('curl', ['-s', `${f.edge.adminUrl}/metrics`]);
    expect(stdout).toContain(`dnscdn_edge_cache_policy_info{policy="${DEFAULT_CACHE_POLICY}",role="edge",edge="edge-default"} 1`);
  });
});

describe('Cache-Status of a refused fill', () => {
  it('does not claim `stored` for an object the policy refuses, and the next request is a miss again', async () => {
    // 100 KB with w-tinylfu: a 1 KB window, so a 20 KB object leaves it at once and meets admission. Main is
    // filled with small objects asked for several times; the new, unpopular 20 KB object is refused.
    f = await startFixture({ cachePolicy: 'w-tinylfu', name: 'edge-refuse', maxBytes: 100_000, maxObjectBytes: 50_000 });
    for (let i = 0; i < 80; i++) f.origin.on(`/s${i}`, fixed(200, { 'cache-control': 'max-age=600' }, 'x'.repeat(800)));
    f.origin.on('/big', fixed(200, { 'cache-control': 'max-age=600' }, 'b'.repeat(20_000)));
    for (let round = 0; round < 4; round++) for (let i = 0; i < 80; i++) await f.get(`/s${i}`);
    const first = await f.get('/big');
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.headers['cache-status']).not.toContain('stored');
    expect(first.body).toHaveLength(20_000);
    expect((await f.get('/big')).headers['x-cache']).toBe('MISS');
    // A small object that fits the window is stored, and says so.
    f.origin.on('/small-new', fixed(200, { 'cache-control': 'max-age=600' }, 'n'));
    expect((await f.get('/small-new')).headers['cache-status']).toContain('stored');
  });
});
