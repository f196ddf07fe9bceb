/**
 * The README runs as written (issue 12, item 8), as CoreDNS tests the examples in its READMEs: every
 * ```console block (the rule is in blocks.ts and at the top of README.md) is run in README order against one
 * deployment started as `npm start` starts it (`dnscdn up` on the shipped dnscdn.yaml, zones/ and content/),
 * and each command's output must match what the README shows, in substance.
 *
 * So that the test never clashes with other test files, other checkouts or a developer's own `npm start` on
 * this machine, it runs a copy of the deployment in a temporary folder with every demo address moved to a
 * private loopback address of its own (test/net/loopback.ts): the same rewrite is applied to each command,
 * and undone on its output. `npx dnscdn` is run as `node bin/dnscdn.js` (one `npx dnscdn --help` checks the
 * npx form itself, which costs about half a second per call).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';
import { consoleBlocks, missingLines, type Example } from './blocks.js';

const REPO = resolve('.');
const BIN = join(REPO, 'bin/dnscdn.js');
/** The demo's addresses, and 127.0.0.21, which the README gives a stand-alone edge beside the demo. */
const DEMO_HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15', '127.0.0.21'];
/** Commands that only read state may be repeated until their output matches: health and push settle in ~3 s. */
const SETTLE_MS = 8_000;

let dir = '';
let up: ChildProcess;
let upOutput = '';
/** The demo's IPv6 listener, moved to a free port on ::1 (which has no private addresses). */
const DEMO_IPV6 = '[::1]:5353';
let ipv6 = DEMO_IPV6;
const hostOf = new Map<string, string>();
const env: Record<string, string> = {};
const backgroundGroups: number[] = [];

/** One address as a whole token (127.0.0.1 is not the start of 127.0.0.11). */
const addressPattern = (a: string): RegExp => new RegExp(`(?<![\\d.])${a.replace(/\./g, '\\.')}(?!\\d)`, 'g');

function toTest(text: string): string {
  let out = text.split(DEMO_IPV6).join(ipv6);
  for (const [demo, test] of hostOf) out = out.replace(addressPattern(demo), test);
  return out.replace(/\bnpx dnscdn\b/g, `node ${BIN}`);
}

function fromTest(text: string): string {
  let out = text.split(`${dir}/`).join('').split(ipv6).join(DEMO_IPV6);
  for (const [demo, test] of hostOf) out = out.replace(addressPattern(test), demo);
  return out;
}

/** Runs one command in bash in the deployment's folder; its own process group, so `&` children can be stopped. */
async function run(command: string): Promise<string> {
  const outFile = join(dir, '.readme-test.out');
  const fd = openSync(outFile, 'w');
  const child = spawn('bash', ['-c', toTest(command)], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  if (child.pid !== undefined) backgroundGroups.push(child.pid); // what it leaves running (`&`) is stopped at the end
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await once(child, 'exit');
  clearTimeout(timer);
  return fromTest(readFileSync(outFile, 'utf8'));
}

const readOnly = (command: string): boolean => (/^(dig|curl)\b/.test(command) && !/\s-X\s/.test(command)) || /^npx dnscdn status\b/.test(command);

async function check(example: Example): Promise<string[]> {
  if (example.command.trim() === 'npm start') return missingLines(example.expected, fromTest(upOutput));
  // Each command runs in a shell of its own, so the variables a block sets are carried here.
  const exported = /^export (\w+)=(\S+?)\s*(#.*)?$/.exec(example.command);
  if (exported) {
    env[exported[1]!] = exported[2]!.replace(/^['"]|['"]$/g, '');
    return [];
  }
  const unset = /^unset (\w+)\s*$/.exec(example.command);
  if (unset) {
    env[unset[1]!] = '';
    return [];
  }
  const deadline = Date.now() + (readOnly(example.command) ? SETTLE_MS : 0);
  let first: { missing: string[]; output: string } | undefined;
  for (;;) {
    const output = await run(example.command);
    const missing = missingLines(example.expected, output);
    if (missing.length === 0) return [];
    first ??= { missing, output };
    // The first attempt is what the README's reader would have seen: report that one.
    if (Date.now() >= deadline) return [...first.missing.map((m) => `missing: ${m}`), '--- real output:', first.output];
    await new Promise((r) => setTimeout(r, 300));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dnscdn-readme-'));
  for (const [i, host] of privateLoopbacks(DEMO_HOSTS.length).entries()) hostOf.set(DEMO_HOSTS[i]!, host);
  for (const part of ['zones', 'content']) cpSync(join(REPO, part), join(dir, part), { recursive: true });
  ipv6 = `[::1]:${await freePortOn('::1')}`;
  writeFileSync(join(dir, 'dnscdn.yaml'), toTest(readFileSync(join(REPO, 'dnscdn.yaml'), 'utf8')));
  for (const k of ['DNSCDN_ADMIN_TOKEN', 'DNSCDN_TOKEN', 'DNSCDN_ADMIN_URL']) env[k] = '';
  up = spawn(process.execPath, [BIN, 'up'], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  up.stdout!.on('data', (d: Buffer) => void (upOutput += d.toString()));
  up.stderr!.on('data', (d: Buffer) => void (upOutput += d.toString()));
  const exited = once(up, 'exit').then(() => 'exited');
  while (!upOutput.includes('[up] ready')) {
    const how = await Promise.race([exited, new Promise((r) => setTimeout(r, 100, 'waiting'))]);
    if (how === 'exited') throw new Error(`dnscdn up exited before it was ready:\n${upOutput}`);
  }
  await new Promise((r) => setTimeout(r, 500)); // the banner follows "[up] ready"
}, 120_000);

afterAll(async () => {
  for (const pgid of backgroundGroups) {
    try {
      process.kill(-pgid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  if (up && up.exitCode === null) {
    up.kill('SIGTERM');
    await once(up, 'exit');
  }
}, 30_000);

describe('README.md runs as written', () => {
  const blocks = consoleBlocks(readFileSync('README.md', 'utf8'));

  it('has console blocks to run (the extraction rule still finds them)', () => {
    expect(blocks.length).toBeGreaterThan(3);
  });

  it('npx dnscdn works in the checkout (package.json "bin")', async () => {
    const help = await new Promise<string>((done, fail) => execFile('npx', ['--no-install', 'dnscdn', '--help'], { cwd: REPO, timeout: 60_000 }, (err, out) => (err ? fail(err) : done(out))));
    expect(help).toMatch(/^Usage: dnscdn /);
    expect(help).toContain('check [options]');
  });

  it.each(blocks.map((b) => [b.line, b] as const))('the console block at README.md:%i', { timeout: 120_000 }, async (_line, block) => {
    for (const example of block.examples) {
      const problems = await check(example);
      expect(problems, `README.md:${example.line}: $ ${example.command}`).toEqual([]);
    }
  });
});
