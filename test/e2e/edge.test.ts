/**
 * End-to-end: `dnscdn edge` (the built CLI) in front of a loopback origin, driven with curl -sI as the README
 * shows: MISS, then HIT with Age; after max-age the edge revalidates (origin sees If-None-Match, answers 304);
 * with the origin stopped, stale-if-error serves the stale copy.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startOrigin, type TestOrigin } from '../edge/harness.js';

const run = promisify(execFile);
let origin: TestOrigin;
let edge: ChildProcess;
let base = '';
let admin = '';

beforeAll(async () => {
  origin = await startOrigin();
  origin.on('/hello.txt', (req, res) => {
    const headers = { 'cache-control': 'max-age=1, stale-if-error=300', etag: '"h1"', 'content-type': 'text/plain' };
    if (req.headers['if-none-match'] === '"h1"') {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, headers);
    res.end('hello\n');
  });
  edge = spawn(process.execPath, ['bin/dnscdn.js', 'edge', '--listen', '127.0.0.1:0', '--origin', origin.url, '--max-bytes', '16MB', '--name', 'e2e', '--purge-allow', '127.0.0.1/32'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DNSCDN_ADMIN_TOKEN: 'e2e-token' },
  });
  const [line] = (await once(edge.stdout!, 'data')) as [Buffer];
  [, base = '', admin = ''] = /listening on (http:\/\/\S+), admin (http:\/\/\S+),/.exec(line.toString())!;
});

afterAll(async () => {
  edge.kill('SIGTERM');
  await origin.close().catch(() => undefined);
});

async function curlHead(path: string): Promise<Record<string, string>> {
  const { stdout } = await run('curl', ['-sI', base + path]);
  const headers: Record<string, string> = { status: stdout.split('\r\n')[0]! };
  for (const l of stdout.split('\r\n').slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return headers;
}

it('curl through the edge: MISS, HIT with Age, revalidation with 304, stale-if-error, purge from an allowed network', async () => {
  const first = await curlHead('/hello.txt');
  expect(first.status).toBe('HTTP/1.1 200 OK');
  expect(first['x-cache']).toBe('MISS');
  const second = await curlHead('/hello.txt');
  expect(second['x-cache']).toBe('HIT');
  expect(second.age).toMatch(/^\d+$/);
  expect(origin.count('/hello.txt')).toBe(1);

  await new Promise((r) => setTimeout(r, 1100));
  const { stdout: body } = await run('curl', ['-s', '-D', '-', base + '/hello.txt']);
  expect(body).toContain('x-cache: REVALIDATED');
  expect(body.endsWith('\r\n\r\nhello\n')).toBe(true);
  expect(origin.seen.at(-1)!.headers['if-none-match']).toBe('"h1"');

  await origin.close();
  await new Promise((r) => setTimeout(r, 1100));
  const stale = await curlHead('/hello.txt');
  expect(stale.status).toBe('HTTP/1.1 200 OK');
  expect(stale['x-cache']).toBe('STALE');

  const denied = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PURGE', base + '/hello.txt']);
  expect(denied.stdout).toBe('401');
  const purged = await run('curl', ['-s', '-X', 'PURGE', '-H', 'Authorization: Bearer e2e-token', base + '/hello.txt']);
  expect(JSON.parse(purged.stdout)).toEqual({ purged: 1 });
});

it('metrics and the admin APIs are on the admin listener; the public port does not serve them', async () => {
  const metrics = await run('curl', ['-s', admin + '/metrics']);
  expect(metrics.stdout).toContain('dnscdn_edge_requests_total');
  const publicAdmin = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Authorization: Bearer e2e-token', base + '/.dnscdn/objects']);
  expect(publicAdmin.stdout).toBe('404');
  const objects = await run('curl', ['-s', '-H', 'Authorization: Bearer e2e-token', admin + '/.dnscdn/objects']);
  expect(JSON.parse(objects.stdout)).toEqual([]);
  const purged = await run('curl', ['-s', '-X', 'PURGE', '-H', 'Authorization: Bearer e2e-token', admin + '/hello.txt']);
  expect(JSON.parse(purged.stdout)).toEqual({ purged: 0 });
});
