import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';

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

/**
 * Writes a deployment file for an origin, 3 edges and optionally a separate distributor, on loopback addresses of
 * this deployment's own (test/net/loopback.ts): the roles are separate processes that must know each other's ports.
 */
export interface DeploymentOptions {
  separateDistributor?: boolean;
  /** `distribution.backend: nats` with these servers (and this many operations kept in the stream). */
  nats?: { servers: string[]; retainOps?: number; publisherLease?: string };
  /** Edges e1..eN (default 3). */
  edges?: number;
}

export async function writeDeployment(dir: string, token: string, opts: DeploymentOptions = {}): Promise<DeploymentFile> {
  const edgeCount = opts.edges ?? 3;
  // One address per listener: two ports found free one after the other on one address may be the same port.
  const [dnsHost, originHost, originAdminHost, distHost, distAdminHost, ...hosts] = privateLoopbacks(5 + 2 * edgeCount) as [string, string, string, string, string, ...string[]];
  const edgeHosts = hosts.slice(0, edgeCount);
  const edgeAdminHosts = hosts.slice(edgeCount);
  const ports = await Promise.all(edgeHosts.map(freePortOn));
  const adminPorts = await Promise.all(edgeAdminHosts.map(freePortOn));
  const originPort = await freePortOn(originHost);
  const originAdminPort = await freePortOn(originAdminHost);
  const distPort = await freePortOn(distHost);
  const distAdminPort = await freePortOn(distAdminHost);
  const edges = edgeHosts.map((h, i) => `  e${i + 1}: { addresses: [${h}], port: ${ports[i]}, admin: ${edgeAdminHosts[i]}:${adminPorts[i]}, location: { lat: 0, lon: ${i} } }`).join('\n');
  const file = join(dir, 'dnscdn.yaml');
  await writeFile(
    file,
    `dns:\n  listen: [${dnsHost}:${await freePortOn(dnsHost)}]\n  zones: zones/\nedgeDefaults:\n  cache: { maxBytes: 16MB }\nedges:\n${edges}\n` +
      `origin:\n  listen: ${originHost}:${originPort}\n  admin: ${originAdminHost}:${originAdminPort}\n  content: content/\n  rules:\n    - { match: "*.html", cacheControl: "public, max-age=600", surrogateKeys: [html] }\n` +
      `    - { match: "/img/**", cacheControl: "public, max-age=600", surrogateKeys: [images] }\n` +
      `distribution:\n${opts.separateDistributor ? `  listen: ${distHost}:${distPort}\n  admin: ${distAdminHost}:${distAdminPort}\n` : ''}  journal: state/journal\n` +
      (opts.nats ? `  backend: nats\n  nats:\n    servers: [${opts.nats.servers.join(', ')}]\n    replicas: 3\n    retainOps: ${opts.nats.retainOps ?? 100_000}\n${opts.nats.publisherLease ? `    publisherLease: ${opts.nats.publisherLease}\n` : ''}` : '') +
      `admin:\n  tokens: [${token}]\n`,
  );
  const d: DeploymentFile = {
    file,
    originUrl: `http://${originHost}:${originPort}`,
    originAdminUrl: `http://${originAdminHost}:${originAdminPort}`,
    edgeUrls: edgeHosts.map((h, i) => `http://${h}:${ports[i]}`),
    edgeAdminUrls: edgeAdminHosts.map((h, i) => `http://${h}:${adminPorts[i]}`),
  };
  if (opts.separateDistributor) d.distributorUrl = `http://${distAdminHost}:${distAdminPort}`;
  return d;
}
