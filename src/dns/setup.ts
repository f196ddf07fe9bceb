/**
 * The DNS role's one options object, and how it is built: from the deployment file's `dns` section
 * (`dnsOptionsFromDeployment`), from the defaults when there is no file, and with the flags of
 * `dnscdn dns` laid over either, key by key (`withOverrides`; the flags are read in command.ts).
 * Every flag has a key, so a file and a command line can say the same things:
 *
 *   flag                    key in the file
 *   --listen                dns.listen
 *   --zones                 dns.zones
 *   --udp-size              dns.udpSize
 *   --metrics-listen        dns.admin
 *   --allow-transfer        dns.transfer.allow
 *   --notify                dns.transfer.notify
 *   --tsig-key              dns.transfer.tsigKeys
 *   --query-log-sample      dns.queryLogSample
 *   --workers               dns.workers       (workers/: 1 = one process, no cluster)
 *   --worker-liveness-*     dns.workerLiveness.{interval,misses} (src/cluster/liveness.ts; interval 0 = off)
 *   --name                  dns.instances.<name>: that instance's listen and admin (ns2 from the same file)
 *   --root-hints, ...       dns.recursion.*   (resolver/flags.ts)
 *   --tcp-*                 dns.tcp.*         (tcp-settings.ts)
 *   --rrl-*                 dns.rrl.*         (rrl.ts; --rrl-responses-per-second 0 turns it off)
 *
 * The file is parsed and validated in src/config (which never imports a role); this module only maps it.
 */
import { availableParallelism } from 'node:os';
import type { Registry } from 'prom-client';
import { ConfigError } from '../errors.js';
import type { Deployment, DnsInstanceConfig, DnsTcpConfig } from '../config/types.js';
import type { HostPort } from '../net/address.js';
import { DEFAULT_RECURSION, recursionServerOptions, type RecursionSettings } from './resolver/flags.js';
import { DEFAULT_UDP_PAYLOAD_SIZE } from './response.js';
import type { DnsServerOptions } from './server.js';
import { readServerTls, type ServerTlsFiles } from '../http/link-tls.js';
import { tcpServerOptions } from './tcp-settings.js';
import type { TsigKey } from './tsig.js';
import { RRL_DEFAULTS, type RrlSettings } from './rrl.js';
import { LIVENESS_DEFAULTS, type LivenessSettings } from '../cluster/liveness.js';

export interface DnsRoleOptions {
  listen: HostPort[];
  /** Folder of `<zone>.zone` files. */
  zonesDir: string;
  /** EDNS UDP payload size we advertise and send up to. */
  udpPayloadSize: number;
  /** HTTP listener for GET /metrics and GET /healthz; absent = none. */
  metricsListen?: HostPort;
  /** Its certificate: the deployment's `tls.admin`, as for every role's admin listener; absent = HTTP. */
  adminTls?: ServerTlsFiles;
  /** CIDRs allowed AXFR/IXFR over TCP; empty = nobody. */
  allowTransfer: string[];
  /** Secondaries sent a NOTIFY when a zone's serial changes. */
  notify: HostPort[];
  /** TSIG keys (RFC 8945): with any, transfers must be signed by one; NOTIFY is signed with the first. */
  tsigKeys: TsigKey[];
  recursion: RecursionSettings;
  /** TCP limits that are set; the server's defaults hold for the rest. */
  tcp: DnsTcpConfig;
  /** Response-rate limiting of UDP replies; undefined = off (the default without a file). */
  rrl: RrlSettings | undefined;
  /** Fraction of queries written to the query log, 0..1; 0 = off. */
  queryLogSample: number;
  /** Processes answering queries (workers/); 1 = this process alone. */
  workers: number;
  /** How the primary finds a frozen or blocked worker, to kill and restart it (with workers > 1). */
  workerLiveness: LivenessSettings;
}

/** RRL settings given as flags: each replaces the same one; a rate of 0 turns RRL off. */
export type RrlOverrides = Partial<RrlSettings>;

/** Settings given on top of a file or the defaults; nested groups override key by key too. */
export type DnsOverrides = Partial<Omit<DnsRoleOptions, 'recursion' | 'tcp' | 'rrl' | 'workerLiveness'>> & {
  recursion?: Partial<RecursionSettings>;
  tcp?: DnsTcpConfig;
  rrl?: RrlOverrides;
  workerLiveness?: Partial<LivenessSettings>;
};

/** `dnscdn dns` with no file and no flags. */
export const DNS_ROLE_DEFAULTS: DnsRoleOptions = {
  listen: [{ host: '127.0.0.1', port: 5353 }],
  zonesDir: 'zones/',
  udpPayloadSize: DEFAULT_UDP_PAYLOAD_SIZE,
  allowTransfer: [],
  notify: [],
  tsigKeys: [],
  recursion: DEFAULT_RECURSION,
  tcp: {},
  rrl: undefined,
  queryLogSample: 0,
  // One worker per core the process may use (cgroup and affinity limits included).
  workers: availableParallelism(),
  workerLiveness: LIVENESS_DEFAULTS,
};

/**
 * The role's options from the file. `instance` names one of `dns.instances` (`--name`): its listen and
 * admin addresses replace the section's; every other key is shared, so ns1 and ns2 answer alike.
 */
export function dnsOptionsFromDeployment(d: Deployment, instance?: string): DnsRoleOptions {
  const { dns } = d;
  const r = dns.recursion;
  const named = instance === undefined ? undefined : dnsInstance(d, instance);
  const options: DnsRoleOptions = {
    listen: named ? named.listen : dns.listen,
    zonesDir: dns.zones,
    udpPayloadSize: dns.udpSize ?? DEFAULT_UDP_PAYLOAD_SIZE,
    allowTransfer: dns.transfer?.allowText ?? [],
    notify: dns.transfer?.notify ?? [],
    tsigKeys: dns.transfer?.tsigKeys ?? [],
    recursion: !r
      ? DEFAULT_RECURSION
      : {
          allow: r.allowText ?? DEFAULT_RECURSION.allow,
          forwarders: r.forwarders,
          upstreamPort: r.upstreamPort ?? DEFAULT_RECURSION.upstreamPort,
          randomizeCase: r.randomizeCase ?? DEFAULT_RECURSION.randomizeCase,
          ...(r.rootHints !== undefined && { rootHints: r.rootHints }),
          ...(r.staleWindow !== undefined && { staleWindow: r.staleWindow }),
        },
    tcp: dns.tcp ?? {},
    rrl: dns.rrl && { ...RRL_DEFAULTS, ...dns.rrl },
    queryLogSample: dns.queryLogSample ?? 0,
    workers: dns.workers ?? DNS_ROLE_DEFAULTS.workers,
    workerLiveness: { ...LIVENESS_DEFAULTS, ...dns.workerLiveness },
  };
  const admin = named ? named.admin : dns.admin;
  if (admin) options.metricsListen = admin;
  if (d.tls?.admin) options.adminTls = d.tls.admin;
  return options;
}

function dnsInstance(d: Deployment, name: string): DnsInstanceConfig {
  const found = d.dns.instances.find((i) => i.name === name);
  if (found) return found;
  const known = d.dns.instances.map((i) => i.name);
  throw new ConfigError({ file: d.file, key: 'dns.instances' }, `no instance "${name}" (--name)${known.length ? `; the file names: ${known.join(', ')}` : '; the file names none'}`);
}

/** `base` with every setting in `overrides` replacing the same one (a flag given next to `--config` wins). */
export function withOverrides(base: DnsRoleOptions, overrides: DnsOverrides): DnsRoleOptions {
  return {
    ...base,
    ...overrides,
    recursion: { ...base.recursion, ...overrides.recursion },
    tcp: { ...base.tcp, ...overrides.tcp },
    rrl: withRrlOverrides(base.rrl, overrides.rrl),
    workerLiveness: { ...base.workerLiveness, ...overrides.workerLiveness },
  };
}

/** RRL flags over the file's settings: each --rrl-* flag with a rate (given or from the file) turns it on. */
function withRrlOverrides(base: RrlSettings | undefined, overrides: RrlOverrides | undefined): RrlSettings | undefined {
  if (!overrides || Object.keys(overrides).length === 0) return base;
  const merged = { ...RRL_DEFAULTS, exempt: [], ...base, ...overrides };
  return merged.responsesPerSecond ? (merged as RrlSettings) : undefined;
}

/** What startDnsServer takes for these options (recursion builds its resolver here, with its metrics in `registry`). */
export function dnsServerOptions(options: DnsRoleOptions, registry: Registry): DnsServerOptions {
  return {
    listen: options.listen,
    zonesDir: options.zonesDir,
    udpPayloadSize: options.udpPayloadSize,
    registry,
    ...(options.metricsListen && { metricsListen: options.metricsListen }),
    ...(options.metricsListen && options.adminTls && { metricsTls: readServerTls(options.adminTls) }),
    allowTransfer: options.allowTransfer,
    notify: options.notify,
    ...(options.tsigKeys.length > 0 && { tsigKeys: options.tsigKeys }),
    ...recursionServerOptions(options.recursion, registry),
    ...tcpServerOptions(options.tcp),
    ...(options.rrl && { rrl: options.rrl }),
    ...(options.queryLogSample > 0 && { queryLogSample: options.queryLogSample }),
  };
}
