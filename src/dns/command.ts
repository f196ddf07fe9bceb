/**
 * `dnscdn dns`: the DNS role, from flags alone or from the deployment file with flags on top.
 *   dnscdn dns --zones zones/ --listen 127.0.0.1:5353 --listen [::1]:5353
 *   dnscdn dns --config dnscdn.yaml --allow-transfer 127.0.0.2/32
 * Every flag has a key in the file (setup.ts lists them); a flag given next to `--config` replaces
 * that key. SIGHUP reloads the zones (as does any change in the zones folder).
 */
import { Command, Option } from 'commander';
import { ConfigError } from '../errors.js';
import { announceListening, logger } from '../log.js';
import { formatHostPort, parseHostPort, type HostPort } from '../net/address.js';
import { parseCidr } from '../net/cidr.js';
import { createRegistry } from '../metrics.js';
import { DNS_RRL_RANGES, DNS_UDP_SIZE_RANGE, QUERY_LOG_SAMPLE_RANGE } from '../config/types.js';
import { integerFlag, numberFlag } from './flag-values.js';
import { addRecursionFlags, recursionOverridesFromFlags, type RecursionFlags } from './resolver/flags.js';
import { startDnsServer } from './server.js';
import { DNS_ROLE_DEFAULTS, dnsServerOptions, withOverrides, type DnsOverrides, type RrlOverrides } from './setup.js';
import { parseTsigKey, type TsigKey } from './tsig.js';
import { startSteeredDns } from './steering-service.js';
import { addTcpFlags, tcpConfigFromFlags, type TcpFlags } from './tcp-settings.js';
import { reportReady } from '../up/child.js';

const log = logger('dns');

/** What commander hands the action (only the flags given are set: defaults live in setup.ts). */
export interface DnsFlags extends RecursionFlags, TcpFlags {
  config?: string;
  zones?: string;
  listen?: HostPort[];
  udpSize?: number;
  metricsListen?: HostPort;
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
}

function collectHostPort(defaultPort: number): (value: string, previous: HostPort[] | undefined) => HostPort[] {
  return (value, previous) => [...(previous ?? []), parseHostPort(value, defaultPort)];
}

function parseTsigKeyFlag(value: string): TsigKey {
  try {
    return parseTsigKey(value);
  } catch (err) {
    throw new ConfigError({ file: '--tsig-key' }, (err as Error).message);
  }
}

function cidrCollector(flag: string): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => {
    const parsed = parseCidr(value);
    if (!parsed.ok) throw new ConfigError({ file: flag }, parsed.reason);
    return [...(previous ?? []), value];
  };
}

/** Every flag of `dnscdn dns`; none has a commander default, so "given" and "not given" stay apart. */
export function addDnsFlags(cmd: Command): Command {
  cmd
    .option('--config <file>', 'deployment file (dnscdn.yaml): the dns section, steering pools and health checks; flags given too override its keys')
    .option('--zones <dir>', 'folder of <zone>.zone master files (default zones/)')
    .addOption(new Option('--listen <host:port>', 'address to listen on (UDP and TCP); repeatable (default 127.0.0.1:5353)').argParser(collectHostPort(53)))
    .addOption(new Option('--udp-size <bytes>', 'EDNS UDP payload size we advertise and send up to (default 1232)').argParser(integerFlag('--udp-size', DNS_UDP_SIZE_RANGE)))
    .addOption(new Option('--allow-transfer <cidr>', 'clients allowed AXFR/IXFR over TCP; repeatable (default: nobody)').argParser(cidrCollector('--allow-transfer')))
    .addOption(new Option('--notify <host:port>', 'secondary to send NOTIFY when a zone changes; repeatable').argParser(collectHostPort(53)))
    .addOption(
      new Option('--tsig-key <name:hmac-sha256:secret>', 'TSIG key (RFC 8945) transfers must be signed with, and NOTIFY is signed with (the first); secret in base64, or @file holding it; repeatable').argParser(
        (v: string, prev: TsigKey[] | undefined) => [...(prev ?? []), parseTsigKeyFlag(v)],
      ),
    )
    .addOption(new Option('--rrl-responses-per-second <n>', 'response-rate limit: UDP replies per second per client network and answer (dns.rrl; 0 = off, the default without a file)').argParser(integerFlag('--rrl-responses-per-second', { ...DNS_RRL_RANGES.responsesPerSecond, min: 0 })))
    .addOption(new Option('--rrl-slip <n>', 'every Nth rate-limited reply goes out truncated (TC=1) so clients retry over TCP; 0 = drop all (default 2)').argParser(integerFlag('--rrl-slip', DNS_RRL_RANGES.slip)))
    .addOption(new Option('--rrl-window <seconds>', 'seconds a flooding network stays limited after it stops (default 15)').argParser(integerFlag('--rrl-window', DNS_RRL_RANGES.window)))
    .addOption(new Option('--rrl-ipv4-prefix <bits>', 'IPv4 prefix of one client network for RRL (default 24)').argParser(integerFlag('--rrl-ipv4-prefix', DNS_RRL_RANGES.ipv4Prefix)))
    .addOption(new Option('--rrl-ipv6-prefix <bits>', 'IPv6 prefix of one client network for RRL (default 56)').argParser(integerFlag('--rrl-ipv6-prefix', DNS_RRL_RANGES.ipv6Prefix)))
    .addOption(new Option('--rrl-exempt <cidr>', 'network never rate-limited; repeatable').argParser(cidrCollector('--rrl-exempt')))
    .addOption(new Option('--query-log-sample <fraction>', 'log this fraction of queries, one line each on stderr (client, qname, qtype, rcode, answer, steering, duration); 1 = every query (default 0: off)').argParser(numberFlag('--query-log-sample', QUERY_LOG_SAMPLE_RANGE)))
    .addOption(new Option('--metrics-listen <host:port>', 'serve GET /metrics and GET /healthz over HTTP here').argParser((v) => parseHostPort(v, 9153)));
  return addTcpFlags(addRecursionFlags(cmd));
}

/** The flags given, as settings that replace the file's (or the defaults'), key by key. */
export function dnsOverridesFromFlags(flags: DnsFlags): DnsOverrides {
  return {
    ...(flags.zones !== undefined && { zonesDir: flags.zones }),
    ...(flags.listen !== undefined && { listen: flags.listen }),
    ...(flags.udpSize !== undefined && { udpPayloadSize: flags.udpSize }),
    ...(flags.metricsListen !== undefined && { metricsListen: flags.metricsListen }),
    ...(flags.allowTransfer !== undefined && { allowTransfer: flags.allowTransfer }),
    ...(flags.notify !== undefined && { notify: flags.notify }),
    ...(flags.tsigKey !== undefined && { tsigKeys: flags.tsigKey }),
    ...(flags.queryLogSample !== undefined && { queryLogSample: flags.queryLogSample }),
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
    const overrides = dnsOverridesFromFlags(opts);
    if (opts.config !== undefined) {
      const steered = await startSteeredDns(opts.config, { overrides });
      const metrics = steered.server.metricsAddress ? `, metrics http://${formatHostPort(steered.server.metricsAddress)}/metrics` : '';
      const addresses = steered.server.addresses.map(formatHostPort).join(' ');
      announceListening('dns', `dns listening on ${addresses}${metrics}`, { address: addresses, metrics: steered.server.metricsAddress ? `http://${formatHostPort(steered.server.metricsAddress)}/metrics` : undefined });
      reportReady([...steered.server.addresses.map((a) => `${formatHostPort(a)} udp+tcp`), ...(steered.admin ? [`http://${formatHostPort(steered.admin)}/metrics`] : [])]);
      process.on('SIGHUP', () => void steered.server.reload());
      const stopSteered = (): void => void steered.close().then(() => process.exit(0));
      process.once('SIGINT', stopSteered);
      process.once('SIGTERM', stopSteered);
      return;
    }
    const options = withOverrides(DNS_ROLE_DEFAULTS, overrides);
    const server = await startDnsServer(dnsServerOptions(options, createRegistry({ labels: { role: 'dns' } })));
    log.info('dns server started', { listen: server.addresses.map(formatHostPort).join(','), zones: options.zonesDir });
    process.on('SIGHUP', () => void server.reload());
    const stop = (): void => {
      void server.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
