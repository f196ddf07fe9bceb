/**
 * The DNS servers bench:dns measures, each as a command line plus whatever config it needs written to
 * a temporary folder: dnscdn, the Node ceiling, dns2, and when installed Knot and NSD reading the same
 * (flattened) zone file. Each listens on its own loopback port.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { findCommand, freePort } from './proc.js';
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

/**
 * Every dnscdn server the benchmark starts turns response-rate limiting off: one load generator on one
 * address is exactly what RRL is for, and the bench measures answering, not limiting.
 */
export const RRL_OFF = ['--rrl-responses-per-second', '0'] as const;

/**
 * bench:dns measures one process on one core against single-core peers (`dnscdn dns` defaults to a worker
 * per core); bench:dns-workers measures the workers.
 */
export const ONE_PROCESS = ['--workers', '1'] as const;

export function dnscdnSpec(ctx: ServerContext, port: number, extra: readonly string[] = []): DnsServerSpec {
  return { name: 'dnscdn', argv: ['node', join(ctx.root, 'bin', 'dnscdn.js'), 'dns', '--zones', ctx.zonesDir, '--listen', `${ctx.host}:${port}`, ...RRL_OFF, ...ONE_PROCESS, ...extra], repin: false };
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

/** dnscdn as a caching resolver: no zones of its own, cdn.test forwarded to an authoritative server. */
export function dnscdnResolverSpec(ctx: ServerContext, port: number, authority: string): DnsServerSpec {
  const emptyZones = join(ctx.tmp, 'no-zones');
  mkdirSync(emptyZones, { recursive: true });
  const hints = join(ctx.root, 'test', 'fixtures', 'resolver', 'named.root');
  return {
    name: 'dnscdn',
    argv: ['node', join(ctx.root, 'bin', 'dnscdn.js'), 'dns', '--zones', emptyZones, '--listen', `${ctx.host}:${port}`, '--root-hints', hints, '--forward', `${ctx.zone}=${authority}`, ...RRL_OFF, ...ONE_PROCESS],
    repin: false,
  };
}

/** Unbound with one thread, iterator only (no DNSSEC validation), cdn.test forwarded like dnscdn's. */
export function unboundSpec(ctx: ServerContext, port: number, authority: { host: string; port: number }): DnsServerSpec | undefined {
  const unbound = findCommand('unbound');
  if (unbound === undefined) return undefined;
  const dir = join(ctx.tmp, 'unbound');
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    [
      'server:',
      `    interface: ${ctx.host}`,
      `    port: ${port}`,
      '    num-threads: 1',
      '    so-reuseport: no',
      '    do-ip6: no',
      '    username: ""',
      '    chroot: ""',
      `    directory: "${dir}"`,
      `    pidfile: "${dir}/unbound.pid"`,
      '    use-syslog: no',
      '    verbosity: 0',
      '    access-control: 127.0.0.0/8 allow',
      '    do-not-query-localhost: no',
      '    module-config: "iterator"',
      // RFC 6761 names: Unbound answers test. itself unless told not to.
      '    local-zone: "test." nodefault',
      '    msg-cache-size: 64m',
      '    rrset-cache-size: 64m',
      'forward-zone:',
      `    name: "${ctx.zone}"`,
      `    forward-addr: ${authority.host}@${authority.port}`,
      '',
    ].join('\n'),
  );
  return { name: 'unbound', argv: [unbound, '-d', '-c', conf], repin: true };
}

/** A deployment file for the steering case: the demo zone, five edges around the world, www.cdn.test geo-nearest. */
export function steeringConfig(ctx: ServerContext, dnsPort: number, healthPort: number): string {
  const file = join(ctx.tmp, 'steering.yaml');
  writeFileSync(
    file,
    `dns:
  listen: [${ctx.host}:${dnsPort}]
  zones: ${ctx.zonesDir}
edgeDefaults:
  port: ${healthPort}
  health: { path: /healthz, interval: 1s, timeout: 500ms, rise: 1, fall: 3 }
edges:
  london: { addresses: [127.0.0.11], location: { lat: 51.507, lon: -0.128 } }
  tokyo: { addresses: [127.0.0.12], location: { lat: 35.690, lon: 139.692 } }
  newyork: { addresses: [127.0.0.13], location: { lat: 40.713, lon: -74.006 } }
  saopaulo: { addresses: [127.0.0.14], location: { lat: -23.551, lon: -46.633 } }
  sydney: { addresses: [127.0.0.15], location: { lat: -33.869, lon: 151.209 } }
pools:
  www.cdn.test: { policy: geo-nearest, edges: [london, tokyo, newyork, saopaulo, sydney], ttl: 20, answers: 1 }
geo:
  databases: [dbip-city-lite]
`,
  );
  return file;
}

export const STEERING_EDGE_ADDRESSES = ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15'] as const;

export function dnscdnSteeredSpec(ctx: ServerContext, port: number, config: string): DnsServerSpec {
  return { name: 'dnscdn', argv: ['node', join(ctx.root, 'bin', 'dnscdn.js'), 'dns', '--config', config, '--listen', `${ctx.host}:${port}`, ...RRL_OFF, ...ONE_PROCESS], repin: false };
}

/** The edges' health checks in the steering cases: every edge address answers GET /healthz with 200. */
export async function startHealthEndpoints(): Promise<{ port: number; close: () => Promise<void> }> {
  const port = await freePort(STEERING_EDGE_ADDRESSES[0]);
  const servers = await Promise.all(
    STEERING_EDGE_ADDRESSES.map(
      (address) =>
        new Promise<HttpServer>((resolve, reject) => {
          const server = createHttpServer((_req, res) => res.end('ok'));
          server.once('error', reject);
          server.listen(port, address, () => resolve(server));
        }),
    ),
  );
  return { port, close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined) };
}
