/**
 * What `dnscdn up` runs for a deployment: one child process per role, each started with that role's
 * own command, so a single edge can be killed (and failover watched) like a real site going dark.
 */
import { formatHostPort } from '../net/address.js';
import { join, relative } from 'node:path';
import { adminScheme, edgeAdminUrl, edgeHttpsListeners, edgeListeners } from '../config/reach.js';
import type { Deployment } from '../config/types.js';

export interface RoleProcess {
  /** Unique label: `dns`, `origin`, `distributor`, `edge london`. */
  label: string;
  role: 'dns' | 'origin' | 'distributor' | 'edge';
  /** Arguments after `dnscdn`. */
  args: string[];
  /**
   * Started once every role of the earlier waves is ready: origin and distributor (0), then the edges (1),
   * which catch up from the distribution node at start, then DNS (2), whose first health probes must find the
   * edges listening (an edge probed before it listens counts as failing and, after `fall` probes, leaves the
   * answers until `rise` good ones). Costs the start-up time of one role per wave, about 0.5-1.5 s here.
   */
  wave: 0 | 1 | 2;
  /** What listens where, for the table. */
  listens: string[];
}

export function planProcesses(d: Deployment): RoleProcess[] {
  const file = d.file;
  const out: RoleProcess[] = [];
  const dnsListens = d.dns.listen.map((hp) => `${formatHostPort(hp)} udp+tcp`);
  if (d.dns.admin) dnsListens.push(`${adminScheme(d)}://${formatHostPort(d.dns.admin)}/metrics`);
  out.push({ label: 'dns', role: 'dns', args: ['dns', '--config', file], wave: 2, listens: dnsListens });
  // More name servers for the same zones and pools (dns.instances: ns2, ...), each probing the edges itself.
  for (const i of d.dns.instances) {
    const listens = i.listen.map((hp) => `${formatHostPort(hp)} udp+tcp`);
    if (i.admin) listens.push(`${adminScheme(d)}://${formatHostPort(i.admin)}/metrics`);
    out.push({ label: `dns ${i.name}`, role: 'dns', args: ['dns', '--config', file, '--name', i.name], wave: 2, listens });
  }
  if (d.origin) {
    if (d.distribution?.listen) {
      const at = d.distribution.listen;
      const admin = d.distribution.admin ? [`${adminScheme(d)}://${formatHostPort(d.distribution.admin)}/metrics`] : [];
      out.push({ label: 'distributor', role: 'distributor', args: ['distributor', '--config', file], wave: 0, listens: [`http://${formatHostPort(at)}`, ...admin] });
    }
    out.push({ label: 'origin', role: 'origin', args: ['origin', '--config', file], wave: 0, listens: [`http://${formatHostPort(d.origin.listen)}`, `${adminScheme(d)}://${formatHostPort(d.origin.admin)}/metrics`] });
    // Content-only replicas: the edges' pools spread over them and the origin, and survive either dying.
    for (const r of d.origin.replicas) {
      const at = formatHostPort(r);
      out.push({ label: `origin ${at}`, role: 'origin', args: ['origin', '--config', file, '--replica', at], wave: 0, listens: [`http://${at}`] });
    }
  }
  for (const e of d.edges) {
    out.push({
      label: `edge ${e.name}`,
      role: 'edge',
      args: ['edge', '--config', file, '--name', e.name],
      wave: 1,
      listens: [
        ...edgeListeners(e).map((hp) => `http://${formatHostPort(hp)}`),
        ...(e.tls ? edgeHttpsListeners(e).map((hp) => `https://${formatHostPort(hp)}`) : []),
        ...(e.admin ? [`${edgeAdminUrl(e, d)}/metrics`] : []),
      ],
    });
  }
  return out;
}

/** Distance-free hints for the walkthrough: a London and a Tokyo address (DB-IP places them there). */
const TRY_SUBNETS: Array<[string, string]> = [
  ['London', '81.2.69.0/24'],
  ['Tokyo', '133.242.0.0/24'],
];

/** The table of what listens where, plus the dig and curl lines to try. */
/** `listening` is what each child reported it bound (real ports); the plan's own list stands in until then. */
export function formatBanner(d: Deployment, rows: Array<{ process: RoleProcess; pid: number | undefined; listening?: string[] | undefined }>): string {
  const lines: string[] = [];
  const width = Math.max(...rows.map((r) => r.process.label.length), 7);
  lines.push(`${'process'.padEnd(width)}  ${'pid'.padEnd(7)}  listens`);
  for (const { process: p, pid, listening } of rows) lines.push(`${p.label.padEnd(width)}  ${String(pid ?? '-').padEnd(7)}  ${(listening ?? p.listens).join('  ')}`);
  const dns = d.dns.listen[0]!;
  const pool = d.pools[0];
  lines.push('');
  if (pool) {
    lines.push('try:');
    for (const [where, subnet] of TRY_SUBNETS) {
      lines.push(`  dig @${dns.host} -p ${dns.port} ${pool.name} +subnet=${subnet}     # a client in ${where}`);
    }
    const edge = d.edges.find((e) => pool.edges.includes(e.name));
    if (edge) {
      lines.push(`  curl -si --resolve ${pool.name}:${edge.port}:${edge.addresses[0]} http://${pool.name}:${edge.port}/ | grep -i x-cache     # twice: MISS, then HIT`);
      if (edge.tls) {
        const ca = edge.tls.demoCa === undefined ? '' : ` --cacert ${relative(process.cwd(), join(edge.tls.demoCa, 'ca.pem'))}`;
        lines.push(`  curl${ca} --http2 -sI --resolve ${pool.name}:${edge.tls.port}:${edge.addresses[0]} https://${pool.name}:${edge.tls.port}/     # HTTPS and HTTP/2`);
      }
    }
    lines.push(`  kill <pid of the edge that answered>     # within interval x fall the answer moves to the next nearest edge`);
  }
  const adminEdge = d.edges.find((e) => e.admin !== undefined);
  if (adminEdge) {
    if (!pool) lines.push('try:');
    lines.push(`  curl -s ${edgeAdminUrl(adminEdge, d)}/metrics | grep hits_total     # metrics and /.dnscdn/ APIs: admin listeners only, not :${adminEdge.port}`);
  }
  if (d.dns.admin) {
    lines.push('');
    lines.push(`dashboard: ${adminScheme(d)}://${formatHostPort(d.dns.admin)}/dashboard     # the edges on a map, live (Server-Sent Events)`);
  }
  return `${lines.join('\n')}\n`;
}
