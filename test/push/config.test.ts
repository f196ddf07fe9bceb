import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDeployment, parseDeployment } from '../../src/config/load.js';
import { distributorSettingsFromConfig, edgePushSettingsFromConfig, originSettingsFromConfig } from '../../src/config/roles.js';
import { ConfigError } from '../../src/errors.js';

const SEPARATE = `dns:
  listen: [127.0.0.1:15353]
  zones: zones/
edges:
  a: { addresses: [127.0.0.11], port: 18081, location: { lat: 0, lon: 0 } }
  b: { addresses: [127.0.0.12], port: 18082, admin: 127.0.0.2:9999, location: { lat: 0, lon: 0 } }
origin:
  listen: 127.0.0.1:18000
  content: site/
  rules:
    - { match: "*.html", cacheControl: "public, max-age=60", surrogateKeys: [html] }
distribution:
  listen: 127.0.0.1:18100
  journal: state/journal
admin:
  tokens: ["\${TOKEN}"]
`;

describe('push roles from the deployment file', () => {
  it('the shipped dnscdn.yaml: the origin runs the distribution node and every edge catches up from its admin listener', () => {
    const d = loadDeployment('dnscdn.yaml', { env: { DNSCDN_ADMIN_TOKEN: 'from-env' } });
    const o = originSettingsFromConfig(d);
    expect(o).toMatchObject({ listen: '127.0.0.1:8000', adminListen: '127.0.0.1:9000', token: 'from-env', dataDir: join(process.cwd(), 'var/journal') });
    expect(o.distributor).toBeUndefined();
    // The distribution node feeds each edge on its admin listener, never on the public :8080.
    expect(o.edges).toContain('london=http://127.0.0.11:9080');
    expect(o.rules.find((r) => r.pattern === '/img/**')).toMatchObject({ surrogateKeys: ['images'] });
    expect(edgePushSettingsFromConfig(d, 'tokyo')).toEqual({ distributor: 'http://127.0.0.1:9000', stateDir: join(process.cwd(), 'var/edges/tokyo'), token: 'from-env' });
    expect(() => distributorSettingsFromConfig(d)).toThrow(ConfigError);
  });

  it('a separate distribution node: the origin publishes to it, it feeds the edges, the edges catch up from it, all on admin listeners', () => {
    const d = parseDeployment(SEPARATE, '/srv/cdn/dnscdn.yaml', { env: { TOKEN: 's3cret-token' } });
    expect(originSettingsFromConfig(d)).toMatchObject({ content: '/srv/cdn/site', adminListen: '127.0.0.1:19000', distributor: 'http://127.0.0.1:19100', token: 's3cret-token' });
    expect(distributorSettingsFromConfig(d)).toEqual({
      listen: '127.0.0.1:18100',
      adminListen: '127.0.0.1:19100',
      dataDir: '/srv/cdn/state/journal',
      token: 's3cret-token',
      edges: ['a=http://127.0.0.11:19081', 'b=http://127.0.0.2:9999'],
    });
    expect(edgePushSettingsFromConfig(d, 'b')).toEqual({ distributor: 'http://127.0.0.1:19100', stateDir: '/srv/cdn/state/edges/b', token: 's3cret-token' });
  });

  it('admin listeners default to loopback, public port + 1000; a public address moves it to 127.0.0.1', () => {
    const d = parseDeployment(SEPARATE.replace('127.0.0.11]', '192.0.2.11]').replace('listen: 127.0.0.1:18000', 'listen: 0.0.0.0:18000'), '/x.yaml', { env: { TOKEN: 's3cret-token' } });
    expect(d.edges[0]!.admin).toEqual({ host: '127.0.0.1', port: 19081 });
    expect(d.origin!.admin).toEqual({ host: '127.0.0.1', port: 19000 });
    expect(d.distribution!.admin).toEqual({ host: '127.0.0.1', port: 19100 });
  });

  it('refuses an admin address that clashes with another listener, naming the key and line', () => {
    let err: unknown;
    try {
      parseDeployment(SEPARATE.replace('admin: 127.0.0.2:9999', 'admin: 127.0.0.1:18000'), '/x.yaml', { env: { TOKEN: 's3cret-token' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(/x\.yaml:\d+.*127\.0\.0\.1:18000/);
  });

  it('refuses distribution.admin without distribution.listen, and a purgeAllow that is not a network', () => {
    expect(() => parseDeployment(SEPARATE.replace('  listen: 127.0.0.1:18100\n', '  admin: 127.0.0.1:18101\n'), '/x.yaml', { env: { TOKEN: 's3cret-token' } })).toThrow(/distribution\.admin.*needs distribution\.listen/);
    expect(() => parseDeployment(SEPARATE.replace('edges:\n', 'edgeDefaults:\n  purgeAllow: [10.0.0.0/33]\nedges:\n'), '/x.yaml', { env: { TOKEN: 's3cret-token' } })).toThrow(/edgeDefaults\.purgeAllow.*bad CIDR/);
  });

  it('without an admin token an edge is a plain pull cache', () => {
    const d = parseDeployment(SEPARATE.replace(/\nadmin:[\s\S]*$/, '\n'), '/srv/cdn/dnscdn.yaml');
    expect(edgePushSettingsFromConfig(d, 'a')).toBeUndefined();
    expect(() => edgePushSettingsFromConfig(d, 'nope')).toThrow(/no edge named "nope"/);
  });
});
