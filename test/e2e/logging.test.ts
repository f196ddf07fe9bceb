/**
 * Logs as an operator configures them: `--log-format`/`--log-level`, the file's `log:` section and DNSCDN_LOG,
 * with the built CLI. In json every stderr line is one record and stdout stays empty (no plain "listening" line
 * beside the structured one); a listener that cannot bind is logged with its address and the process exits 1.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, eventually, runCli, startCli, stopCli, type Proc } from '../push/processes.js';
import { privateLoopback } from '../net/loopback.js';

const HOST = privateLoopback();
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-logging-'));

function deployment(log: string): string {
  const file = join(dir, `d-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `dns:
  listen: [${HOST}:15353]
edges:
  solo: { addresses: [${HOST}], port: 8080, admin: ${HOST}:9080, location: { lat: 51.5, lon: -0.1 } }
origin:
  listen: ${HOST}:8000
  admin: ${HOST}:9000
${log}`,
  );
  return file;
}

interface JsonRecord {
  time: string;
  level: string;
  component: string;
  msg: string;
  [field: string]: string | number | boolean | null;
}

const running: Proc[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => stopCli(p)));
});

/** Starts an edge, waits for its start-up announcement (a line on stdout, or a `listening` record), stops it. */
async function edgeOutput(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  // The file's ports are fixed (a file cannot say 0); the flags put the listeners on free ones.
  // About logging, not workers: one process, one start-up line (workers.ts adds ", N workers" to it).
  const p = startCli(['edge', '--workers', '1', '--name', 'solo', '--origin', 'http://127.0.0.1:1', '--listen', `${HOST}:0`, '--admin-listen', `${HOST}:0`, ...args], env);
  running.push(p);
  let stdout = '';
  let stderr = '';
  p.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  p.child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await eventually(async () => /"msg":"listening"|^edge solo listening on /m.test(stdout + stderr) || p.child.exitCode !== null, 15_000, () => stdout + stderr);
  await stopCli(p);
  return { stdout, stderr };
}

const records = (stderr: string): JsonRecord[] =>
  stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JsonRecord);

describe('logging', () => {
  it('--log-format json beats the file\'s text; the file\'s debug level applies where no flag or variable sets one', async () => {
    const file = deployment('log: { format: text, level: debug }\n');
    const { stdout, stderr } = await edgeOutput(['--config', file, '--log-format', 'json'], { DNSCDN_LOG: '' });
    expect(stdout).toBe('');
    const lines = records(stderr); // throws on a line that is not JSON
    const listening = lines.filter((r) => r.msg === 'listening');
    expect(listening).toHaveLength(1);
    expect(listening[0]).toMatchObject({ level: 'info', component: 'edge', name: 'solo' });
    expect(String(listening[0]!.address)).toMatch(new RegExp(`^http://${HOST.replaceAll('.', '\\.')}:\\d+$`));
    expect(lines.some((r) => r.level === 'debug')).toBe(true);
  });

  it('DNSCDN_LOG beats the file\'s level, --log-level beats DNSCDN_LOG; text keeps the one plain start-up line', async () => {
    const file = deployment('log: { level: debug }\n');
    const quiet = await edgeOutput(['--config', file], { DNSCDN_LOG: 'warn' });
    expect(quiet.stdout).toMatch(/^edge solo listening on http:\/\/\S+, admin http:\/\/\S+, origin http:\/\/127\.0\.0\.1:1\n$/);
    expect(quiet.stderr).not.toMatch(/ (DEBUG|INFO) /);
    const loud = await edgeOutput(['--config', file, '--log-level', 'debug'], { DNSCDN_LOG: 'warn' });
    expect(loud.stderr).toMatch(/^\S+ DEBUG \w+: /m);
    // No second "listening" line beside the one on stdout, except the per-listener details at debug.
    expect(loud.stderr.split('\n').filter((l) => /listening/.test(l) && !/ DEBUG /.test(l))).toEqual([]);
  });

  it('SIGHUP re-reads the file: the edge keeps running, takes the new log level, and refuses a bad file', async () => {
    const file = deployment('log: { level: info }\n');
    const p = startCli(['edge', '--workers', '1', '--config', file, '--name', 'solo', '--origin', 'http://127.0.0.1:1', '--listen', `${HOST}:0`, '--admin-listen', `${HOST}:0`], { DNSCDN_LOG: '' });
    running.push(p);
    await eventually(async () => /listening on/.test(p.output()), 15_000, p.output);
    const hangUp = (level: string): void => {
      writeFileSync(file, readFileSync(file, 'utf8').replace(/level: \w+/, `level: ${level}`));
      p.child.kill('SIGHUP');
    };
    const valid = (): number => p.output().split('SIGHUP: deployment file valid').length - 1;
    hangUp('loud');
    await eventually(async () => /ERROR config: SIGHUP: deployment file refused; running as before .*unknown log level/.test(p.output()), 5000, p.output);
    hangUp('warn'); // confirmed at the old level (info), then in force
    await eventually(async () => valid() === 1, 5000, p.output);
    hangUp('info'); // confirmed at warn: not shown
    // Two signals sent before the first is delivered would merge into one; give the first time to be delivered.
    await new Promise((r) => setTimeout(r, 300));
    hangUp('debug'); // confirmed at info: shown only if the previous reload applied
    await eventually(async () => valid() === 2, 5000, p.output);
    expect(p.output()).toMatch(/SIGHUP: deployment file valid.* level=debug/);
    expect(p.output()).not.toMatch(/SIGHUP: deployment file valid.* level=info/);
    expect(p.child.exitCode).toBe(null);
    await stopCli(p);
  });

  it('a bad log key in the file is refused with file, line and key', async () => {
    const file = deployment('log:\n  level: loud\n');
    const r = await runCli(['edge', '--config', file, '--name', 'solo']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:9 (log.level): unknown log level "loud" (one of debug, info, warn, error, silent)`);
  });

  it('a listener that cannot bind is logged as an error record with the address and a hint, and the role exits 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, HOST, resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, [CLI, 'edge', '--listen', `${HOST}:${port}`, '--admin-listen', `${HOST}:0`, '--origin', 'http://127.0.0.1:1', '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(1);
      const failure = records(stderr).find((r) => r.level === 'error');
      expect(failure).toMatchObject({ msg: 'cannot bind a listener; not started', address: `${HOST}:${port}`, code: 'EADDRINUSE' });
    } finally {
      taken.close();
    }
  });
});
