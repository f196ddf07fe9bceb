/**
 * The shipped deployment file's clusters, run as a user runs them: the origin and the five edges each started
 * with `dnscdn <role> --config dnscdn.yaml` (addresses moved to private loopbacks of this test), then `curl` of
 * one new URL through all five edges. Europe+Americas asks its ring's owner, which asks the Asia-Pacific shield's
 * owner: the origin's own /metrics counts one request.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, healthy, startCli, stopCli, type Proc } from '../push/processes.js';
import { privateLoopbacks } from '../net/loopback.js';
import { scrapeMetrics } from './prometheus-scrape.js';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;
const EDGES = ['london', 'tokyo', 'newyork', 'saopaulo', 'sydney'];

const running: Proc[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => stopCli(p)));
});

describe('the shipped file: five edges in two clusters, one shield', () => {
  it('curl of the same new URL through all five edges gives exactly one request at the origin', { timeout: 120_000 }, async () => {
    const hosts = privateLoopbacks(6);
    const originHost = hosts[5]!;
    const dir = mkdtempSync(join(tmpdir(), 'dnscdn-edge-cluster-'));
    let yaml = readFileSync(join(ROOT, 'dnscdn.yaml'), 'utf8');
    EDGES.forEach((_, i) => (yaml = yaml.replace(`addresses: [127.0.0.1${i + 1}]`, `addresses: [${hosts[i]}]`)));
    yaml = yaml
      .replace('listen: 127.0.0.1:8000', `listen: ${originHost}:8000`)
      .replace('admin: 127.0.0.1:9000', `admin: ${originHost}:9000`)
      // The edges' origin pool: this test's origin alone (the shipped replica at 127.0.0.2:8000 is not started).
      .replace('servers: [http://127.0.0.1:8000, http://127.0.0.2:8000]', `servers: [http://${originHost}:8000]`)
      .replace('content: content/', `content: ${join(ROOT, 'content')}`)
      .replace('zones: zones/', `zones: ${join(ROOT, 'zones')}`)
      .replace('journal: var/journal', `journal: ${join(dir, 'journal')}`);
    const file = join(dir, 'dnscdn.yaml');
    writeFileSync(file, yaml);
    const origin = startCli(['origin', '--config', file]);
    running.push(origin);
    await eventually(async () => origin.output().includes('origin listening on'), 20_000, () => origin.output());
    const edges = EDGES.map((name) => startCli(['edge', '--config', file, '--name', name]));
    running.push(...edges);
    for (let i = 0; i < EDGES.length; i++) await eventually(() => healthy(`http://${hosts[i]}:8080`), 45_000, () => `edge ${EDGES[i]}: ${edges[i]!.output()} origin: ${origin.output()}`);

    // Each edge probes its peers from its start; one probed before a peer listened may still count it down
    // (rise 2 x 1 s): wait until every edge's rings hold every member.
    const full = { london: [3, 2], newyork: [3, 2], saopaulo: [3, 2], tokyo: [2, 0], sydney: [2, 0] } as Record<string, [number, number]>;
    for (let i = 0; i < EDGES.length; i++) {
      const [cluster, shield] = full[EDGES[i]!]!;
      await eventually(
        async () => {
          const m = await scrapeMetrics(`http://${hosts[i]}:9080/metrics`);
          const members = (tier: string): number => [...m].find(([k]) => k.startsWith('dnscdn_edge_ring_members') && k.includes(`tier="${tier}"`))?.[1] ?? 0;
          return members('cluster') === cluster && members('shield') === shield;
        },
        20_000,
        () => `rings of ${EDGES[i]} not complete`,
      );
    }
    const originRequests = async (): Promise<number> => {
      const m = await scrapeMetrics(`http://${originHost}:9000/metrics`);
      return [...m].filter(([k]) => k.startsWith('dnscdn_origin_requests_total')).reduce((a, [, v]) => a + v, 0);
    };
    const before = await originRequests();
    const outcomes: string[] = [];
    for (let i = 0; i < EDGES.length; i++) {
      const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-D', '-', '--resolve', `www.cdn.test:8080:${hosts[i]}`, 'http://www.cdn.test:8080/img/logo.svg']);
      expect(stdout).toMatch(/^HTTP\/1\.1 200 /);
      outcomes.push(/x-cache: (\w+)/i.exec(stdout)![1]!);
    }
    expect(await originRequests()).toBe(before + 1);
    // The first edge asked was a miss in the whole CDN; every other one was answered by a store in the CDN.
    expect(outcomes[0]).toBe('MISS');
    expect(outcomes.slice(1)).toEqual(['HIT', 'HIT', 'HIT', 'HIT']);
  });
});
