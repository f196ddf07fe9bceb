import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDeployment, parseDeployment } from '../../src/config/load.js';
import { distributorRoleFromDeployment } from '../../src/distribution/setup.js';
import { edgeRoleFromDeployment } from '../../src/edge/setup.js';
import { originRoleFromDeployment } from '../../src/origin/setup.js';
import { ConfigError } from '../../src/errors.js';

const SEPARATE = `dns:
  listen: [127.0.0.1:15353]
  zones: zones/
edges:
  a: { addresses: [127.0.0.11], port: 18081, location: { lat: 0, lon: 0 } }
  b: { addresses: [127.0.0.12], port: 18082, location: { lat: 0, lon: 0 } }
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
  it('the shipped dnscdn.yaml: the origin runs the distribution node and every edge catches up from it', () => {
    const d = loadDeployment('dnscdn.yaml', { env: { DNSCDN_ADMIN_TOKEN: 'from-env' } });
    const o = originRoleFromDeployment(d);
    expect(o).toMatchObject({ listen: { host: '127.0.0.1', port: 8000 }, token: 'from-env', dataDir: join(process.cwd(), 'var/journal') });
    expect(o.distributor).toBeUndefined();
    expect(o.edges).toContainEqual({ name: 'london', url: 'http://127.0.0.11:8080' });
    expect(o.rules.find((r) => r.pattern === '/img/**')).toMatchObject({ surrogateKeys: ['images'] });
    expect(edgeRoleFromDeployment(d, 'tokyo').push).toEqual({ distributor: 'http://127.0.0.1:8000', stateDir: join(process.cwd(), 'var/edges/tokyo'), token: 'from-env' });
    expect(() => distributorRoleFromDeployment(d)).toThrow(ConfigError);
  });

  it('a separate distribution node: the origin publishes to it, it feeds the edges, the edges catch up from it', () => {
    const d = parseDeployment(SEPARATE, '/srv/cdn/dnscdn.yaml', { env: { TOKEN: 's3cret-token' } });
    expect(originRoleFromDeployment(d)).toMatchObject({ content: '/srv/cdn/site', distributor: 'http://127.0.0.1:18100', token: 's3cret-token' });
    expect(distributorRoleFromDeployment(d)).toEqual({
      listen: { host: '127.0.0.1', port: 18100 },
      dataDir: '/srv/cdn/state/journal',
      token: 's3cret-token',
      edges: [
        { name: 'a', url: 'http://127.0.0.11:18081' },
        { name: 'b', url: 'http://127.0.0.12:18082' },
      ],
      compactAfter: 10_000,
    });
    expect(edgeRoleFromDeployment(d, 'b').push).toEqual({ distributor: 'http://127.0.0.1:18100', stateDir: '/srv/cdn/state/edges/b', token: 's3cret-token' });
  });

  it('without an admin token an edge is a plain pull cache', () => {
    const d = parseDeployment(SEPARATE.replace(/admin:[\s\S]*$/, ''), '/srv/cdn/dnscdn.yaml');
    expect(edgeRoleFromDeployment(d, 'a').push).toBeUndefined();
    expect(() => edgeRoleFromDeployment(d, 'nope')).toThrow(/no edge named "nope"/);
  });
});
