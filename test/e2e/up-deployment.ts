/**
 * A three-edge deployment run by `dnscdn up` as real child processes, on loopback addresses of the test's own
 * (test/net/loopback.ts): roles must know each other's ports before any listens, so the ports are found free
 * first and bound later by the children. Short health interval, so failures show within a second or two.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const UP_TOKEN = 'up-e2e-test-token';

export interface UpDeployment {
  hosts: { dns: string; origin: string; london: string; newyork: string; tokyo: string };
  dnsPort: number;
  /** The DNS admin listener's port, when asked for. */
  dnsAdminPort: number | undefined;
  edgePort: number;
  originPort: number;
  /** The origin's admin listener: origin port + 1000 (the default). */
  originAdminUrl: string;
  up: ChildProcess;
  /** Everything up printed so far, stdout and stderr. */
  output(): string;
}

export interface UpDeploymentOptions {
  intervalMs: number;
  rise: number;
  fall: number;
  /** Give DNS an admin listener (metrics, /healthz, the dashboard). */
  dnsAdmin?: boolean;
  /** `up --restart`: children that die are started again. */
  restart?: boolean;
}

export async function startUpDeployment(o: UpDeploymentOptions): Promise<UpDeployment> {
  const [dns, origin, london, newyork, tokyo] = privateLoopbacks(5) as [string, string, string, string, string];
  const dnsPort = await freePortOn(dns);
  const dnsAdminPort = o.dnsAdmin ? await freePortOn(dns) : undefined;
  const edgePort = await freePortOn(london);
  const originPort = await freePortOn(origin);
  const dir = mkdtempSync(join(tmpdir(), 'dnscdn-up-'));
  const file = join(dir, 'test.yaml');
  writeFileSync(
    file,
    `dns:
  listen: [${dns}:${dnsPort}]
  zones: ${join(ROOT, 'zones')}
${dnsAdminPort === undefined ? '' : `  admin: ${dns}:${dnsAdminPort}\n`}edgeDefaults:
  port: ${edgePort}
  health: { interval: ${o.intervalMs}ms, timeout: 200ms, rise: ${o.rise}, fall: ${o.fall} }
  cache: { maxBytes: 16MB }
edges:
  london: { addresses: [${london}], location: { lat: 51.507, lon: -0.128 } }
  newyork: { addresses: [${newyork}], location: { lat: 40.713, lon: -74.006 } }
  tokyo: { addresses: [${tokyo}], location: { lat: 35.690, lon: 139.692 } }
pools:
  www.cdn.test: { policy: geo-nearest, edges: [london, newyork, tokyo], ttl: 1 }
origin:
  listen: ${origin}:${originPort}
  content: ${join(ROOT, 'content')}
  rules:
    - { match: "*.html", cacheControl: "public, max-age=60" }
distribution:
  journal: ${join(dir, 'journal')}
admin:
  tokens: [${UP_TOKEN}]
`,
  );
  const { up, output } = spawnUp(file, dir, o.restart === true);
  return {
    hosts: { dns, origin, london, newyork, tokyo },
    dnsPort,
    dnsAdminPort,
    edgePort,
    originPort,
    originAdminUrl: `http://${origin}:${originPort + 1000}`,
    up,
    output,
  };
}

/** `dnscdn up --config FILE [--restart]` as a child in `cwd`, collecting what it prints (stdout and stderr). */
export function spawnUp(file: string, cwd: string, restart: boolean): { up: ChildProcess; output: () => string } {
  const up = spawn(process.execPath, [join(ROOT, 'bin/dnscdn.js'), 'up', '--config', file, ...(restart ? ['--restart'] : [])], {
    cwd,
    env: { ...process.env, DNSCDN_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  up.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  up.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  return { up, output: () => output };
}

/** Polls `probe` every 100 ms until it gives a value (errors count as "not yet"). */
export async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve().then(probe).catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The pid `up`'s table gives for a process label (`edge london`, `dns`). */
export function pidIn(output: string, label: string): number {
  const m = new RegExp(`^${label}\\s+(\\d+)`, 'm').exec(output);
  if (!m) throw new Error(`no pid for ${label} in:\n${output}`);
  return Number(m[1]);
}
