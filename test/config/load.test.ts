import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeployment, loadDeployment } from '../../src/config/load.js';
import { ReloadableDeployment } from '../../src/config/reload.js';
import { ConfigError } from '../../src/errors.js';

const GOOD = `dns:
  listen: [127.0.0.1:5353, "[::1]:5353"]
  zones: zones/
  recursion:
    allow: [127.0.0.0/8, "::1/128"]
    rootHints: root.hints
    forwarders:
      example.org.: [192.0.2.53]
edgeDefaults:
  port: 8080
  health: { interval: 500ms, timeout: 200ms, rise: 2, fall: 3 }
  cache: { maxBytes: 64MB }
edges:
  london:
    addresses: [127.0.0.11, "::11"]
    location: { lat: 51.5, lon: -0.12 }
  tokyo:
    addresses: 127.0.0.12
    location: { lat: 35.68, lon: 139.69 }
    weight: 3
    cache: { maxBytes: 1GiB, maxObjectBytes: 8MB }
pools:
  www.cdn.test:
    policy: geo-nearest
    edges: [london, tokyo]
    ttl: 10
    answers: 1
geo:
  networks:
    - { cidr: 10.0.0.0/8, location: { lat: 40.7, lon: -74.0 } }
    - { cidr: 192.168.0.0/16, edge: tokyo }
origin:
  listen: 127.0.0.1:8000
  content: content/
  rules:
    - { match: "*.css", cacheControl: "public, max-age=3600", surrogateKeys: [css] }
admin:
  tokens: ["\${TEST_TOKEN:-local-demo-token}"]
`;

function errorOf(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseDeployment(text, '/etc/dnscdn/test.yaml', { env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('config was accepted');
}

describe('deployment config', () => {
  it('reads a complete deployment into typed values', () => {
    const d = parseDeployment(GOOD, '/etc/dnscdn/test.yaml', { env: {} });
    expect(d.dns.listen).toEqual([{ host: '127.0.0.1', port: 5353 }, { host: '::1', port: 5353 }]);
    expect(d.dns.zones).toBe('/etc/dnscdn/zones');
    expect(d.dns.recursion?.allowText).toEqual(['127.0.0.0/8', '::1/128']);
    expect(d.dns.recursion?.forwarders).toEqual([{ zone: 'example.org', servers: [{ host: '192.0.2.53', port: 53 }] }]);
    const [london, tokyo] = d.edges;
    expect(london).toMatchObject({ name: 'london', addresses: ['127.0.0.11', '::11'], port: 8080, weight: 1, cache: { maxBytes: 64e6 } });
    expect(london!.health).toEqual({ path: '/healthz', intervalMs: 500, timeoutMs: 200, rise: 2, fall: 3 });
    expect(tokyo).toMatchObject({ addresses: ['127.0.0.12'], weight: 3, cache: { maxBytes: 1024 ** 3, maxObjectBytes: 8e6 } });
    expect(d.pools).toEqual([{ name: 'www.cdn.test', policy: 'geo-nearest', edges: ['london', 'tokyo'], ttl: 10, answers: 1 }]);
    expect(d.geo.networks.map((n) => [n.text, n.edge ?? n.location])).toEqual([
      ['10.0.0.0/8', { lat: 40.7, lon: -74.0 }],
      ['192.168.0.0/16', 'tokyo'],
    ]);
    expect(d.geo.databases.length).toBe(2);
    expect(london!.admin).toEqual({ host: '127.0.0.11', port: 9080 });
    expect(d.origin).toEqual({
      listen: { host: '127.0.0.1', port: 8000 },
      replicas: [],
      admin: { host: '127.0.0.1', port: 9000 },
      content: '/etc/dnscdn/content',
      rules: [{ pattern: '*.css', cacheControl: 'public, max-age=3600', surrogateKeys: ['css'] }],
    });
    expect(d.adminTokens).toEqual(['local-demo-token']);
    expect(parseDeployment(GOOD, '/x.yaml', { env: { TEST_TOKEN: 'from-the-environment' } }).adminTokens).toEqual(['from-the-environment']);
  });

  // Each bad input: the text to replace, its replacement, the key path the error must name, and the reason.
  // The line it must name is the (last) line of the replacement.
  const cases: Array<[string, string, string, string | undefined, RegExp]> = [
    ['unknown edge in a pool', 'edges: [london, tokyo]', 'edges: [london, paris]', 'pools.www.cdn.test.edges[1]', /unknown edge "paris"/],
    ['bad CIDR', 'cidr: 10.0.0.0/8', 'cidr: 10.0.0.0/33', 'geo.networks[0].cidr', /bad CIDR.*0-32/],
    ['CIDR with host bits', 'cidr: 10.0.0.0/8', 'cidr: 10.1.0.0/8', 'geo.networks[0].cidr', /bits set past \/8/],
    ['latitude out of range', 'lat: 51.5', 'lat: 151.5', 'edges.london.location.lat', /above the maximum 90/],
    ['longitude out of range', 'lon: 139.69', 'lon: -200', 'edges.tokyo.location.lon', /below the minimum -180/],
    ['duplicate address', 'addresses: 127.0.0.12', 'addresses: 127.0.0.11', 'edges.tokyo.addresses', /duplicate address 127\.0\.0\.11:8080: already used by edge london/],
    ['a wildcard address on an edge\'s port', '  listen: 127.0.0.1:8000', '  listen: 0.0.0.0:8080', 'origin.listen', /address 0\.0\.0\.0:8080 clashes with 127\.0\.0\.11:8080 of edge london: a wildcard address takes the port on every address/],
    ['an IPv6 wildcard (dual-stack) on an IPv4 edge\'s port', '  listen: 127.0.0.1:8000', '  listen: "[::]:8080"', 'origin.listen', /address \[::\]:8080 clashes with 127\.0\.0\.11:8080 of edge london/],
    ['unknown key', '    ttl: 10', '    tll: 10', 'pools.www.cdn.test.tll', /unknown key "tll"/],
    ['unknown policy', 'policy: geo-nearest', 'policy: nearest', 'pools.www.cdn.test.policy', /unknown policy "nearest"/],
    ['bad address', 'addresses: [127.0.0.11, "::11"]', 'addresses: [127.0.0.300]', 'edges.london.addresses[0]', /not an IPv4 or IPv6 address/],
    ['bad duration', 'interval: 500ms', 'interval: soon', 'edgeDefaults.health.interval', /not a duration/],
    ['answers beyond the pool', 'answers: 1', 'answers: 3', 'pools.www.cdn.test.answers', /only 2 edges/],
    ['network pinned to an unknown edge', 'edge: tokyo }', 'edge: osaka }', 'geo.networks[1].edge', /unknown edge "osaka"/],
    ['unset environment variable', '${TEST_TOKEN:-local-demo-token}', '${NO_SUCH_TOKEN_VAR}', 'admin.tokens[0]', /NO_SUCH_TOKEN_VAR is not set/],
    ['duplicate YAML key', 'zones: zones/', 'zones: zones/\n  zones: again', undefined, /YAML/],
  ];
  it.each(cases)('refuses %s, naming the key and line', (_what, from, to, key, reason) => {
    expect(GOOD.includes(from)).toBe(true);
    const text = GOOD.replace(from, to);
    const line = text.slice(0, text.indexOf(to) + to.length).split('\n').length;
    const err = errorOf(text);
    expect(err.position.file).toBe('/etc/dnscdn/test.yaml');
    if (key !== undefined) expect(err.position.key).toBe(key);
    expect(err.position.line).toBe(line);
    expect(err.reason).toMatch(reason);
    expect(err.message).toContain(`/etc/dnscdn/test.yaml:${line}`);
  });

  it('refuses a specific address on the port of a wildcard listener, and accepts the other family or port', () => {
    const wildcardDns = GOOD.replace('listen: [127.0.0.1:5353, "[::1]:5353"]', 'listen: [0.0.0.0:5353]');
    const clash = errorOf(wildcardDns.replace('  listen: 127.0.0.1:8000', '  listen: 127.0.0.40:5353'));
    expect(clash.position.key).toBe('origin.listen');
    expect(clash.message).toMatch(/^\/etc\/dnscdn\/test\.yaml:\d+ \(origin\.listen\): address 127\.0\.0\.40:5353 clashes with 0\.0\.0\.0:5353 of dns/);
    // 0.0.0.0 takes only IPv4 addresses; another port is another socket.
    expect(parseDeployment(wildcardDns.replace('  listen: 127.0.0.1:8000', '  listen: "[::1]:5353"'), '/x.yaml', { env: {} }).origin?.listen).toEqual({ host: '::1', port: 5353 });
    expect(parseDeployment(wildcardDns.replace('  listen: 127.0.0.1:8000', '  listen: 127.0.0.40:5354'), '/x.yaml', { env: {} }).origin?.listen.port).toBe(5354);
  });

  it('refuses a missing dns section and an empty document', () => {
    expect(errorOf('edges: {}\n').message).toMatch(/\(dns\): is required/);
    expect(errorOf('').reason).toMatch(/expected a mapping/);
  });

  it('keeps the last good deployment when a reload finds errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnscdn-config-'));
    const file = join(dir, 'dnscdn.yaml');
    writeFileSync(file, GOOD);
    const source = new ReloadableDeployment(file, { env: {} });
    const seen: number[] = [];
    source.onChange((d) => seen.push(d.pools[0]!.ttl));
    writeFileSync(file, GOOD.replace('ttl: 10', 'ttl: 5'));
    expect(source.reload().ok).toBe(true);
    writeFileSync(file, GOOD.replace('lat: 51.5', 'lat: 99'));
    const bad = source.reload();
    expect(bad.ok).toBe(false);
    expect(source.current().pools[0]!.ttl).toBe(5);
    expect(seen).toEqual([5]);
  });

  it('loads the shipped dnscdn.yaml', () => {
    const d = loadDeployment(new URL('../../dnscdn.yaml', import.meta.url).pathname, { env: {} });
    expect(d.edges.length).toBeGreaterThanOrEqual(4);
    expect(d.pools.find((p) => p.name === 'www.cdn.test')?.policy).toBe('geo-nearest');
    expect(d.edges[0]!.accessLog).toEqual({ to: { path: new URL(`../../var/log/${d.edges[0]!.name}.access.log`, import.meta.url).pathname }, format: 'combined' });
  });
});

describe('edge cache.ignoreCookies', () => {
  const withCookies = GOOD.replace('cache: { maxBytes: 64MB }', 'cache: { maxBytes: 64MB, ignoreCookies: [_ga*, _gid] }');

  it('is read from edgeDefaults and inherited, and reaches the edge options', async () => {
    const { edgeRoleFromDeployment } = await import('../../src/edge/setup.js');
    const d = parseDeployment(withCookies, '/etc/dnscdn/test.yaml', { env: {} });
    expect(d.edges[0]!.cache.ignoreCookies).toEqual(['_ga*', '_gid']);
    expect(edgeRoleFromDeployment(d, 'london').server.ignoreCookies).toEqual(['_ga*', '_gid']);
    expect(parseDeployment(GOOD, '/x.yaml', { env: {} }).edges[0]!.cache.ignoreCookies).toBeUndefined();
  });

  it('refuses a pattern that is not a cookie name, naming the key and line', () => {
    const err = errorOf(withCookies.replace('[_ga*, _gid]', '[_ga*, "session id"]'));
    expect(err.position.key).toBe('edgeDefaults.cache.ignoreCookies[1]');
    expect(err.position.line).toBe(12);
    expect(err.reason).toMatch(/cookie name/);
    expect(errorOf(withCookies.replace('[_ga*, _gid]', '["*"]')).reason).toMatch(/besides "\*"/);
  });
});

describe('edge cache.expectedObjectBytes', () => {
  const withSize = (size: string): string => GOOD.replace('cache: { maxBytes: 64MB }', `cache: { maxBytes: 64MB, expectedObjectBytes: ${size} }`);

  it('is a size, inherited from edgeDefaults, and reaches the edge options', async () => {
    const { edgeRoleFromDeployment } = await import('../../src/edge/setup.js');
    const d = parseDeployment(withSize('16KiB'), '/etc/dnscdn/test.yaml', { env: {} });
    expect(d.edges[0]!.cache.expectedObjectBytes).toBe(16_384);
    expect(edgeRoleFromDeployment(d, 'london').server.expectedObjectBytes).toBe(16_384);
  });

  it('refuses a size that is not one, or zero, naming the key', () => {
    expect(errorOf(withSize('lots')).position.key).toBe('edgeDefaults.cache.expectedObjectBytes');
    expect(errorOf(withSize('0')).reason).toMatch(/must be positive/);
  });
});
