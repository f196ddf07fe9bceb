/**
 * The DNS role as a deployment file describes it: one admin listener carries the DNS query counters,
 * the steering and health metrics, and /healthz with the edges as steering sees them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSteeredDns, type SteeredDns } from '../../src/dns/steering-service.js';
import { query, udpQuery } from './query-client.js';

const ZONES = fileURLToPath(new URL('../../zones/', import.meta.url));

let dns: SteeredDns;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnscdn-steered-'));
  const file = join(dir, 'deploy.yaml');
  // Edges on ports nobody listens on: every probe fails, which is what /healthz should report.
  writeFileSync(
    file,
    [
      'dns:',
      '  listen: [127.0.0.1:0]',
      `  zones: ${ZONES}`,
      '  admin: 127.0.0.1:0',
      'edgeDefaults:',
      '  port: 9',
      '  health: { path: /healthz, interval: 100ms, timeout: 50ms, rise: 1, fall: 1 }',
      'edges:',
      '  london: { addresses: [127.0.0.11], location: { lat: 51.5, lon: -0.13 } }',
      '  tokyo: { addresses: [127.0.0.12], location: { lat: 35.7, lon: 139.7 } }',
      'pools:',
      '  www.cdn.test: { policy: geo-nearest, edges: [london, tokyo], ttl: 20, answers: 1 }',
      'admin:',
      '  tokens: [test-token]',
      '',
    ].join('\n'),
  );
  dns = await startSteeredDns(file, { watch: false });
});

afterAll(async () => {
  await dns?.close();
});

describe('steered DNS admin listener', () => {
  it('serves DNS, steering and health metrics on one /metrics', async () => {
    const port = dns.server.addresses[0]!.port;
    const reply = await udpQuery(port, query('www.cdn.test', 'A'));
    expect(reply.answers).toHaveLength(1);
    const text = await (await fetch(`http://127.0.0.1:${dns.admin!.port}/metrics`)).text();
    expect(text).toMatch(/^dnscdn_dns_queries_total\{[^}]*\} [1-9]/m);
    expect(text).toContain('dnscdn_steering_answers_total');
    expect(text).toContain('dnscdn_edge_up');
  });

  it('lists the edges as steering sees them on /healthz', async () => {
    await new Promise((r) => setTimeout(r, 400)); // a few probe intervals: both edges fail
    const body = (await (await fetch(`http://127.0.0.1:${dns.admin!.port}/healthz`)).json()) as { status: string; edges: Array<{ edge: string; status: string }> };
    expect(body.status).toBe('ok');
    expect(body.edges.map((e) => e.edge).sort()).toEqual(['london', 'tokyo']);
    expect(body.edges.every((e) => e.status === 'down')).toBe(true);
  });
});
