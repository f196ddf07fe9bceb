/**
 * A frozen origin server (SIGSTOP: the kernel still accepts its connections, nothing answers), found by chaos:
 * GETs the pool sends there are retried on the other server once the header timeout passes with no byte, and
 * count as failures that eject the frozen one; no request fails.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../edge/harness.js';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';
import { eventually, startCli, stopCli, type Proc } from '../push/processes.js';
import { scrapeMetrics } from './prometheus-scrape.js';

const [A_HOST, B_HOST] = privateLoopbacks(2) as [string, string];
const REQUESTS = 12;

describe('an origin pool with one server frozen (SIGSTOP)', () => {
  let dir = '';
  const origins: Proc[] = [];
  let edge: Proc;
  let url = '';
  let admin = '';
  let frozenUrl = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dnscdn-frozen-'));
    await writeFile(join(dir, 'page.txt'), 'page\n');
    const urls: string[] = [];
    for (const [i, host] of [A_HOST, B_HOST].entries()) {
      const [port, adminPort] = [await freePortOn(host), await freePortOn(host)];
      const p = startCli(['origin', '--content', dir, '--listen', `${host}:${port}`, '--admin-listen', `${host}:${adminPort}`, '--token', 'frozen-test', '--state-dir', join(dir, `state${i}`)]);
      origins.push(p);
      urls.push(`http://${host}:${port}`);
      await eventually(async () => (await request(urls[i]!, '/healthz')).status === 200, 20_000, () => p.output());
    }
    frozenUrl = urls[0]!;
    // Not about workers: one process, so every request and counter is in one place.
    edge = startCli(['edge', '--workers', '1', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--origin', urls.join(','), '--origin-header-timeout', '300ms', '--origin-timeout', '5s']);
    let m: RegExpExecArray | null = null;
    await eventually(async () => (m = /listening on (http:\/\/[^\s,]+), admin (http:\/\/[^\s,]+)/.exec(edge.output())) !== null, 20_000, () => edge.output());
    [, url, admin] = m as unknown as [string, string, string];
  });

  afterAll(async () => {
    origins[0]?.child.kill('SIGCONT');
    if (edge) await stopCli(edge);
    for (const p of origins) await stopCli(p);
    await rm(dir, { recursive: true, force: true });
  });

  it('every GET of a new URL succeeds, and the frozen server is ejected', async () => {
    origins[0]!.child.kill('SIGSTOP');
    const statuses: string[] = [];
    // New URLs: each a miss that must reach an origin server; round-robin sends every other one to the frozen one.
    for (let i = 0; i < REQUESTS; i++) {
      const r = await request(url, `/page.txt?n=${i}`);
      statuses.push(`${r.status} ${r.body.trim()}`);
    }
    expect(statuses).toEqual(Array(REQUESTS).fill('200 page'));
    const m = await scrapeMetrics(`${admin}/metrics`);
    const sample = (name: string, labels: string): number => [...m].find(([k]) => k.startsWith(`${name}{`) && k.includes(labels))?.[1] ?? 0;
    // maxFails (3) silent attempts in a row eject it: it was asked 3 times, not REQUESTS / 2.
    expect(sample('dnscdn_edge_origin_ejections_total', `server="${frozenUrl}"`)).toBe(1);
    expect(sample('dnscdn_edge_origin_errors_total', `kind="timeout"`)).toBe(3);
    expect(sample('dnscdn_edge_origin_up', `server="${frozenUrl}"`)).toBe(0);
  });
});
