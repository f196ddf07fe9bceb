/** The dashboard's parts: reading counters from /metrics text, the map outline, the collector over real edges' admin listeners, and the bounded event stream. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDeployment } from '../../src/config/load.js';
import { DashboardCollector, type DashboardSources } from '../../src/dashboard/collector.js';
import { readCounterSums } from '../../src/dashboard/prometheus-text.js';
import { DashboardRoutes } from '../../src/dashboard/routes.js';
import { landPath, MAP_WIDTH, project } from '../../src/dashboard/world-map.js';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
});

async function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

describe('readCounterSums', () => {
  it('sums a metric over its label sets, skips comments and other metrics, and reads label values with spaces and braces', () => {
    const text = [
      '# HELP dnscdn_edge_requests_total Client requests received',
      '# TYPE dnscdn_edge_requests_total counter',
      'dnscdn_edge_requests_total{method="GET",edge="london"} 10',
      'dnscdn_edge_requests_total{method="HEAD",edge="a b } c"} 2.5',
      'dnscdn_edge_requests_total_other 100',
      'dnscdn_edge_hits_total 7 1700000000000',
      '',
    ].join('\n');
    const sums = readCounterSums(text, ['dnscdn_edge_requests_total', 'dnscdn_edge_hits_total', 'absent']);
    expect(Object.fromEntries(sums)).toEqual({ dnscdn_edge_requests_total: 12.5, dnscdn_edge_hits_total: 7 });
  });
});

describe('world map', () => {
  it('draws Natural Earth land with no line across the antimeridian', () => {
    const d = landPath();
    expect(d.startsWith('M')).toBe(true);
    let previousX: number | undefined;
    let longest = 0;
    for (const m of d.matchAll(/([MLZ])(?:(-?[\d.]+),(-?[\d.]+))?/g)) {
      if (m[1] === 'L') longest = Math.max(longest, Math.abs(Number(m[2]) - previousX!));
      previousX = m[2] === undefined ? undefined : Number(m[2]);
    }
    expect(longest).toBeLessThan(MAP_WIDTH / 4);
    expect(project(51.5, -0.1)).toEqual({ x: 359.8, y: 77 });
  });
});

function sourcesFor(yaml: string, preview: DashboardSources['preview'] = () => ['london']): DashboardSources {
  const d = parseDeployment(yaml, '/tmp/dashboard.yaml', { env: {} });
  return { deployment: () => d, health: () => [{ edge: 'london', status: 'up', lastReason: '' }], onHealthChange: () => undefined, preview };
}

describe('DashboardCollector', () => {
  it('turns two scrapes of an edge into requests a second and a hit ratio, and shows an edge that does not answer as unknown', async () => {
    let requests = 100;
    let hits = 40;
    const port = await listen((_req, res) => res.end(`dnscdn_edge_requests_total{method="GET"} ${requests}\ndnscdn_edge_hits_total ${hits}\ndnscdn_edge_misses_total 10\n`));
    const yaml = `dns: { listen: [127.0.0.1:0], zones: zones/ }
edges:
  london: { addresses: [127.0.0.11], port: 8080, admin: 127.0.0.1:${port}, location: { lat: 51.5, lon: -0.1 } }
  gone: { addresses: [127.0.0.12], port: 8080, admin: 127.0.0.1:9, location: { lat: 35.7, lon: 139.7 } }
pools:
  www.cdn.test: { policy: geo-nearest, edges: [london, gone] }
`;
    const collector = new DashboardCollector(sourcesFor(yaml));
    await collector.sample();
    requests += 30;
    hits += 20;
    await new Promise((r) => setTimeout(r, 200));
    await collector.sample();
    const s = collector.current().snapshot!;
    const london = s.edges.find((e) => e.name === 'london')!;
    expect(london.requestsPerSecond).toBeGreaterThan(30);
    expect(london.requestsPerSecond).toBeLessThan(30 / 0.19);
    expect(london.hitRatio).toBe(1); // 20 more hits, no more misses
    expect(s.edges.find((e) => e.name === 'gone')).toMatchObject({ health: 'unknown', requestsPerSecond: null });
    expect(s.pools[0]!.answers.find((a) => a.place === 'London')!.edges).toEqual(['london']);
  });
});

describe('DashboardRoutes', () => {
  it('streams snapshots as Server-Sent Events and refuses streams beyond its limit with 503', async () => {
    const yaml = `dns: { listen: [127.0.0.1:0], zones: zones/ }
edges:
  london: { addresses: [127.0.0.11], port: 8080, admin: 127.0.0.1:9, location: { lat: 51.5, lon: -0.1 } }
`;
    const collector = new DashboardCollector(sourcesFor(yaml));
    const routes = new DashboardRoutes(collector, 1);
    const port = await listen((req, res) => {
      if (!routes.handle(req, res, req.url ?? '')) res.writeHead(404).end();
    });
    const page = await new Promise<{ status: number; type: string; body: string }>((resolve) =>
      http.get(`http://127.0.0.1:${port}/dashboard`, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
      }),
    );
    expect([page.status, page.type]).toEqual([200, 'text/html; charset=utf-8']);
    expect(page.body).toContain("new EventSource('/dashboard/events')");
    const first = await new Promise<http.IncomingMessage>((resolve) => http.get(`http://127.0.0.1:${port}/dashboard/events`, resolve));
    expect(first.headers['content-type']).toBe('text/event-stream');
    let received = '';
    first.on('data', (c: Buffer) => (received += c.toString()));
    await collector.sample();
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toMatch(/^retry: 2000\n\n/);
    const event = /event: snapshot\ndata: (.*)\n\n/.exec(received);
    expect(JSON.parse(event![1]!).edges[0].name).toBe('london');
    const second = await new Promise<http.IncomingMessage>((resolve) => http.get(`http://127.0.0.1:${port}/dashboard/events`, resolve));
    expect([second.statusCode, second.headers['retry-after']]).toEqual([503, '10']);
    second.resume();
    first.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(routes.connectedClients).toBe(0);
  });
});
