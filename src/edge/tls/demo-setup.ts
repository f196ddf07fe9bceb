/**
 * The demo deployment's certificates (`tls.demoCa`): which names they carry, and making them before the edges
 * start. `dnscdn up` makes them once before it starts any edge (five edge processes must not race to create five
 * CAs); an edge started alone (`dnscdn edge --config`) makes them itself if they are missing.
 */
import type { Deployment } from '../../config/types.js';
import { ensureDemoCertificates, type DemoCertificates } from './demo-ca.js';

/**
 * The CDN's names: every pool name, a wildcard one label above each (`www.cdn.test` -> `*.cdn.test`, so
 * `london.cdn.test` and the like are covered), and every edge address as an IP entry (`curl https://127.0.0.11:8443/`).
 */
export function demoCertificateNames(d: Deployment): string[] {
  const names = new Set<string>();
  for (const p of d.pools) {
    names.add(p.name);
    const dot = p.name.indexOf('.');
    if (dot > 0 && p.name.indexOf('.', dot + 1) > 0) names.add(`*${p.name.slice(dot)}`);
  }
  for (const e of d.edges) for (const a of e.addresses) names.add(a);
  if (names.size === 0) names.add('localhost');
  return [...names];
}

/** The demo CA folder the deployment's edges use, if any (the first edge that names one). */
export function demoCaDir(d: Deployment): string | undefined {
  return d.edges.find((e) => e.tls?.demoCa !== undefined)?.tls?.demoCa;
}

/** Makes (or keeps) the demo CA and certificate when the deployment asks for one. */
export async function prepareDemoCertificates(d: Deployment): Promise<DemoCertificates | undefined> {
  const dir = demoCaDir(d);
  return dir === undefined ? undefined : ensureDemoCertificates(dir, demoCertificateNames(d));
}
