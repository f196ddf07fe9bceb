/**
 * The access log (src/edge/access-log.ts): one line per request with the cache outcome, combined or JSON lines,
 * and a reopen after logrotate renamed the file. A real origin and edge on loopback; the lines are read from disk.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessLine } from '../../src/edge/access-log.js';
import { edgeCommand } from '../../src/edge/command.js';
import type { EdgeRoleOptions } from '../../src/edge/setup.js';
import { parsedOptions, ROLE_FLAGS_DEPLOYMENT, writeDeployment } from '../config/role-flags.js';
import { eventually, startCli, stopCli } from '../push/processes.js';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';
import { fixed, request, startFixture, startOrigin, type Fixture } from './harness.js';
import { originPoolOf } from '../../src/config/origin-pool.js';

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const logDir = (): string => mkdtempSync(join(tmpdir(), 'dnscdn-access-'));
const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');

describe('edge access log', () => {
  it('writes one combined line per request, with the cache outcome, upstream, protocol and duration', async () => {
    const path = join(logDir(), 'access.log');
    fx = await startFixture({ accessLog: { to: { path }, format: 'combined' } });
    fx.origin.on('/a', fixed(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, 'hello\n'));
    await fx.get('/a', { 'user-agent': 'test "agent"\tx', referer: 'http://example.test/' });
    await fx.get('/a');
    await fx.get('/healthz');
    await fx.close();
    const origin = fx.origin.url;
    fx = undefined;
    const got = lines(path);
    expect(got).toHaveLength(3);
    const combined = /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET (\S+) HTTP\/1\.1" (\d{3}) (\d+) "([^"]*)" "([^"]*)" cache=(\S+) upstream=(\S+) duration=(\d+\.\d{6}) tls=(\S+)$/;
    const parsed = got.map((l) => {
      const m = combined.exec(l);
      expect(m, l).not.toBeNull();
      return m!;
    });
    expect(parsed.map((m) => [m[1], m[2], m[6], m[7], m[9]])).toEqual([
      ['/a', '200', 'MISS', origin, '-'],
      ['/a', '200', 'HIT', '-', '-'],
      ['/healthz', '200', 'SYNTH', '-', '-'],
    ]);
    // The quote and the tab a client sent cannot end the field or the line (nginx's \xHH escaping).
    expect(parsed[0]![5]).toBe('test \\x22agent\\x22\\x09x');
    expect(parsed[0]![4]).toBe('http://example.test/');
    // Bytes are what went on the wire for the response: at least the 6-byte body plus a status line.
    for (const m of parsed) expect(Number(m[3])).toBeGreaterThan(20);
  });

  it('writes JSON lines that parse, with the same fields', async () => {
    const path = join(logDir(), 'access.json');
    fx = await startFixture({ accessLog: { to: { path }, format: 'json' } });
    fx.origin.on('/j', fixed(200, { 'cache-control': 'max-age=60', etag: '"j1"' }, 'x'.repeat(1000)));
    await fx.get('/j');
    await fx.get('/j');
    await fx.get('/j', { 'cache-control': 'no-cache' });
    await fx.close();
    fx = undefined;
    const got = lines(path).map((l) => JSON.parse(l) as AccessLine);
    expect(got.map((l) => [l.method, l.url, l.status, l.cache, l.protocol, l.tls])).toEqual([
      ['GET', '/j', 200, 'MISS', 'h1', '-'],
      ['GET', '/j', 200, 'HIT', 'h1', '-'],
      ['GET', '/j', 200, 'REVALIDATED', 'h1', '-'],
    ]);
    for (const l of got) {
      expect(l.client).toBe('127.0.0.1');
      expect(l.bytes).toBeGreaterThan(1000);
      expect(l.duration).toBeGreaterThanOrEqual(0);
      expect(Number.isNaN(Date.parse(l.time))).toBe(false);
    }
  });

  it('names the server of an origin pool that each fetch asked (nginx $upstream_addr), and the one that failed', async () => {
    const path = join(logDir(), 'pool.json');
    const a = await startOrigin();
    const b = await startOrigin();
    const down = await startOrigin();
    const downUrl = down.url;
    await down.close();
    try {
      for (const o of [a, b]) for (const p of ['/p1', '/p2']) o.on(p, fixed(200, { 'cache-control': 'max-age=60' }, p));
      fx = await startFixture({ origin: originPoolOf([a.url, b.url]), accessLog: { to: { path }, format: 'json' } });
      await fx.get('/p1');
      await fx.get('/p2');
      await fx.get('/p1');
      await fx.close();
      fx = await startFixture({ origin: downUrl, accessLog: { to: { path }, format: 'json' } });
      expect((await fx.get('/gone')).status).toBe(502);
      await fx.close();
      fx = undefined;
    } finally {
      await a.close();
      await b.close();
    }
    const got = lines(path).map((l) => JSON.parse(l) as AccessLine);
    expect(got.map((l) => [l.url, l.cache, l.status])).toEqual([
      ['/p1', 'MISS', 200],
      ['/p2', 'MISS', 200],
      ['/p1', 'HIT', 200],
      ['/gone', 'SYNTH', 502],
    ]);
    // Round robin sent the two misses to different servers; each line names its own, not the pool.
    expect(new Set([got[0]!.upstream, got[1]!.upstream])).toEqual(new Set([a.url, b.url]));
    expect(got[2]!.upstream).toBe('-');
    expect(got[3]!.upstream).toBe(downUrl);
  });

  it('reopens its file after logrotate renamed it: older lines stay in the old file, newer go to a new one', async () => {
    const dir = logDir();
    const path = join(dir, 'access.log');
    fx = await startFixture({ accessLog: { to: { path }, format: 'combined' } });
    fx.origin.on('/r', fixed(200, { 'cache-control': 'max-age=60' }, 'r'));
    await fx.get('/r');
    await fx.get('/r');
    // The writer opens (creates) the file asynchronously at start: on a loaded machine it may not exist yet.
    await eventually(async () => existsSync(path), 5000, () => `${path} created`);
    // What logrotate does: rename, then signal. Lines still buffered belong to the file that was open.
    renameSync(path, join(dir, 'access.log.1'));
    await fx.edge.reopenAccessLog();
    await fx.get('/r?after');
    await fx.close();
    fx = undefined;
    expect(lines(join(dir, 'access.log.1')).map((l) => /"GET (\S+) /.exec(l)![1])).toEqual(['/r', '/r']);
    expect(lines(path).map((l) => /"GET (\S+) /.exec(l)![1])).toEqual(['/r?after']);
  });

  it('a client that goes away before its answer is logged as 499', async () => {
    const path = join(logDir(), 'gone.log');
    fx = await startFixture({ accessLog: { to: { path }, format: 'json' } });
    let answered = (): void => {};
    const gone = new Promise<void>((r) => (answered = r));
    let reached = (): void => {};
    const atOrigin = new Promise<void>((r) => (reached = r));
    fx.origin.on('/slow', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '2' });
      reached();
      void gone.then(() => res.end('ok'));
    });
    const { request } = await import('node:http');
    const req = request(`${fx.edge.url}/slow`);
    const closed = new Promise<void>((r) => req.on('close', () => r()));
    req.on('error', () => undefined);
    req.end();
    // The client gives up while the origin is still sending (nothing has reached it yet).
    await atOrigin;
    req.destroy();
    await closed;
    answered();
    await fx.close();
    fx = undefined;
    expect(lines(path).map((l) => (JSON.parse(l) as AccessLine).status)).toEqual([499]);
  });
});

describe('accessLog in the deployment file and --access-log', () => {
  const parse = (file: string, ...extra: string[]): Promise<EdgeRoleOptions> => parsedOptions(edgeCommand, ['--config', file, '--name', 'london', ...extra]);
  const withLog = (yaml: string): string => writeDeployment(ROLE_FLAGS_DEPLOYMENT.replace('edgeDefaults:\n', `edgeDefaults:\n  accessLog: ${yaml}\n`));

  it('edgeDefaults gives every edge its own file ({edge}), relative to the file; the flags override it', async () => {
    const file = withLog('{ path: "logs/{edge}.log", format: json }');
    const o = await parse(file);
    expect(o.server.accessLog).toEqual({ to: { path: join(file, '..', 'logs', 'london.log') }, format: 'json' });
    expect((await parse(file, '--access-log', 'stderr')).server.accessLog).toEqual({ to: { stderr: true }, format: 'json' });
    expect((await parse(file, '--access-log-format', 'combined')).server.accessLog).toEqual({ to: { path: join(file, '..', 'logs', 'london.log') }, format: 'combined' });
  });

  it('a bad key is refused naming the file, line and key', async () => {
    await expect(parse(withLog('{ path: a.log, stderr: true }'))).rejects.toThrow(/dnscdn\.yaml:\d+.*accessLog.*exactly one of "path"/);
    await expect(parse(withLog('{ path: a.log, format: clf }'))).rejects.toThrow(/dnscdn\.yaml:\d+.*accessLog\.format.*unknown access log format "clf"/);
    await expect(parse(writeDeployment(), '--access-log-format', 'json')).rejects.toThrow(/needs --access-log/);
  });
});

describe('dnscdn edge --access-log (a real process)', () => {
  it('SIGHUP after logrotate renamed the file: the edge keeps running and writes to a new file at the path', async () => {
    const origin = await startOrigin();
    origin.on('/x', fixed(200, { 'cache-control': 'max-age=60' }, 'x'));
    const dir = logDir();
    const path = join(dir, 'access.log');
    const [host] = privateLoopbacks(1);
    const port = await freePortOn(host!);
    const adminPort = await freePortOn(host!);
    // About the access log and SIGHUP, not workers: one process, one log writer.
    const edge = startCli(['edge', '--workers', '1', '--listen', `${host}:${port}`, '--admin-listen', `${host}:${adminPort}`, '--origin', origin.url, '--access-log', path]);
    try {
      const base = `http://${host}:${port}`;
      await eventually(async () => (await request(base, '/healthz')).status === 200, 10_000, edge.output);
      await request(base, '/x');
      await eventually(async () => existsSync(path) && lines(path).length === 2, 5000, () => `log: ${existsSync(path) ? readFileSync(path, 'utf8') : 'none'}`);
      renameSync(path, `${path}.1`);
      edge.child.kill('SIGHUP');
      await eventually(async () => existsSync(path), 5000, edge.output);
      await request(base, '/x');
      await eventually(async () => lines(path).length === 1, 5000, () => readFileSync(path, 'utf8'));
      expect(lines(`${path}.1`).map((l) => /"GET (\S+) .* cache=(\S+)/.exec(l)!.slice(1).join(' '))).toEqual(['/healthz SYNTH', '/x MISS']);
      expect(lines(path).map((l) => /"GET (\S+) .* cache=(\S+)/.exec(l)!.slice(1).join(' '))).toEqual(['/x HIT']);
    } finally {
      await stopCli(edge);
      await origin.close();
    }
  });
});
