/**
 * A flag next to `--config` overrides the deployment file, as a user runs it: the built CLI, real listeners.
 * Every address in the file is TEST-NET-1 (192.0.2.0/24, RFC 5737), which no host here has: a role that
 * ignored `--listen` and bound the file's address would fail to start, and one that ignored `--origin` or
 * `--content` would serve nothing.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startCli, stopCli, type Proc } from '../push/processes.js';
import { fixed, startOrigin, type TestOrigin } from '../edge/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'dnscdn-role-flags-'));
const file = join(dir, 'dnscdn.yaml');
writeFileSync(
  file,
  `dns:
  listen: [127.0.0.1:15353]
  zones: zones/
edges:
  london: { addresses: [192.0.2.11], port: 8080, admin: 192.0.2.11:9080, location: { lat: 51.5, lon: -0.1 }, cache: { maxBytes: 64MB, maxObjectBytes: 8MB } }
origin:
  listen: 192.0.2.1:8000
  admin: 192.0.2.1:9000
  content: nowhere/
  rules:
    - { match: "*.txt", cacheControl: "public, max-age=60" }
distribution:
  listen: 192.0.2.1:8100
  admin: 192.0.2.1:9100
  journal: state/journal
admin:
  tokens: [file-token-123]
`,
);

const running: Proc[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => stopCli(p)));
});

/** Starts the role and returns the URLs it printed as its public and admin listeners. */
async function startRole(args: string[]): Promise<{ url: string; admin: string }> {
  const p = startCli(args);
  running.push(p);
  let m: RegExpExecArray | null = null;
  const exited = (): boolean => p.child.exitCode !== null;
  const why = (): string => `no listener line from dnscdn ${args.join(' ')}: ${p.output()}`;
  await eventually(async () => (m = /listening on (http:\/\/[^\s,]+), admin (http:\/\/[^\s,]+)/.exec(p.output())) !== null || exited(), 15_000, why);
  if (m === null) throw new Error(why());
  const [, url, admin] = m as RegExpExecArray;
  return { url: url!, admin: admin! };
}

/** Every role here gets `--admin-listen` too: the file's admin addresses are TEST-NET-1 as well. */
const ADMIN = ['--admin-listen', '127.0.0.1:0'];
const start = async (args: string[]): Promise<string> => (await startRole([...args, ...ADMIN])).url;

describe('a flag next to --config overrides the file', () => {
  let origin: TestOrigin;
  beforeAll(async () => {
    origin = await startOrigin();
    origin.on('/small', fixed(200, { 'cache-control': 'public, max-age=60' }, 'x'.repeat(100)));
    origin.on('/big', fixed(200, { 'cache-control': 'public, max-age=60' }, 'x'.repeat(5000)));
  });
  afterAll(() => origin.close());

  it('dnscdn edge: --listen, --origin and --max-object-bytes', async () => {
    const url = await start(['edge', '--config', file, '--name', 'london', '--listen', '127.0.0.1:0', '--origin', origin.url, '--max-object-bytes', '1KB']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const cacheOf = async (path: string): Promise<string | null> => (await fetch(`${url}${path}`)).headers.get('x-cache');
    expect([await cacheOf('/small'), await cacheOf('/small')]).toEqual(['MISS', 'HIT']);
    // 5000 bytes is over the flag's 1 KB (the file says 8 MB): passed through, never stored.
    expect([await cacheOf('/big'), await cacheOf('/big')]).toEqual(['MISS', 'MISS']);
    expect(origin.count('/big')).toBe(2);
  });

  it('dnscdn origin: --listen, --content and --cache-control', async () => {
    const content = join(dir, 'content');
    mkdirSync(content, { recursive: true });
    writeFileSync(join(content, 'hello.txt'), 'hello\n');
    const url = await start(['origin', '--config', file, '--listen', '127.0.0.1:0', '--content', content, '--state-dir', join(dir, 'origin'), '--cache-control', '*.txt=public, max-age=7']);
    const res = await fetch(`${url}/hello.txt`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello\n');
    expect(res.headers.get('cache-control')).toBe('public, max-age=7');
  });

  it('dnscdn distributor: --listen, --admin-listen, --data-dir and --token', async () => {
    const { admin } = await startRole(['distributor', '--config', file, '--listen', '127.0.0.1:0', '--state-dir', join(dir, 'distributor'), '--token', 'flag-token-456', ...ADMIN]);
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const status = (token: string): Promise<number> => fetch(`${admin}/.dnscdn/status`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    expect(await status('flag-token-456')).toBe(200);
    expect(await status('file-token-123')).toBe(401);
  });
});
