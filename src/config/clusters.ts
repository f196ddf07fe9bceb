/**
 * `clusters:` and the edges' `shield:` keys. A cluster is a named group of edges (one site or region) that share
 * their cache through a consistent-hash ring (src/edge/ring/); a shield is another edge or cluster that an edge
 * asks instead of the origin. Validated here, once, with file, line and key:
 * - every listed edge exists and belongs to one cluster at most; a cluster name is not also an edge name;
 * - a shield names an existing edge or cluster, not the edge itself nor its own cluster;
 * - following shields from an edge never comes back to it (a loop would send a miss round for ever; at run
 *   time the hop header refuses one with 508, but a file that describes one is refused first);
 * - peer fill is authenticated with the admin token, so clusters and shields need `admin.tokens`.
 */
import type { ConfigNode } from './reader.js';
import type { ClusterConfig, EdgeConfig } from './types.js';

export function readClusters(clustersNode: ConfigNode, edgesNode: ConfigNode, edges: readonly EdgeConfig[], hasToken: boolean): ClusterConfig[] {
  const byName = new Map(edges.map((e) => [e.name, e]));
  const clusters: ClusterConfig[] = [];
  const shieldNodes = new Map<string, ConfigNode>();
  if (clustersNode.present()) {
    for (const [name, c] of clustersNode.entries()) {
      if (byName.has(name)) throw c.error(`cluster "${name}" has the name of an edge (a shield names either, so they must differ)`);
      const f = c.fields(['edges', 'shield']);
      if (!f.edges.present()) throw f.edges.error('is required (the edges that share this cluster\'s ring)');
      const members: string[] = [];
      for (const item of f.edges.items()) {
        const edgeName = item.string();
        const edge = byName.get(edgeName);
        if (!edge) throw item.error(`unknown edge "${edgeName}" (edges: ${[...byName.keys()].join(', ') || 'none'})`);
        if (edge.cluster !== undefined) throw item.error(`edge "${edgeName}" is already in cluster "${edge.cluster}"`);
        edge.cluster = name;
        members.push(edgeName);
      }
      if (members.length === 0) throw f.edges.error('a cluster needs at least one edge');
      const cluster: ClusterConfig = { name, edges: members };
      if (f.shield.present()) {
        cluster.shield = f.shield.string();
        shieldNodes.set(`cluster ${name}`, f.shield);
      }
      clusters.push(cluster);
    }
  }
  const clusterByName = new Map(clusters.map((c) => [c.name, c]));
  if (edgesNode.present()) {
    for (const [name, e] of edgesNode.entries()) {
      const node = e.present() ? e.entries().get('shield') : undefined;
      if (node?.present()) shieldNodes.set(`edge ${name}`, node);
    }
  }
  // An edge's own shield wins over its cluster's. `source`: the key that gave each edge its shield (for errors).
  const source = new Map<string, ConfigNode>();
  for (const edge of edges) {
    const own = edge.shield;
    const inherited = edge.cluster === undefined ? undefined : clusterByName.get(edge.cluster)!.shield;
    const shield = own ?? inherited;
    if (shield === undefined) continue;
    const at = shieldNodes.get(own !== undefined ? `edge ${edge.name}` : `cluster ${edge.cluster!}`)!;
    if (!byName.has(shield) && !clusterByName.has(shield)) {
      throw at.error(`unknown shield "${shield}" (an edge or a cluster: ${[...byName.keys(), ...clusterByName.keys()].join(', ')})`);
    }
    if (shield === edge.name || shield === edge.cluster) throw at.error(`edge "${edge.name}" cannot be its own shield`);
    if (edge.cluster !== undefined && byName.get(shield)?.cluster === edge.cluster) throw at.error(`shield "${shield}" is in ${edge.name}'s own cluster "${edge.cluster}"`);
    edge.shield = shield;
    source.set(edge.name, at);
  }
  const membersOf = (target: string): string[] => clusterByName.get(target)?.edges ?? [target];
  for (const edge of edges) {
    const loop = shieldLoop(edge.name, (e) => {
      const s = byName.get(e)!.shield;
      return s === undefined ? [] : membersOf(s);
    });
    if (loop !== undefined) throw source.get(edge.name)!.error(`shield loop: ${loop.join(' -> ')}`);
  }
  if (!hasToken && (clusters.length > 0 || edges.some((e) => e.shield !== undefined))) {
    throw (clustersNode.present() ? clustersNode : [...shieldNodes.values()][0]!).error('clusters and shields need admin.tokens: edges authenticate peer requests with the admin token');
  }
  return clusters;
}

/** The path of a shield loop starting at `start`, or undefined (depth-first over "asks instead of the origin"). */
function shieldLoop(start: string, next: (edge: string) => string[]): string[] | undefined {
  const path: string[] = [start];
  const visit = (e: string, seen: Set<string>): string[] | undefined => {
    for (const n of next(e)) {
      if (n === start) return [...path, n];
      if (seen.has(n)) continue;
      seen.add(n);
      path.push(n);
      const found = visit(n, seen);
      if (found) return found;
      path.pop();
    }
    return undefined;
  };
  return visit(start, new Set([start]));
}
