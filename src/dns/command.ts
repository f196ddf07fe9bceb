/**
 * `dnscdn dns`: the DNS role, from flags alone or from the deployment file with flags on top.
 *   dnscdn dns --zones zones/ --listen 127.0.0.1:5353 --listen [::1]:5353
 *   dnscdn dns --config dnscdn.yaml --allow-transfer 127.0.0.2/32
 *   dnscdn dns --config dnscdn.yaml --name ns2 --workers 2
 * Every flag has a key in the file (setup.ts lists them); a flag given next to `--config` replaces
 * that key. SIGHUP reloads the zones (as does any change in the zones folder).
 * With more than one worker (the default: one per core) this process is the primary of workers/ and the
 * workers run this same command line; `--workers 1` answers in this process alone.
 */
import cluster from 'node:cluster';
import { Command, Option } from 'commander';
import { ConfigError } from '../errors.js';
import { announceListening, logger } from '../log.js';
import { formatHostPort, parseHostPort, type HostPort } from '../net/address.js';
import { parseCidr } from '../net/cidr.js';
import { createRegistry } from '../metrics.js';
import { loadDeploymentWithLogSettings } from '../config/role-file.js';
import { DNS_RRL_RANGES, DNS_UDP_SIZE_RANGE, DNS_WORKERS_RANGE, QUERY_LOG_SAMPLE_RANGE } from '../config/types.js';
import { addDeprecatedAlias, durationFlag, listFlag } from '../cli/flags.js';
import { readServerTls } from '../http/link-tls.js';
import { integerFlag, numberFlag } from './flag-values.js';
import { addRecursionFlags, recursionOverridesFromFlags, type RecursionFlags } from './resolver/flags.js';
import { startDnsServer } from './server.js';
import { DNS_ROLE_DEFAULTS, dnsOptionsFromDeployment, dnsServerOptions, withOverrides, type DnsOverrides, type DnsRoleOptions, type RrlOverrides } from './setup.js';
import { parseTsigKey, type TsigKey } from './tsig.js';
import { startSteeredDns } from './steering-service.js';
import { addTcpFlags, tcpConfigFromFlags, type TcpFlags } from './tcp-settings.js';
import { reportReady } from '../up/child.js';
import { LIVENESS_RANGES } from '../cluster/liveness.js';
import { startDnsPrimary } from './workers/primary.js';
import { runDnsWorker, type WorkerContext, type WorkerRole } from './workers/worker.js';

const log = logger('dns');

/** What commander hands the action (only the flags given are set: defaults live in setup.ts). */
export interface DnsFlags extends RecursionFlags, TcpFlags {
  config?: string;
  zones?: string;
  listen?: HostPort[];
  udpSize?: number;
  adminListen?: HostPort;
  allowTransfer?: string[];
  notify?: HostPort[];
  tsigKey?: TsigKey[];
  rrlResponsesPerSecond?: number;
  rrlSlip?: number;
  rrlWindow?: number;
  rrlIpv4Prefix?: number;
  rrlIpv6Prefix?: number;
  rrlExempt?: string[];
  queryLogSample?: number;
  workers?: number;
  workerLivenessInterval?: number;
  workerLivenessMisses?: number;
  name?: string;
}

function collectHostPort(defaultPort: number): (value: string, previous: HostPort[] | undefined) => HostPort[] {
  return listFlag((text) => parseHostPort(text, defaultPort));
}

function parseTsigKeyFlag(value: string): TsigKey {
  try {
    return parseTsigKey(value);
  } catch (err) {
    throw new ConfigError({ file: '--tsig-key' }, (err as Error).message);
  }
}

function cidrCollector(flag: string): (value: string, previous: string[] | undefined) => string[] {
  return listFlag((text) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) throw new ConfigError({ file: flag }, parsed.reason);
    return text;
  });
}

/** `--rrl-window 15s`: a duration like the other flags; RRL counts whole seconds within the key's range. */
function rrlWindowFlag(value: string): number {
  const ms = durationFlag('--rrl-window', 1, 's')(value);
  const { min, max } = DNS_RRL_RANGES.window;
  if (ms % 1000 !== 0 || ms / 1000 < min || ms / 1000 > max) throw new ConfigError({ file: '--rrl-window' }, `"${value}" is not a whole number of seconds from ${min}s to ${max}s`);
  return ms / 1000;
}

/** `--worker-liveness-interval 1s`: a duration; 0 turns the check off. */
function livenessIntervalFlag(value: string): number {
  // A new flag: no bare numbers (durationFlag warns of them as deprecated), but a bare 0 is plainly "off".
  if (value.trim() === '0') return 0;
  const ms = durationFlag('--worker-liveness-interval', 0, 'ms')(value);
  const { min, max } = LIVENESS_RANGES.intervalMs;
  if (ms !== 0 && (ms < min || ms > max)) throw new ConfigError({ file: '--worker-liveness-interval' }, `"${value}" must be 0 (off) or from ${min}ms to ${max / 1000}s`);
  return ms;
}

/** Every flag of `dnscdn dns`; none has a commander default, so "given" and "not given" stay apart. */
export function addDnsFlags(cmd: Command): Command {
  cmd
    .option('--config <file>', 'deployment file (dnscdn.yaml): the dns section, steering pools and health checks; flags given too override its keys')
    .option('--name <instance>', 'run the named instance of dns.instances in --config (e.g. ns2): its listen and admin addresses, the rest of the dns section shared')
    .addOption(new Option('--workers <n>', 'processes answering queries (node:cluster): 1 = this process alone (default: one per core, or dns.workers)').argParser(integerFlag('--workers', DNS_WORKERS_RANGE)))
    .addOption(new Option('--worker-liveness-interval <duration>', 'the primary pings each worker this often and kills and restarts one that misses --worker-liveness-misses pings in a row (dns.workerLiveness.interval; 0 = off; default 1s)').argParser(livenessIntervalFlag))
    .addOption(new Option('--worker-liveness-misses <n>', 'pings in a row a worker may leave unanswered (dns.workerLiveness.misses; default 3)').argParser(integerFlag('--worker-liveness-misses', LIVENESS_RANGES.misses)))
    .option('--zones <dir>', 'folder of <zone>.zone master files (default zones/)')
    .addOption(new Option('--listen <host:port>', 'addresses to listen on (UDP and TCP); comma list, repeatable (default 127.0.0.1:5353)').argParser(collectHostPort(53)))
    .addOption(new Option('--udp-size <bytes>', 'EDNS UDP payload size we advertise and send up to (default 1232)').argParser(integerFlag('--udp-size', DNS_UDP_SIZE_RANGE)))
    .addOption(new Option('--allow-transfer <cidr>', 'clients allowed AXFR/IXFR over TCP; comma list, repeatable (default: nobody)').argParser(cidrCollector('--allow-transfer')))
    .addOption(new Option('--notify <host:port>', 'secondaries to send NOTIFY when a zone changes; comma list, repeatable').argParser(collectHostPort(53)))
    .addOption(
      new Option('--tsig-key <name:hmac-sha256:secret>', 'TSIG key (RFC 8945) transfers must be signed with, and NOTIFY is signed with (the first); secret in base64, or @file holding it; comma list, repeatable').argParser(listFlag(parseTsigKeyFlag)),
    )
    .addOption(new Option('--rrl-responses-per-second <n>', 'response-rate limit: UDP replies per second per client network and answer (dns.rrl; 0 = off, the default without a file)').argParser(integerFlag('--rrl-responses-per-second', { ...DNS_RRL_RANGES.responsesPerSecond, min: 0 })))
    .addOption(new Option('--rrl-slip <n>', 'every Nth rate-limited reply goes out truncated (TC=1) so clients retry over TCP; 0 = drop all (default 2)').argParser(integerFlag('--rrl-slip', DNS_RRL_RANGES.slip)))
    .addOption(new Option('--rrl-window <duration>', 'how long a flooding network stays limited after it stops, whole seconds (default 15s)').argParser(rrlWindowFlag))
    .addOption(new Option('--rrl-ipv4-prefix <bits>', 'IPv4 prefix of one client network for RRL (default 24)').argParser(integerFlag('--rrl-ipv4-prefix', DNS_RRL_RANGES.ipv4Prefix)))
    .addOption(new Option('--rrl-ipv6-prefix <bits>', 'IPv6 prefix of one client network for RRL (default 56)').argParser(integerFlag('--rrl-ipv6-prefix', DNS_RRL_RANGES.ipv6Prefix)))
    .addOption(new Option('--rrl-exempt <cidr>', 'networks never rate-limited; comma list, repeatable').argParser(cidrCollector('--rrl-exempt')))
    .addOption(new Option('--query-log-sample <fraction>', 'log this fraction of queries, one line each on stderr (client, qname, qtype, rcode, answer, steering, duration); 1 = every query (default 0: off)').argParser(numberFlag('--query-log-sample', QUERY_LOG_SAMPLE_RANGE)))
    .addOption(new Option('--admin-listen <host:port>', 'admin listener: GET /metrics and GET /healthz (dns.admin)').argParser((v) => parseHostPort(v, 9153)));
  addDeprecatedAlias(cmd, '--metrics-listen <host:port>', '--admin-listen');
  return addTcpFlags(addRecursionFlags(cmd));
}

/** The flags given, as settings that replace the file's (or the defaults'), key by key. */
export function dnsOverridesFromFlags(flags: DnsFlags): DnsOverrides {
  return {
    ...(flags.zones !== undefined && { zonesDir: flags.zones }),
    ...(flags.listen !== undefined && { listen: flags.listen }),
    ...(flags.udpSize !== undefined && { udpPayloadSize: flags.udpSize }),
    ...(flags.adminListen !== undefined && { metricsListen: flags.adminListen }),
    ...(flags.allowTransfer !== undefined && { allowTransfer: flags.allowTransfer }),
    ...(flags.notify !== undefined && { notify: flags.notify }),
    ...(flags.tsigKey !== undefined && { tsigKeys: flags.tsigKey }),
    ...(flags.queryLogSample !== undefined && { queryLogSample: flags.queryLogSample }),
    ...(flags.workers !== undefined && { workers: flags.workers }),
    workerLiveness: {
      ...(flags.workerLivenessInterval !== undefined && { intervalMs: flags.workerLivenessInterval }),
      ...(flags.workerLivenessMisses !== undefined && { misses: flags.workerLivenessMisses }),
    },
    recursion: recursionOverridesFromFlags(flags),
    tcp: tcpConfigFromFlags(flags),
    rrl: rrlOverridesFromFlags(flags),
  };
}

function rrlOverridesFromFlags(flags: DnsFlags): RrlOverrides {
  return {
    ...(flags.rrlResponsesPerSecond !== undefined && { responsesPerSecond: flags.rrlResponsesPerSecond }),
    ...(flags.rrlSlip !== undefined && { slip: flags.rrlSlip }),
    ...(flags.rrlWindow !== undefined && { window: flags.rrlWindow }),
    ...(flags.rrlIpv4Prefix !== undefined && { ipv4Prefix: flags.rrlIpv4Prefix }),
    ...(flags.rrlIpv6Prefix !== undefined && { ipv6Prefix: flags.rrlIpv6Prefix }),
    ...(flags.rrlExempt !== undefined && { exempt: flags.rrlExempt }),
  };
}

export function dnsCommand(): Command {
  const command = new Command('dns').description('run the DNS server (UDP and TCP): authoritative for the zone files in a folder, steering and recursion when configured');
  return addDnsFlags(command).action(async (opts: DnsFlags) => {
    if (opts.name !== undefined && opts.config === undefined) throw new ConfigError({ file: '--name' }, 'names an instance of dns.instances: give --config too');
    const overrides = dnsOverridesFromFlags(opts);
    if (cluster.isWorker) {
      await runDnsWorker((worker) => startRole(opts, overrides, worker));
      return;
    }
    const role = withOverrides(opts.config !== undefined ? dnsOptionsFromDeployment(loadDeploymentWithLogSettings(opts.config), opts.name) : DNS_ROLE_DEFAULTS, overrides);
    if (role.workers > 1) await runPrimary(opts, role);
    else await runSingle(opts, overrides, role);
  });
}

/** The role in this process, alone (`--workers 1`) or as one worker (`worker` given). */
async function startRole(opts: DnsFlags, overrides: DnsOverrides, worker?: WorkerContext): Promise<WorkerRole & { metricsAddress?: HostPort }> {
  if (opts.config !== undefined) {
    const steered = await startSteeredDns(opts.config, { overrides, ...(opts.name !== undefined && { instance: opts.name }), ...(worker && { worker }) });
    return { addresses: steered.server.addresses, ...(steered.admin && { metricsAddress: steered.admin }), reload: () => steered.reload(), close: () => steered.close() };
  }
  const role = withOverrides(DNS_ROLE_DEFAULTS, overrides);
  const serverOptions = dnsServerOptions(role, worker?.registry ?? createRegistry({ labels: { role: 'dns' } }));
  // A worker's admin listener is the primary's.
  if (worker) delete serverOptions.metricsListen;
  const server = await startDnsServer({ ...serverOptions, ...(worker?.reusePort && { reusePort: true }) });
  return { addresses: server.addresses, ...(server.metricsAddress && { metricsAddress: server.metricsAddress }), reload: () => void server.reload(), close: () => server.close() };
}

async function runSingle(opts: DnsFlags, overrides: DnsOverrides, role: DnsRoleOptions): Promise<void> {
  const running = await startRole(opts, overrides);
  announce(opts, role, running.addresses, running.metricsAddress, {});
  stopOnSignals(running);
}

async function runPrimary(opts: DnsFlags, role: DnsRoleOptions): Promise<void> {
  const primary = await startDnsPrimary({
    workers: role.workers,
    liveness: role.workerLiveness,
    listen: role.listen,
    ...(role.metricsListen && { metricsListen: role.metricsListen }),
    ...(role.metricsListen && role.adminTls && { metricsTls: readServerTls(role.adminTls) }),
    ...(opts.config !== undefined && { deploymentFile: opts.config }),
  });
  announce(opts, role, primary.addresses, primary.admin, { workers: role.workers, socket: primary.socketMode });
  stopOnSignals({ reload: () => primary.reload(), close: () => primary.close() });
}

/** The start-up lines (tests and `up` read them): the same whether one process answers or N workers do. */
function announce(opts: DnsFlags, role: DnsRoleOptions, addresses: HostPort[], admin: HostPort | undefined, workers: Record<string, string | number>): void {
  if (opts.config !== undefined) {
    const metricsUrl = admin ? `${adminScheme(role)}://${formatHostPort(admin)}/metrics` : undefined;
    const listening = addresses.map(formatHostPort).join(' ');
    announceListening('dns', `dns listening on ${listening}${metricsUrl ? `, metrics ${metricsUrl}` : ''}`, { address: listening, metrics: metricsUrl, ...workers });
  }
  // From a file the announcement above is the role's one start-up line (src/log.ts); from flags this line is it.
  const started = { listen: addresses.map(formatHostPort).join(','), zones: role.zonesDir, ...workers };
  if (opts.config !== undefined) log.debug('dns server started', started);
  else log.info('dns server started', started);
  reportReady([...addresses.map((a) => `${formatHostPort(a)} udp+tcp`), ...(admin ? [`${adminScheme(role)}://${formatHostPort(admin)}/metrics`] : [])]);
}

/** SIGHUP reloads; SIGINT and SIGTERM close and exit. */
function stopOnSignals(running: Pick<WorkerRole, 'reload' | 'close'>): void {
  process.on('SIGHUP', () => running.reload());
  const stop = (): void => void running.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** `https` when the admin listener has a certificate (`tls.admin`), else `http`. */
function adminScheme(role: DnsRoleOptions): 'http' | 'https' {
  return role.adminTls ? 'https' : 'http';
}
