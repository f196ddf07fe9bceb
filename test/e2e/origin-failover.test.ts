/**
 * The origin in a pool of two origin processes, end to end with `dnscdn up` (real child processes): killing one
 * origin process under load lets no 5xx (and no failed request) reach a client, and a sticky session stays on its
 * origin process and moves, with a new cookie, when that process dies.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';
import { ROOT, spawnUp, until } from './up-deployment.js';

const run = promisify(execFile);
const [DNS_HOST, ORIGIN_HOST, REPLICA_HOST, EDGE_HOST] = privateLoopbacks(4) as [string, string, string, string];

/** One GET through a keep-alive agent: the status, or the error's text when the request failed. */
function get(agent: http.Agent, url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      res.once('error', (e) => resolve({ error: e.message }));
    });
    req.once('error', (e) => resolve({ error: e.message }));
  });
}

describe('an origin pool of two origin processes (dnscdn up)', () => {
  let up: ChildProcess;
  let output = (): string => '';
  let edgeUrl = '';
  let edgeAdmin = '';
  let originUrl = '';
  let replicaUrl = '';

  beforeAll(async () => {
    const [dnsPort, originPort, replicaPort, edgePort] = await Promise.all([freePortOn(DNS_HOST), freePortOn(ORIGIN_HOST), freePortOn(REPLICA_HOST), freePortOn(EDGE_HOST)]);
    originUrl = `http://${ORIGIN_HOST}:${originPort}`;
    replicaUrl = `http://${REPLICA_HOST}:${replicaPort}`;
    edgeUrl = `http://${EDGE_HOST}:${edgePort}`;
    edgeAdmin = `http://${EDGE_HOST}:${edgePort + 1000}`;
    const dir = mkdtempSync(join(tmpdir(), 'dnscdn-pool-'));
    const file = join(dir, 'pool.yaml');
    writeFileSync(
      file,
      `dns:
  listen: [${DNS_HOST}:${dnsPort}]
  zones: ${join(ROOT, 'zones')}
edgeDefaults:
  port: ${edgePort}
  cache: { maxBytes: 16MB }
  origin:
    servers: [${originUrl}, ${replicaUrl}]
    health: { path: /healthz, interval: 300ms, timeout: 200ms, rise: 2, fall: 2 }
    passive: { maxFails: 2, ejectFor: 1s }
    sticky: { cookie: srv }
edges:
  london: { addresses: [${EDGE_HOST}], location: { lat: 51.507, lon: -0.128 } }
origin:
  listen: ${ORIGIN_HOST}:${originPort}
  replicas: [${REPLICA_HOST}:${replicaPort}]
  content: ${join(ROOT, 'content')}
  rules:
    - { match: "*.html", cacheControl: "public, max-age=60" }
distribution:
  journal: ${join(dir, 'journal')}
admin:
  tokens: [pool-e2e-test-token]
`,
    );
    ({ up, output } = spawnUp(file, dir, true));
    // The table and the lines to try come after the ready line, possibly in a later chunk.
    await until('up to be ready', 60_000, async () => (/\[up\] ready[\s\S]*try:/.test(output()) ? true : undefined));
  }, 90_000);

  afterAll(() => {
    if (up.exitCode === null) up.kill('SIGTERM');
  });

  const pidOf = (label: string): number => {
    const l = label.replaceAll('.', '\\.');
    // The banner row (`origin   PID  http://...`), or a later `[up] LABEL restarted as pid PID`.
    const all = [...output().matchAll(new RegExp(`^${l}\\s+(\\d+)\\s+http|^\\[up\\] ${l} restarted as pid (\\d+)`, 'gm'))];
    const last = all.at(-1);
    if (!last) throw new Error(`no pid for ${label} in:\n${output()}`);
    return Number(last[1] ?? last[2]);
  };

  /** The edge's dnscdn_edge_origin_requests_total per server. */
  async function originRequests(): Promise<Record<string, number>> {
    const { stdout } = await run('curl', ['-s', `${edgeAdmin}/metrics`]);
    const out: Record<string, number> = {};
    for (const m of stdout.matchAll(/^dnscdn_edge_origin_requests_total\{[^}]*server="([^"]+)"[^}]*\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
    return out;
  }

  async function bothUp(): Promise<void> {
    await until('both origin servers up at the edge', 30_000, async () => {
      const { stdout } = await run('curl', ['-s', `${edgeAdmin}/metrics`]);
      const ups = [...stdout.matchAll(/^dnscdn_edge_origin_up\{[^}]*\} (\d)/gm)].map((m) => m[1]);
      return ups.length === 2 && ups.every((v) => v === '1') ? true : undefined;
    });
  }

  it('prints both origin processes, and curl through the edge works', async () => {
    expect(output()).toMatch(new RegExp(`^origin\\s+\\d+\\s+${originUrl.replaceAll('.', '\\.')}`, 'm'));
    expect(output()).toMatch(new RegExp(`^origin ${REPLICA_HOST.replaceAll('.', '\\.')}:\\d+\\s+\\d+\\s+${replicaUrl.replaceAll('.', '\\.')}`, 'm'));
    const { stdout } = await run('curl', ['-si', '--max-time', '5', `${edgeUrl}/index.html`]);
    expect(stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(stdout).toMatch(/x-cache: MISS/i);
  });

  it('kills one origin process under load: no 5xx and no failed request reaches a client', async () => {
    await bothUp();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const statuses = new Map<string, number>();
    let n = 0;
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        // Unique URLs: every request is a miss that reaches an origin process.
        const r = await get(agent, `${edgeUrl}/index.html?load=${n++}`);
        const key = 'error' in r ? `error: ${r.error}` : String(r.status);
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    await new Promise((r) => setTimeout(r, 700));
    const before = await originRequests();
    expect(before[replicaUrl]).toBeGreaterThan(0); // the replica was taking its share
    process.kill(pidOf(`origin ${REPLICA_HOST}:${new URL(replicaUrl).port}`), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    expect(Object.fromEntries(statuses)).toEqual({ '200': n });
    expect(n).toBeGreaterThan(50);
    // The survivor took the load after the kill.
    const after = await originRequests();
    expect(after[originUrl]! - before[originUrl]!).toBeGreaterThan(10);
  }, 60_000);

  it('keeps a sticky session on its origin process, and moves it with a new cookie when that process dies', async () => {
    await until('the replica to be restarted', 20_000, async () => (/restarted as pid \d+/.test(output()) ? true : undefined));
    await bothUp();
    const agent = new http.Agent({ keepAlive: false });
    // A GET with credentials passes (the pool is sticky) and is pinned.
    const first = await get(agent, `${edgeUrl}/index.html`, { authorization: 'Bearer user-1' });
    if ('error' in first) throw new Error(first.error);
    const cookie = (first.headers['set-cookie'] ?? []).find((c) => c.startsWith('srv='))!;
    expect(cookie).toMatch(/^srv=[0-9a-f]{12}; Path=\/; HttpOnly; SameSite=Lax$/);
    const session = cookie.split(';')[0]!;
    const before = await originRequests();
    for (let i = 0; i < 6; i++) {
      const r = await get(agent, `${edgeUrl}/index.html`, { authorization: 'Bearer user-1', cookie: session });
      expect('error' in r ? r.error : [r.status, r.headers['x-cache'], r.headers['set-cookie']]).toEqual([200, 'PASS', undefined]);
    }
    const after = await originRequests();
    const moved = Object.keys(after).filter((s) => after[s]! !== (before[s] ?? 0));
    expect(moved.length).toBe(1); // all six on one origin process
    const pinned = moved[0]!;
    expect(after[pinned]! - (before[pinned] ?? 0)).toBe(6);
    const label = pinned === originUrl ? 'origin' : `origin ${REPLICA_HOST}:${new URL(replicaUrl).port}`;
    process.kill(pidOf(label), 'SIGKILL');
    // The GET that finds it dead is retried on the other process and answered with a new cookie.
    const r = await get(agent, `${edgeUrl}/index.html`, { authorization: 'Bearer user-1', cookie: session });
    if ('error' in r) throw new Error(r.error);
    expect(r.status).toBe(200);
    const newCookie = (r.headers['set-cookie'] ?? []).find((c) => c.startsWith('srv='))!;
    expect(newCookie).toBeDefined();
    expect(newCookie.split(';')[0]).not.toBe(session);
    const again = await get(agent, `${edgeUrl}/index.html`, { authorization: 'Bearer user-1', cookie: newCookie.split(';')[0]! });
    expect('error' in again ? again.error : [again.status, again.headers['set-cookie']]).toEqual([200, undefined]);
  }, 60_000);
});
