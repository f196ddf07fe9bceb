import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Real `dnscdn` processes (the built CLI, as a user runs it), stopped by their own pid only. */
export const CLI = join(process.cwd(), 'bin', 'dnscdn.js');

export interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<void>;
}

export function startCli(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, DNSCDN_LOG: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const keep = (c: Buffer): void => void (text = (text + c.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, output: () => text, exited };
}

export async function stopCli(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  await p.exited;
}

/**
 * Runs the CLI to completion: stdout, and the exit code. With `killAfterMs`, a command that should have exited
 * by then (a server expected to refuse to start) is killed, and its code is null.
 */
export function runCli(args: string[], killAfterMs?: number): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const p = startCli(args);
  let stdout = '';
  let stderr = '';
  p.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  p.child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => p.child.kill('SIGKILL'), killAfterMs);
  return p.exited.then(() => {
    clearTimeout(timer);
    return { stdout, stderr, code: p.child.exitCode };
  });
}

/** A TCP port free on `host` now (the kernel's pick). */
export function freeTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Polls until `probe` is true, failing with `describe()` after `timeoutMs`. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function healthy(url: string): Promise<boolean> {
  return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).status === 200;
}

export interface DeploymentFile {
  file: string;
  originUrl: string;
  /** The origin's admin listener: push, purge, status, metrics, and the in-process distribution node. */
  originAdminUrl: string;
  edgeUrls: string[];
  edgeAdminUrls: string[];
  /** The separate distributor's admin listener (its API). */
  distributorUrl?: string;
}

/** Writes a deployment file for an origin, 3 edges on 127.0.0.11-13 and optionally a separate distributor. */
export async function writeDeployment(dir: string, token: string, opts: { separateDistributor?: boolean } = {}): Promise<DeploymentFile> {
  const hosts = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
  const ports = await Promise.all(hosts.map(freeTcpPort));
  const originPort = await freeTcpPort('127.0.0.1');
  const adminPorts = await Promise.all(hosts.map(freeTcpPort));
  const originAdminPort = await freeTcpPort('127.0.0.1');
  const distPort = await freeTcpPort('127.0.0.1');
  const distAdminPort = await freeTcpPort('127.0.0.1');
  const edges = hosts.map((h, i) => `  e${i + 1}: { addresses: [${h}], port: ${ports[i]}, admin: ${h}:${adminPorts[i]}, location: { lat: 0, lon: ${i} } }`).join('\n');
  const file = join(dir, 'dnscdn.yaml');
  await writeFile(
    file,
    `dns:\n  listen: [127.0.0.1:${await freeTcpPort('127.0.0.1')}]\n  zones: zones/\nedgeDefaults:\n  cache: { maxBytes: 16MB }\nedges:\n${edges}\n` +
      `origin:\n  listen: 127.0.0.1:${originPort}\n  admin: 127.0.0.1:${originAdminPort}\n  content: content/\n  rules:\n    - { match: "*.html", cacheControl: "public, max-age=600", surrogateKeys: [html] }\n` +
      `distribution:\n${opts.separateDistributor ? `  listen: 127.0.0.1:${distPort}\n  admin: 127.0.0.1:${distAdminPort}\n` : ''}  journal: state/journal\nadmin:\n  tokens: [${token}]\n`,
  );
  const d: DeploymentFile = {
    file,
    originUrl: `http://127.0.0.1:${originPort}`,
    originAdminUrl: `http://127.0.0.1:${originAdminPort}`,
    edgeUrls: hosts.map((h, i) => `http://${h}:${ports[i]}`),
    edgeAdminUrls: hosts.map((h, i) => `http://${h}:${adminPorts[i]}`),
  };
  if (opts.separateDistributor) d.distributorUrl = `http://127.0.0.1:${distAdminPort}`;
  return d;
}
