/**
 * The DNS servers bench:dns measures, each as a command line plus whatever config it needs written to
 * a temporary folder: dnscdn, the Node ceiling, dns2, and when installed Knot and NSD reading the same
 * (flattened) zone file. Each listens on its own loopback port.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCommand } from './proc.js';
import { flattenZone } from './zone-file.js';

export interface DnsServerSpec {
  name: string;
  argv: string[];
  /** Knot re-pins its worker threads after start; re-pin the whole tree once it answers. */
  repin: boolean;
}

export interface ServerContext {
  root: string;
  zonesDir: string;
  zone: string;
  host: string;
  tmp: string;
}

export function dnscdnSpec(ctx: ServerContext, port: number, extra: readonly string[] = []): DnsServerSpec {
  return { name: 'dnscdn', argv: ['node', join(ctx.root, 'bin', 'dnscdn.js'), 'dns', '--zones', ctx.zonesDir, '--listen', `${ctx.host}:${port}`, ...extra], repin: false };
}

export function ceilingSpec(ctx: ServerContext, port: number, primePort: number): DnsServerSpec {
  return { name: 'node ceiling', argv: ['node', join(ctx.root, 'dist-bench', 'bench', 'dns-ceiling.js'), '--listen', `${ctx.host}:${port}`, '--prime', `${ctx.host}:${primePort}`], repin: false };
}

export function dns2Spec(ctx: ServerContext, port: number): DnsServerSpec {
  return { name: 'dns2', argv: ['node', join(ctx.root, 'dist-bench', 'bench', 'dns2-server.js'), '--zones', ctx.zonesDir, '--zone', ctx.zone, '--listen', `${ctx.host}:${port}`], repin: false };
}

function flatZoneFile(ctx: ServerContext, dir: string): string {
  const file = join(dir, `${ctx.zone}.zone`);
  writeFileSync(file, flattenZone(ctx.zonesDir, `${ctx.zone}.zone`));
  return file;
}

/** Knot DNS with one UDP and one TCP worker (one core), zone loaded whole from the file, no journal. */
export function knotSpec(ctx: ServerContext, port: number): DnsServerSpec | undefined {
  const knotd = findCommand('knotd');
  if (knotd === undefined) return undefined;
  const dir = join(ctx.tmp, 'knot');
  mkdirSync(dir, { recursive: true });
  const zoneFile = flatZoneFile(ctx, dir);
  const conf = join(dir, 'knot.conf');
  writeFileSync(
    conf,
    [
      'server:',
      `    rundir: "${dir}"`,
      `    listen: ${ctx.host}@${port}`,
      '    udp-workers: 1',
      '    tcp-workers: 1',
      '    background-workers: 1',
      'log:',
      '  - target: stderr',
      '    any: warning',
      'database:',
      `    storage: "${dir}"`,
      'template:',
      '  - id: default',
      `    storage: "${dir}"`,
      '    zonefile-sync: -1',
      '    zonefile-load: whole',
      '    journal-content: none',
      'zone:',
      `  - domain: ${ctx.zone}`,
      `    file: "${zoneFile}"`,
      '',
    ].join('\n'),
  );
  return { name: 'knot', argv: [knotd, '-c', conf], repin: true };
}

/** NSD with one server process; response-rate limiting off (its default drops most benchmark queries). */
export function nsdSpec(ctx: ServerContext, port: number): DnsServerSpec | undefined {
  const nsd = findCommand('nsd');
  if (nsd === undefined) return undefined;
  const dir = join(ctx.tmp, 'nsd');
  mkdirSync(dir, { recursive: true });
  flatZoneFile(ctx, dir);
  const conf = join(dir, 'nsd.conf');
  writeFileSync(
    conf,
    [
      'server:',
      `    ip-address: ${ctx.host}@${port}`,
      '    server-count: 1',
      '    username: ""',
      '    chroot: ""',
      `    zonesdir: "${dir}"`,
      `    pidfile: "${dir}/nsd.pid"`,
      `    xfrdfile: "${dir}/xfrd.state"`,
      `    zonelistfile: "${dir}/zone.list"`,
      '    database: ""',
      `    logfile: "${dir}/nsd.log"`,
      '    verbosity: 0',
      '    rrl-ratelimit: 0',
      'remote-control:',
      '    control-enable: no',
      'zone:',
      `    name: ${ctx.zone}`,
      `    zonefile: ${ctx.zone}.zone`,
      '',
    ].join('\n'),
  );
  return { name: 'nsd', argv: [nsd, '-d', '-c', conf], repin: true };
}
