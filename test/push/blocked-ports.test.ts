/**
 * Links between roles on ports that `fetch` refuses (WHATWG "bad ports"): the origin on 6000 and the
 * distribution node on 10080. Push, purge and status through the CLI, delivery to the edges, and an edge's
 * catch-up all work there, as real processes from one deployment file; and catch-up alone, in process.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Distributor } from '../../src/distribution/distributor.js';
import { Follower, type FollowerSink } from '../../src/distribution/follower.js';
import { listenDistributor } from '../../src/distribution/server.js';
import { request } from '../../src/http/client.js';
import { loopbackWithFreePort } from '../http/blocked-ports.js';
import { tempDir } from '../origin/helpers.js';
import { freePortOn, privateLoopbacks, refusingUrl } from '../net/loopback.js';
import { eventually, runCli, startCli, stopCli, type Proc } from './processes.js';

const TOKEN = 'blocked-ports-token';
const procs: Proc[] = [];

afterAll(async () => {
  for (const p of procs) await stopCli(p);
});

async function up(url: string): Promise<boolean> {
  return (await request(`${url}/healthz`, { timeoutMs: 2000 })).status === 200;
}

/** What an edge holds for a path without asking the origin: "200 <etag>" or the status. */
async function cached(edgeUrl: string, path: string): Promise<string> {
  const r = await request(edgeUrl + path, { headers: { 'cache-control': 'only-if-cached' } });
  return r.status === 200 ? `200 ${String(r.headers.etag)}` : String(r.status);
}

describe('origin on port 6000, distribution node on port 10080 (real processes)', () => {
  it('push, purge, status, delivery and catch-up all work', { timeout: 90_000 }, async () => {
    const host = await loopbackWithFreePort(6000);
    const distHost = await loopbackWithFreePort(10080);
    const dir = await tempDir('blocked-ports');
    await mkdir(join(dir, 'content'));
    for (const p of ['a', 'b']) await writeFile(join(dir, 'content', `${p}.html`), `<p>${p}</p>`);
    const [dnsHost, ...edgeHosts] = privateLoopbacks(3) as [string, ...string[]];
    const edgeAdminHosts = privateLoopbacks(2);
    const edgePorts = await Promise.all(edgeHosts.map(freePortOn));
    const edgeAdminPorts = await Promise.all(edgeAdminHosts.map(freePortOn));
    // The links (CLI -> origin, origin -> distributor, distributor -> edges, edges -> distributor) go to
    // admin listeners, so those are the ones on the ports fetch refuses.
    const originPublicPort = await freePortOn(host);
    const distPublicPort = await freePortOn(distHost);
    const file = join(dir, 'dnscdn.yaml');
    await writeFile(
      file,
      `dns:\n  listen: [${dnsHost}:${await freePortOn(dnsHost)}]\n  zones: zones/\nedgeDefaults:\n  cache: { maxBytes: 16MB }\nedges:\n` +
        edgeHosts.map((h, i) => `  e${i + 1}: { addresses: [${h}], port: ${edgePorts[i]}, admin: ${edgeAdminHosts[i]}:${edgeAdminPorts[i]}, location: { lat: 0, lon: ${i} } }\n`).join('') +
        `origin:\n  listen: ${host}:${originPublicPort}\n  admin: ${host}:6000\n  content: content/\n  rules:\n    - { match: "*.html", cacheControl: "public, max-age=600" }\n` +
        `distribution:\n  listen: ${distHost}:${distPublicPort}\n  admin: ${distHost}:10080\n  journal: state/journal\nadmin:\n  tokens: [${TOKEN}]\n`,
    );
    const originUrl = `http://${host}:6000`;
    const distributorUrl = `http://${distHost}:10080`;
    const edgeUrls = edgeHosts.map((h, i) => `http://${h}:${edgePorts[i]}`);

    const distributor = startCli(['distributor', '--config', file]);
    const origin = startCli(['origin', '--config', file]);
    const edge = (i: number): Proc => startCli(['edge', '--config', file, '--name', `e${i + 1}`]);
    const edges = [edge(0), edge(1)];
    procs.push(distributor, origin, ...edges);
    await eventually(() => up(distributorUrl), 30_000, () => distributor.output());
    await eventually(() => up(originUrl), 30_000, () => origin.output());
    for (let i = 0; i < 2; i++) await eventually(() => up(edgeUrls[i]!), 30_000, () => edges[i]!.output());

    const cli = (...args: string[]): ReturnType<typeof runCli> => runCli([...args, '--admin-url', originUrl, '--token', TOKEN]);
    const pushed = await cli('push', '/a.html', '/b.html');
    expect(pushed.stderr).toBe('');
    expect(pushed.stdout).toBe('seq 1\tput\t/a.html\nseq 2\tput\t/b.html\n');
    let last = '';
    const statusAt = async (seq: number): Promise<boolean> => {
      const text = (last = (await cli('status')).stdout);
      return text.includes(`journal: last seq ${seq},`) && [1, 2].every((i) => new RegExp(`^e${i}\\t\\S+\\tyes\\t${seq}\\t0\\t`, 'm').test(text));
    };
    await eventually(async () => statusAt(2), 20_000, () => last);
    for (const u of edgeUrls) expect(await cached(u, '/a.html')).toMatch(/^200 "/);

    expect((await cli('purge', '/a.html')).stdout).toBe('seq 3\tpurge\t/a.html\n');
    await eventually(async () => statusAt(3), 20_000, () => last);
    for (const u of edgeUrls) expect(await cached(u, '/a.html')).toBe('504');

    // An edge that was down catches up from the distribution node on 10080 when it starts again.
    await stopCli(edges[1]!, 'SIGKILL');
    await writeFile(join(dir, 'content', 'b.html'), '<p>b, second version</p>');
    expect((await cli('push', '/b.html')).stdout).toBe('seq 4\tput\t/b.html\n');
    edges[1] = edge(1);
    procs.push(edges[1]);
    await eventually(async () => statusAt(4), 30_000, () => last);
    expect(await cached(edgeUrls[1]!, '/b.html')).toBe(await cached(edgeUrls[0]!, '/b.html'));
    expect(edges[1]!.output()).not.toMatch(/fetch failed|WARN/);

    // With the distribution node gone, the origin tells the pusher which node it could not reach, and why.
    await stopCli(distributor, 'SIGKILL');
    const refused = await cli('push', '/a.html');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`dnscdn: POST ${originUrl}/.dnscdn/push: HTTP 502: distribution node unreachable: POST ${distributorUrl}/.dnscdn/publish: connect ECONNREFUSED ${distHost}:10080\n`);
  });
});

describe('the push, purge and status commands against nothing', () => {
  it('name the URL they tried and the cause', async () => {
    const url = new URL(refusingUrl());
    const at = `${url.hostname}:${url.port}`.replaceAll('.', '\\.');
    for (const args of [['push', '/a.html'], ['purge', '/a.html'], ['status']]) {
      const r = await runCli([...args, '--admin-url', url.origin, '--token', TOKEN]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^dnscdn: (GET|POST) http://${at}/\\.dnscdn/(push|purge|status): connect ECONNREFUSED ${at}\n$`));
    }
  });
});

const nullSink: FollowerSink = { put: () => undefined, purge: () => undefined, clear: () => undefined, accepts: () => true };

describe('catch-up from a distribution node on port 6666', () => {
  it('pulls every operation after its cursor', async () => {
    const host = await loopbackWithFreePort(6666);
    const dir = await tempDir('blocked-catch-up');
    const d = await Distributor.open({ dataDir: join(dir, 'dist'), token: TOKEN, downstream: [] });
    const http = await listenDistributor(d, { host, port: 0 }, { listen: { host, port: 6666 }, token: TOKEN });
    try {
      await d.publish([{ op: { kind: 'purge', target: { type: 'url', path: '/x' } } }, { op: { kind: 'purge', target: { type: 'tag', tag: 'y' } } }]);
      const follower = await Follower.open({ dir: join(dir, 'replica'), upstream: http.adminUrl, token: TOKEN, sink: nullSink });
      await follower.catchUp();
      expect(follower.lastSeq).toBe(2);
      await follower.close();
    } finally {
      await http.close();
      await d.close();
    }
  });
});
