/**
 * `dnscdn dns`: the authoritative DNS server on its own.
 *   dnscdn dns --zones zones/ --listen 127.0.0.1:5353 --listen [::1]:5353
 * SIGHUP reloads the zones (as does any change in the zones folder).
 */
import { Command, Option } from 'commander';
import { logger } from '../log.js';
import { formatHostPort, parseHostPort, type HostPort } from '../net/address.js';
import { startDnsServer } from './server.js';

const log = logger('dns');

function collectListen(value: string, previous: HostPort[] | undefined): HostPort[] {
  return [...(previous ?? []), parseHostPort(value, 53)];
}

export function dnsCommand(): Command {
  return new Command('dns')
    .description('run the authoritative DNS server (UDP and TCP) for the zone files in a folder')
    .option('--zones <dir>', 'folder of <zone>.zone master files', 'zones/')
    .addOption(new Option('--listen <host:port>', 'address to listen on (UDP and TCP); repeatable').argParser(collectListen))
    .option('--udp-size <bytes>', 'EDNS UDP payload size we advertise and send up to', (v) => Number(v), 1232)
    .action(async (opts: { zones: string; listen?: HostPort[]; udpSize: number }) => {
      const server = await startDnsServer({
        zonesDir: opts.zones,
        listen: opts.listen ?? [{ host: '127.0.0.1', port: 5353 }],
        udpPayloadSize: opts.udpSize,
      });
      log.info('dns server started', { listen: server.addresses.map(formatHostPort).join(','), zones: opts.zones });
      process.on('SIGHUP', () => server.reload());
      const stop = (): void => {
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
