/**
 * `dnscdn dns`: the authoritative DNS server on its own.
 *   dnscdn dns --zones zones/ --listen 127.0.0.1:5353 --listen [::1]:5353
 * SIGHUP reloads the zones (as does any change in the zones folder).
 */
import { Command, Option } from 'commander';
import { logger } from '../log.js';
import { formatHostPort, parseHostPort, type HostPort } from '../net/address.js';
import { createRegistry } from '../metrics.js';
import { addRecursionFlags, recursionFromFlags, type RecursionFlags } from './resolver/flags.js';
import { startDnsServer } from './server.js';
import { parseTsigKey, type TsigKey } from './tsig.js';
import { startSteeredDns } from './steering-service.js';
import { addTcpFlags, tcpConfigFromFlags, tcpServerOptions, type TcpFlags } from './tcp-settings.js';
import { reportReady } from '../up/child.js';

const log = logger('dns');

function collectListen(value: string, previous: HostPort[] | undefined): HostPort[] {
  return [...(previous ?? []), parseHostPort(value, 53)];
}

export function dnsCommand(): Command {
  const command = new Command('dns')
    .description('run the authoritative DNS server (UDP and TCP) for the zone files in a folder')
    .option('--zones <dir>', 'folder of <zone>.zone master files', 'zones/')
    .addOption(new Option('--listen <host:port>', 'address to listen on (UDP and TCP); repeatable').argParser(collectListen))
    .option('--udp-size <bytes>', 'EDNS UDP payload size we advertise and send up to', (v) => Number(v), 1232)
    .addOption(new Option('--allow-transfer <cidr>', 'clients allowed AXFR/IXFR over TCP; repeatable (default: nobody)').argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]))
    .addOption(new Option('--notify <host:port>', 'secondary to send NOTIFY when a zone changes; repeatable').argParser(collectListen))
    .addOption(new Option('--tsig-key <name:hmac-sha256:secret>', 'TSIG key (RFC 8945) transfers must be signed with, and NOTIFY is signed with (the first); secret in base64, or @file holding it; repeatable').argParser((v: string, prev: TsigKey[] | undefined) => [...(prev ?? []), parseTsigKey(v)]))
    .addOption(new Option('--metrics-listen <host:port>', 'serve GET /metrics and GET /healthz over HTTP here').argParser((v) => parseHostPort(v, 9153)))
    .option('--config <file>', 'deployment file (dnscdn.yaml): zones, listeners, steering pools and health checks from it');
  return addTcpFlags(addRecursionFlags(command))
    .action(async (opts: { zones: string; listen?: HostPort[]; udpSize: number; config?: string; metricsListen?: HostPort; allowTransfer?: string[]; notify?: HostPort[]; tsigKey?: TsigKey[] } & RecursionFlags & TcpFlags) => {
      const tcp = tcpConfigFromFlags(opts);
      if (opts.config !== undefined) {
        const steered = await startSteeredDns(opts.config, { ...(opts.listen && { listen: opts.listen }), tcp });
        process.stdout.write(`dns listening on ${steered.server.addresses.map(formatHostPort).join(' ')}\n`);
        reportReady([...steered.server.addresses.map((a) => `${formatHostPort(a)} udp+tcp`), ...(steered.admin ? [`http://${formatHostPort(steered.admin)}/metrics`] : [])]);
        process.on('SIGHUP', () => void steered.server.reload());
        const stopSteered = (): void => void steered.close().then(() => process.exit(0));
        process.once('SIGINT', stopSteered);
        process.once('SIGTERM', stopSteered);
        return;
      }
      const registry = createRegistry({ labels: { role: 'dns' } });
      const server = await startDnsServer({
        ...recursionFromFlags(opts, registry),
        registry,
        ...(opts.metricsListen && { metricsListen: opts.metricsListen }),
        ...(opts.allowTransfer && { allowTransfer: opts.allowTransfer }),
        ...(opts.notify && { notify: opts.notify }),
        ...(opts.tsigKey && { tsigKeys: opts.tsigKey }),
        ...tcpServerOptions(tcp),
        zonesDir: opts.zones,
        listen: opts.listen ?? [{ host: '127.0.0.1', port: 5353 }],
        udpPayloadSize: opts.udpSize,
      });
      log.info('dns server started', { listen: server.addresses.map(formatHostPort).join(','), zones: opts.zones });
      process.on('SIGHUP', () => void server.reload());
      const stop = (): void => {
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
