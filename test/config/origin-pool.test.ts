/**
 * An edge's `origin` as a pool in the deployment file: the shorthand forms, the full form, the default (every
 * process of the origin role), `listen` against advertised addresses, and errors with file, line and key.
 */
import { describe, expect, it } from 'vitest';
import { loadDeployment, parseDeployment } from '../../src/config/load.js';
import { planProcesses } from '../../src/up/plan.js';
import { originPoolOf } from '../../src/config/origin-pool.js';
import { edgeRoleFromDeployment } from '../../src/edge/setup.js';
import { ConfigError } from '../../src/errors.js';

const FILE = '/etc/dnscdn/pool.yaml';

function deployment(edgeLines: string, extra = ''): string {
  return `dns: { listen: 127.0.0.1:5353 }
edges:
  london:
    addresses: [127.0.0.11, "::1"]
    location: { lat: 51.5, lon: -0.12 }
${edgeLines}
origin:
  listen: 127.0.0.1:8000
  replicas: [127.0.0.2:8000]
${extra}`;
}

function errorOf(text: string): ConfigError {
  try {
    parseDeployment(text, FILE);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('config was accepted');
}

describe('origin pools in the deployment file', () => {
  it('without an origin key, an edge uses every origin process (origin.listen and origin.replicas), round-robin', () => {
    const d = parseDeployment(deployment(''), FILE);
    expect(d.origin!.replicas).toEqual([{ host: '127.0.0.2', port: 8000 }]);
    const role = edgeRoleFromDeployment(d, 'london', undefined);
    expect(role.server.origin).toEqual(originPoolOf(['http://127.0.0.1:8000', 'http://127.0.0.2:8000']));
  });

  it('reaches the origin at origin.url when it listens elsewhere (a wildcard, or behind NAT)', () => {
    const d = parseDeployment(deployment('').replace('listen: 127.0.0.1:8000', 'listen: 0.0.0.0:8001\n  url: http://192.0.2.80:8000'), FILE);
    expect(edgeRoleFromDeployment(d, 'london', undefined).server.origin).toEqual(originPoolOf(['http://192.0.2.80:8000', 'http://127.0.0.2:8000']));
  });

  it('takes one URL or a list of URLs as shorthand', () => {
    const one = parseDeployment(deployment('    origin: http://127.0.0.9:8000'), FILE);
    expect(one.edges[0]!.origin).toEqual(originPoolOf(['http://127.0.0.9:8000']));
    const list = parseDeployment(deployment('    origin: [http://127.0.0.9:8000, "http://[::1]:8000"]'), FILE);
    expect(list.edges[0]!.origin!.servers.map((s) => s.url)).toEqual(['http://127.0.0.9:8000', 'http://[::1]:8000']);
  });

  it('reads the full form, and edgeDefaults.origin applies to edges without their own', () => {
    const text = deployment(
      '',
      `edgeDefaults:
  origin:
    policy: hash
    servers:
      - http://127.0.0.1:8000
      - { url: http://127.0.0.2:8000, weight: 3, id: app-2 }
      - { url: http://127.0.0.3:8000, backup: true }
    health: { path: /healthz, interval: 2s, timeout: 1s, rise: 2, fall: 3 }
    passive: { maxFails: 5, ejectFor: 30s }
    retries: 2
    timeouts: { header: 1500ms }
    sticky: { cookie: SRV }
`,
    );
    const pool = parseDeployment(text, FILE).edges[0]!.origin!;
    expect(pool.policy).toBe('hash');
    expect(pool.servers.map((s) => [s.url, s.weight, s.backup, s.id.length])).toEqual([
      ['http://127.0.0.1:8000', 1, false, 12],
      ['http://127.0.0.2:8000', 3, false, 5],
      ['http://127.0.0.3:8000', 1, true, 12],
    ]);
    expect(pool.health).toEqual({ path: '/healthz', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3 });
    expect(pool.passive).toEqual({ maxFails: 5, ejectMs: 30_000 });
    expect([pool.retries, pool.sticky, pool.headerTimeoutMs]).toEqual([2, { cookie: 'SRV' }, 1500]);
    // Without `timeouts`: a few seconds (config/origin-pool.ts says why).
    expect(parseDeployment(deployment('    origin: http://127.0.0.1:8000'), FILE).edges[0]!.origin!.headerTimeoutMs).toBe(3000);
  });

  it('binds `listen` while DNS and health checks use the advertised addresses', () => {
    const d = parseDeployment(deployment('    listen: 0.0.0.0:8080'), FILE);
    expect(d.edges[0]!.listen).toEqual([{ host: '0.0.0.0', port: 8080 }]);
    expect(d.edges[0]!.addresses).toEqual(['127.0.0.11', '::1']);
    expect(edgeRoleFromDeployment(d, 'london', undefined).server.listen).toEqual([{ host: '0.0.0.0', port: 8080 }]);
    // Without `listen`: every address, so a dual-stack edge answers on both.
    const both = parseDeployment(deployment(''), FILE);
    expect(edgeRoleFromDeployment(both, 'london', undefined).server.listen).toEqual([
      { host: '127.0.0.11', port: 8080 },
      { host: '::1', port: 8080 },
    ]);
  });

  const bad: Array<[string, string, string, RegExp]> = [
    ['unknown policy', '    origin: { policy: random, servers: [http://127.0.0.1:8000] }', 'edges.london.origin.policy', /unknown origin policy "random".*round-robin, weighted, least-connections, hash, failover/],
    ['not a URL', '    origin: 127.0.0.1:8000', 'edges.london.origin', /is not a URL|origin servers are reached over http/],
    ['another scheme', '    origin: ftp://127.0.0.1:8443', 'edges.london.origin', /reached over http:\/\/ or https:\/\//],
    ['a path', '    origin: http://127.0.0.1:8000/app', 'edges.london.origin', /scheme, host and port only/],
    ['no servers', '    origin: { policy: failover }', 'edges.london.origin.servers', /is required/],
    ['twice', '    origin: [http://127.0.0.1:8000, http://127.0.0.1:8000]', 'edges.london.origin[1]', /listed twice/],
    ['only backups', '    origin: { servers: [{ url: http://127.0.0.1:8000, backup: true }] }', 'edges.london.origin.servers', /every server is a backup/],
    ['a bad id', '    origin: { servers: [{ url: http://127.0.0.1:8000, id: "a b" }] }', 'edges.london.origin.servers[0].id', /cannot be a server id/],
    ['a bad cookie', '    origin: { servers: [http://127.0.0.1:8000], sticky: { cookie: "a;b" } }', 'edges.london.origin.sticky.cookie', /not a cookie name/],
    ['a cookie pattern', '    origin: { servers: [http://127.0.0.1:8000], sticky: { cookie: "srv*" } }', 'edges.london.origin.sticky.cookie', /no \*/],
    ['a typo', '    origin: { servers: [http://127.0.0.1:8000], retry: 2 }', 'edges.london.origin.retry', /unknown key "retry"/],
    ['too many retries', '    origin: { servers: [http://127.0.0.1:8000], retries: 9 }', 'edges.london.origin.retries', /above the maximum 5/],
    ['a header timeout without a duration', '    origin: { servers: [http://127.0.0.1:8000], timeouts: { header: soon } }', 'edges.london.origin.timeouts.header', /soon/],
    ['a zero header timeout', '    origin: { servers: [http://127.0.0.1:8000], timeouts: { header: 0s } }', 'edges.london.origin.timeouts.header', /between 1ms and 10m/],
    ['zero weight', '    origin: { servers: [{ url: http://127.0.0.1:8000, weight: 0 }] }', 'edges.london.origin.servers[0].weight', /below the minimum/],
  ];
  for (const [what, line, key, reason] of bad) {
    it(`refuses ${what}, naming file, line and key`, () => {
      const e = errorOf(deployment(line));
      expect(e.position).toMatchObject({ file: FILE, line: 6, key });
      expect(e.reason).toMatch(reason);
    });
  }

  it('refuses a replica whose address another role already uses', () => {
    const e = errorOf(deployment('', '').replace('replicas: [127.0.0.2:8000]', 'replicas: [127.0.0.11:8080]'));
    expect(e.position.key).toBe('origin.replicas');
    expect(e.reason).toMatch(/duplicate address 127\.0\.0\.11:8080: already used by edge london/);
  });

  it('the shipped dnscdn.yaml puts every edge in front of a pool of two origin processes, and up starts both', () => {
    const d = loadDeployment(new URL('../../dnscdn.yaml', import.meta.url).pathname, { env: {} });
    for (const e of d.edges) expect(e.origin!.servers.map((s) => s.url)).toEqual(['http://127.0.0.1:8000', 'http://127.0.0.2:8000']);
    expect(d.origin!.replicas).toEqual([{ host: '127.0.0.2', port: 8000 }]);
    const origins = planProcesses(d).filter((p) => p.role === 'origin');
    expect(origins.map((p) => [p.label, p.args.slice(-2).join(' ')])).toEqual([
      ['origin', `--config ${d.file}`],
      ['origin 127.0.0.2:8000', '--replica 127.0.0.2:8000'],
    ]);
  });
});
