/**
 * `dnscdn push|purge|status` read the deployment file (issue 12, item 2): started in a folder holding a
 * `dnscdn.yaml`, they find the origin's admin listener and the token there, with no flag and no environment
 * variable; a flag beats the environment, which beats the file; every failure names the URL it tried.
 * A real origin process (the built CLI) on a private loopback address; the commands are real child processes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminTarget } from '../../src/cli/admin-client.js';
import { freePortOn, privateLoopback } from '../net/loopback.js';

const BIN = resolve('bin/dnscdn.js');
const TOKEN = 'file-token-for-push';
const host = privateLoopback();
let dir = '';
let adminUrl = '';
let origin: ChildProcess;

/** The environment of a shell with no dnscdn variable set. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const k of ['DNSCDN_ADMIN_TOKEN', 'DNSCDN_TOKEN', 'DNSCDN_ADMIN_URL']) if (!(k in extra)) delete env[k];
  return env;
}

function dnscdn(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env, timeout: 20_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dnscdn-admin-'));
  mkdirSync(join(dir, 'content'));
  writeFileSync(join(dir, 'content', 'index.html'), '<p>hello</p>\n');
  const [port, admin] = [await freePortOn(host), await freePortOn(host)];
  adminUrl = `http://${host}:${admin}`;
  writeFileSync(
    join(dir, 'dnscdn.yaml'),
    [`dns: { listen: "${host}:5353" }`, 'origin:', `  listen: ${host}:${port}`, `  admin: ${host}:${admin}`, '  content: content/', 'admin:', `  tokens: [${TOKEN}]`, ''].join('\n'),
  );
  origin = spawn(process.execPath, [BIN, 'origin', '--config', 'dnscdn.yaml'], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  while (!out.includes('origin listening')) out += String(((await once(origin.stdout!, 'data')) as [Buffer])[0]);
}, 30_000);

afterAll(async () => {
  if (origin.exitCode === null) {
    origin.kill('SIGTERM');
    await once(origin, 'exit');
  }
});

describe('admin commands read ./dnscdn.yaml', () => {
  it('push and status work with no token flag and no environment variable', async () => {
    const push = await dnscdn(['push', '/index.html']);
    expect(push).toMatchObject({ code: 0, stderr: '' });
    expect(push.stdout).toMatch(/^seq \d+\tput\t\/index\.html\n$/);
    const status = await dnscdn(['status']);
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(status.stdout).toMatch(/^journal: last seq \d+/);
  });

  it('a wrong token is a 401 that names the URL tried', async () => {
    const r = await dnscdn(['push', '--token', 'wrong-token', '/index.html']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`dnscdn: POST ${adminUrl}/.dnscdn/push: HTTP 401: invalid token\n`);
  });

  it('the old --origin spelling still works, with a warning', async () => {
    const r = await dnscdn(['status', '--origin', adminUrl]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('dnscdn: warning: --origin is deprecated; use --admin-url\n');
  });

  it('an unreachable admin listener is an error naming the URL, never a bare "fetch failed"', async () => {
    const nowhere = `http://${privateLoopback()}:9`;
    const r = await dnscdn(['status', '--admin-url', nowhere]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^dnscdn: GET ${nowhere.replace(/\./g, '\\.')}/\\.dnscdn/status: .*ECONNREFUSED`));
  });
});

describe('journal verify reads ./dnscdn.yaml too', () => {
  it("finds the deployment's journal with neither --journal nor --config", async () => {
    await dnscdn(['push', '/index.html']); // the journal exists once something was journaled
    const r = await dnscdn(['journal', 'verify']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^var\/journal\/journal: ok\n|^\S+\/var\/journal\/journal: ok\n/);
  });
});

describe('where the URL and the token come from: flag > environment > file > default', () => {
  it('takes each from the first source that has it', () => {
    const env = { DNSCDN_ADMIN_URL: 'http://env.example:1', DNSCDN_ADMIN_TOKEN: 'env-token' };
    expect(adminTarget({}, {}, dir)).toEqual({ url: adminUrl, token: TOKEN });
    expect(adminTarget({}, env, dir)).toEqual({ url: 'http://env.example:1', token: 'env-token' });
    expect(adminTarget({ adminUrl: 'http://flag.example:2', token: 'flag-token' }, env, dir)).toEqual({ url: 'http://flag.example:2', token: 'flag-token' });
    const empty = mkdtempSync(join(tmpdir(), 'dnscdn-nofile-'));
    expect(adminTarget({}, {}, empty)).toEqual({ url: 'http://127.0.0.1:9000', token: undefined }); // no file there
    expect(adminTarget({ config: join(dir, 'dnscdn.yaml') }, {}, empty)).toEqual({ url: adminUrl, token: TOKEN });
  });
});
