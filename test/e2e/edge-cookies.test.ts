/**
 * `dnscdn edge --ignore-cookies` as an operator runs it, driven with curl: a response to a request with a session
 * cookie and only heuristic freshness is not shared; one whose only cookies are ignored analytics cookies is.
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
const LAST_MODIFIED = new Date(Date.now() - 30 * 86_400_000).toUTCString();

beforeAll(async () => {
  origin = await startOrigin();
  for (const path of ['/account.css', '/theme.css']) {
    origin.on(path, (req, res) => {
      const user = /session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? 'anonymous';
      res.writeHead(200, { 'content-type': 'text/css', 'last-modified': LAST_MODIFIED });
      res.end(`/* ${user} */\n`);
    });
  }
  edge = spawn(process.execPath, ['bin/dnscdn.js', 'edge', '--listen', '127.0.0.1:0', '--origin', origin.url, '--ignore-cookies', '_ga*,_gid'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(edge.stdout!, 'data')) as [Buffer];
  base = /listening on (http:\/\/\S+),/.exec(line.toString())![1]!;
});

afterAll(async () => {
  edge.kill('SIGTERM');
  await origin.close();
});

async function curl(path: string, cookie?: string): Promise<{ cache: string; body: string }> {
  const { stdout } = await run('curl', ['-s', '-i', ...(cookie ? ['-b', cookie] : []), base + path]);
  return { cache: /x-cache: (\S+)/i.exec(stdout)?.[1] ?? '', body: stdout.split('\r\n\r\n')[1] ?? '' };
}

it('a session cookie keeps a heuristically fresh response private; ignored analytics cookies do not', async () => {
  expect((await curl('/account.css', 'session=alice; _ga=GA1.2')).body).toBe('/* alice */\n');
  const other = await curl('/account.css');
  expect(other).toEqual({ cache: 'MISS', body: '/* anonymous */\n' });
  expect(origin.count('/account.css')).toBe(2);

  await curl('/theme.css', '_ga=GA1.2; _gid=GA1.3');
  expect((await curl('/theme.css')).cache).toBe('HIT');
  expect(origin.count('/theme.css')).toBe(1);
});

it('a bad --ignore-cookies pattern stops the edge with a message naming it', async () => {
  const failed = await run(process.execPath, ['bin/dnscdn.js', 'edge', '--listen', '127.0.0.1:0', '--origin', origin.url, '--ignore-cookies', 'a b']).catch((e: { code: number; stderr: string }) => e);
  expect('code' in failed && failed.code).toBe(1);
  expect('stderr' in failed && failed.stderr).toMatch(/cookie pattern "a b"/);
});
