/** `cache.policy` in the deployment file: read per edge and from edgeDefaults, and a bad name is refused with its key. */
import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../src/config/load.js';
import { edgeOptionsFromConfig } from '../../src/config/roles.js';
import { ConfigError } from '../../src/errors.js';

const deployment = (defaults: string, london: string): string => `dns:
  listen: [127.0.0.1:5353]
  zones: zones/
edgeDefaults:
  cache: { maxBytes: 64MB${defaults} }
edges:
  london:
    addresses: [127.0.0.11]
    location: { lat: 51.5, lon: -0.12 }
${london}  paris:
    addresses: [127.0.0.12]
    location: { lat: 48.9, lon: 2.35 }
origin:
  listen: 127.0.0.1:8000
  content: content/
`;

describe('cache.policy', () => {
  it('is taken from the edge, else from edgeDefaults, else left to the edge default', () => {
    const d = parseDeployment(deployment(', policy: s3-fifo', '    cache: { maxBytes: 32MB, policy: lru }\n'), '/etc/dnscdn/p.yaml', { env: {} });
    expect(d.edges.map((e) => e.cache.policy)).toEqual(['lru', 's3-fifo']);
    expect(edgeOptionsFromConfig(d, 'london').cachePolicy).toBe('lru');
    const plain = parseDeployment(deployment('', ''), '/etc/dnscdn/p.yaml', { env: {} });
    expect(plain.edges[0]!.cache.policy).toBeUndefined();
    expect(edgeOptionsFromConfig(plain, 'london').cachePolicy).toBeUndefined();
  });

  it('an unknown policy names the file, line, key and the valid names', () => {
    let err: unknown;
    try {
      parseDeployment(deployment('', '    cache: { policy: lfu }\n'), '/etc/dnscdn/p.yaml', { env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    expect(message).toContain('/etc/dnscdn/p.yaml:10');
    expect(message).toContain('edges.london.cache.policy');
    expect(message).toContain('unknown cache policy "lfu" (one of lru, w-tinylfu, s3-fifo)');
  });
});
