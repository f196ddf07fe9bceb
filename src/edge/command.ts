/** `dnscdn edge`: one edge cache in front of one origin; flags map one to one onto startEdge's options. */
import { Command, Option } from 'commander';
import { logger } from '../log.js';
import { parseByteSize } from './byte-size.js';
import { startEdge, type EdgeOptions } from './server.js';

const log = logger('edge');

interface EdgeFlags {
  listen: string;
  origin: string;
  maxBytes: string;
  maxObjectBytes?: string;
  adminToken?: string;
  originTimeout: string;
  name?: string;
}

export function edgeCommand(): Command {
  return new Command('edge')
    .description('run an RFC 9111 caching reverse proxy (edge) in front of an origin')
    .requiredOption('--listen <host:port>', 'address to listen on, e.g. 127.0.0.11:8080')
    .requiredOption('--origin <url>', 'origin base URL, e.g. http://127.0.0.1:8000')
    .option('--max-bytes <size>', 'memory for cached objects (bodies + headers)', '256MB')
    .option('--max-object-bytes <size>', 'largest object stored; larger ones pass through (default: min(8MB, max-bytes/8))')
    .addOption(new Option('--admin-token <token>', 'bearer token for PURGE and /.dnscdn/ admin routes').env('DNSCDN_ADMIN_TOKEN'))
    .option('--origin-timeout <ms>', 'origin response timeout in milliseconds (504 after it)', '10000')
    .option('--name <name>', 'edge name (Via header, metrics label)')
    .action(async (flags: EdgeFlags) => {
      const options: EdgeOptions = {
        listen: flags.listen,
        origin: flags.origin,
        maxBytes: parseByteSize(flags.maxBytes),
        originTimeoutMs: Number(flags.originTimeout),
      };
      if (!(options.originTimeoutMs! > 0)) throw new Error(`bad --origin-timeout "${flags.originTimeout}"`);
      if (flags.maxObjectBytes !== undefined) options.maxObjectBytes = parseByteSize(flags.maxObjectBytes);
      if (flags.adminToken !== undefined) options.adminToken = flags.adminToken;
      if (flags.name !== undefined) options.name = flags.name;
      const edge = await startEdge(options);
      process.stdout.write(`edge ${edge.name} listening on ${edge.url}, origin ${flags.origin}\n`);
      const stop = (): void => {
        log.info('shutting down');
        void edge.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
