import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../src/config/load.js';
import { formatBanner, planProcesses } from '../../src/up/plan.js';

const FILE = `dns:
  listen: [127.0.0.1:5353]
  zones: zones/
edges:
  london: { addresses: [127.0.0.11], port: 8080, location: { lat: 51.5, lon: -0.1 } }
origin:
  listen: 127.0.0.1:8000
distribution:
  listen: 127.0.0.1:8100
`;

describe('up plan', () => {
  const d = parseDeployment(FILE, '/etc/dnscdn/up.yaml', { env: {} });

  it('starts origin and distributor first, then the edges, then DNS', () => {
    expect(planProcesses(d).map((p) => [p.label, p.wave])).toEqual([
      ['dns', 2],
      ['distributor', 0],
      ['origin', 0],
      ['edge london', 1],
    ]);
  });

  it('starts one more DNS process per dns.instances entry, with --name (workers come from the file in each)', () => {
    const withNs2 = parseDeployment(FILE.replace('  zones: zones/\n', '  zones: zones/\n  workers: 2\n  instances:\n    ns2: { listen: [127.0.0.2:5353], admin: 127.0.0.2:9153 }\n'), '/etc/dnscdn/up.yaml', { env: {} });
    const dns = planProcesses(withNs2).filter((p) => p.role === 'dns');
    expect(dns.map((p) => [p.label, p.args, p.wave, p.listens])).toEqual([
      ['dns', ['dns', '--config', '/etc/dnscdn/up.yaml'], 2, ['127.0.0.1:5353 udp+tcp']],
      ['dns ns2', ['dns', '--config', '/etc/dnscdn/up.yaml', '--name', 'ns2'], 2, ['127.0.0.2:5353 udp+tcp', 'http://127.0.0.2:9153/metrics']],
    ]);
  });

  it('shows what each child reported it bound, and the plan for a child that has not reported', () => {
    const [dns, distributor, origin, london] = planProcesses(d);
    const banner = formatBanner(d, [
      { process: dns!, pid: 11, listening: ['127.0.0.1:5353 udp+tcp'] },
      { process: distributor!, pid: 12, listening: undefined },
      { process: origin!, pid: 13, listening: ['http://127.0.0.1:41234'] },
      { process: london!, pid: undefined, listening: undefined },
    ]);
    expect(banner.split('\n').slice(0, 5)).toEqual([
      'process      pid      listens',
      'dns          11       127.0.0.1:5353 udp+tcp',
      'distributor  12       http://127.0.0.1:8100  http://127.0.0.1:9100/metrics',
      'origin       13       http://127.0.0.1:41234',
      'edge london  -        http://127.0.0.11:8080  http://127.0.0.11:9080/metrics',
    ]);
  });

  it('tells where metrics and the admin APIs live: on an admin listener, not on the public port', () => {
    const banner = formatBanner(d, planProcesses(d).map((p) => ({ process: p, pid: 1 })));
    expect(banner).toContain('curl -s http://127.0.0.11:9080/metrics');
  });

  it('prints the dashboard URL when DNS has an admin listener, and nothing about it otherwise', () => {
    const withAdmin = parseDeployment(FILE.replace('  zones: zones/', '  zones: zones/\n  admin: 127.0.0.1:9153'), '/etc/dnscdn/up.yaml', { env: {} });
    expect(formatBanner(withAdmin, planProcesses(withAdmin).map((p) => ({ process: p, pid: 1 })))).toContain('dashboard: http://127.0.0.1:9153/dashboard');
    expect(formatBanner(d, planProcesses(d).map((p) => ({ process: p, pid: 1 })))).not.toContain('dashboard');
  });
});

describe('up plan with HTTPS edges', () => {
  it('lists the https listener and prints the curl --cacert line of the demo CA', () => {
    const d = parseDeployment(
      `dns:
  listen: [127.0.0.1:5353]
edgeDefaults:
  tls: { port: 8443, demoCa: var/demo-ca }
edges:
  london: { addresses: [127.0.0.11], port: 8080, location: { lat: 51.5, lon: -0.1 } }
pools:
  www.cdn.test: { edges: [london] }
origin:
  listen: 127.0.0.1:8000
`,
      `${process.cwd()}/up.yaml`,
      { env: {} },
    );
    const london = planProcesses(d).find((p) => p.label === 'edge london')!;
    expect(london.listens).toEqual(['http://127.0.0.11:8080', 'https://127.0.0.11:8443', 'http://127.0.0.11:9080/metrics']);
    const banner = formatBanner(d, [{ process: london, pid: 1 }]);
    expect(banner).toContain('curl --cacert var/demo-ca/ca.pem --http2 -sI --resolve www.cdn.test:8443:127.0.0.11 https://www.cdn.test:8443/');
  });
});
