import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { ringFromDeployment } from '../../src/edge/setup.js';

/** Five edges, two sites and a shield; `extra` is appended at the top level, `edgeExtra` under edge e. */
function file(clusters: string, edgeExtra = '', tokens = true): string {
  const edges = ['a', 'b', 'c', 'd', 'e'].map((n, i) => `  ${n}:\n    addresses: [127.0.0.${21 + i}]\n    location: { lat: 0, lon: 0 }\n${n === 'e' ? edgeExtra : ''}`).join('');
  return `dns:\n  listen: [127.0.0.1:5353]\n  zones: zones/\nedges:\n${edges}${clusters}\norigin:\n  listen: 127.0.0.1:8000\n  content: content/\n${tokens ? 'admin:\n  tokens: ["a-long-token"]\n' : ''}`;
}

function errorOf(text: string): ConfigError {
  try {
    parseDeployment(text, '/etc/dnscdn/test.yaml', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('clusters and shields in the deployment file', () => {
  it('reads clusters, gives each edge its cluster and its (own or inherited) shield', () => {
    const d = parseDeployment(file('clusters:\n  europe:\n    edges: [a, b]\n    shield: asia\n  asia:\n    edges: [c, d]\n', '    shield: c\n'), '/x.yaml', { env: {} });
    expect(d.clusters).toEqual([
      { name: 'europe', edges: ['a', 'b'], shield: 'asia' },
      { name: 'asia', edges: ['c', 'd'] },
    ]);
    const byName = Object.fromEntries(d.edges.map((e) => [e.name, e]));
    expect([byName.a!.cluster, byName.a!.shield]).toEqual(['europe', 'asia']);
    expect([byName.c!.cluster, byName.c!.shield]).toEqual(['asia', undefined]);
    expect([byName.e!.cluster, byName.e!.shield]).toEqual([undefined, 'c']);
    const ring = ringFromDeployment(d, byName.a!, 'a-long-token')!;
    expect(ring.cluster!.map((p) => [p.name, p.url])).toEqual([['b', 'http://127.0.0.22:8080']]);
    expect(ring.shield!.map((p) => p.name)).toEqual(['c', 'd']);
    expect(ringFromDeployment(d, byName.c!, 'a-long-token')!.shield).toEqual([]);
  });

  it.each([
    ['an unknown edge', 'clusters:\n  eu:\n    edges: [a, zz]\n', '', /test\.yaml:22 \(clusters\.eu\.edges\[1\]\).*unknown edge "zz"/],
    ['an edge in two clusters', 'clusters:\n  eu:\n    edges: [a, b]\n  us:\n    edges: [b, c]\n', '', /clusters\.us\.edges\[0\].*already in cluster "eu"/],
    ['a cluster named like an edge', 'clusters:\n  a:\n    edges: [b]\n', '', /clusters\.a.*name of an edge/],
    ['an unknown shield', 'clusters:\n  eu:\n    edges: [a, b]\n    shield: mars\n', '', /test\.yaml:23 \(clusters\.eu\.shield\).*unknown shield "mars"/],
    ['its own cluster as shield', 'clusters:\n  eu:\n    edges: [a, b]\n    shield: eu\n', '', /clusters\.eu\.shield.*own shield/],
    ['a member of its own cluster as shield', 'clusters:\n  eu:\n    edges: [a, b]\n    shield: b\n', '', /clusters\.eu\.shield.*own cluster/],
    ['two clusters shielding each other', 'clusters:\n  eu:\n    edges: [a, b]\n    shield: us\n  us:\n    edges: [c, d]\n    shield: eu\n', '', /clusters\.eu\.shield.*shield loop: a -> c -> a/],
    ['a loop through an edge', 'clusters:\n  eu:\n    edges: [a, b]\n    shield: e\n', '    shield: eu\n', /clusters\.eu\.shield.*shield loop: a -> e -> a/],
  ])('refuses %s with file, line and key', (_what, clusters, edgeExtra, message) => {
    const err = errorOf(file(clusters, edgeExtra));
    expect(err.message).toContain('/etc/dnscdn/test.yaml');
    expect(err.message).toMatch(message);
  });

  it('refuses clusters without an admin token (peer requests are authenticated with it)', () => {
    expect(errorOf(file('clusters:\n  eu:\n    edges: [a, b]\n', '', false)).message).toMatch(/clusters.*need admin\.tokens/);
  });

  it('reads workers from the edge or edgeDefaults, 1 to 256', () => {
    const d = parseDeployment(file('', '    workers: 3\n'), '/x.yaml', { env: {} });
    expect(d.edges.find((e) => e.name === 'e')!.workers).toBe(3);
    expect(d.edges.find((e) => e.name === 'a')!.workers).toBeUndefined();
    expect(errorOf(file('', '    workers: 0\n')).message).toMatch(/edges\.e\.workers.*below the minimum 1/);
  });
});
