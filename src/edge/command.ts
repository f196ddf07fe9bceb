/** `dnscdn edge`: one edge cache in front of one origin; flags map one to one onto startEdge's options. */
import { Command, Option } from 'commander';
import { logger } from '../log.js';
import { parseHostPort } from '../net/address.js';
import { defaultAdminAddress } from '../net/admin-address.js';
import { reportReady } from '../up/child.js';
import { parseByteSize } from './byte-size.js';
import { CACHE_POLICIES, DEFAULT_CACHE_POLICY, parseCachePolicy } from './eviction/names.js';
import { attachReplica } from './replica.js';
import { startEdge, type EdgeOptions } from './server.js';
import { loadDeployment } from '../config/load.js';
import { edgeOptionsFromConfig, edgePushSettingsFromConfig } from '../config/roles.js';

const log = logger('edge');

interface EdgeFlags {
  listen?: string;
  origin?: string;
  config?: string;
  maxBytes: string;
  maxObjectBytes?: string;
  cachePolicy: string;
  adminToken?: string;
  originTimeout: string;
  name?: string;
  distributor?: string;
  stateDir?: string;
  ignoreCookies?: string;
  adminListen?: string;
  purgeAllow?: string;
}

export function edgeCommand(): Command {
  return new Command('edge')
    .description('run an RFC 9111 caching reverse proxy (edge) in front of an origin')
    .option('--listen <host:port>', 'address to listen on, e.g. 127.0.0.11:8080 (required without --config)')
    .option('--origin <url>', 'origin base URL, e.g. http://127.0.0.1:8000 (required without --config)')
    .option('--config <file>', 'deployment file: take this edge\'s settings from it (with --name)')
    .option('--max-bytes <size>', 'memory for cached objects (bodies + headers)', '256MB')
    .option('--max-object-bytes <size>', 'largest object stored; larger ones pass through (default: min(8MB, max-bytes/8))')
    .option('--cache-policy <name>', `which objects the store keeps: ${CACHE_POLICIES.join(', ')}`, DEFAULT_CACHE_POLICY)
    .addOption(new Option('--admin-token <token>', 'bearer token for the admin listener\'s /.dnscdn/ routes and PURGE').env('DNSCDN_ADMIN_TOKEN'))
    .option('--admin-listen <host:port>', 'admin listener: /metrics, /.dnscdn/ purge, objects, replica (default: loopback, port + 1000)')
    .option('--purge-allow <cidrs>', 'comma-separated networks whose PURGE the public port accepts (with the token); default none')
    .option('--origin-timeout <ms>', 'origin response timeout in milliseconds (504 after it)', '10000')
    .option('--name <name>', 'edge name (Via header, metrics label)')
    .option('--ignore-cookies <names>', "comma-separated cookie names (* wildcards) that do not make a response private, e.g. '_ga*,_gid'")
    .option('--distributor <url>', 'origin push: distribution node to receive pushes from and catch up with (needs the admin token)')
    .option('--state-dir <dir>', 'origin push: replica journal and pushed bodies (default .dnscdn/edge-NAME)')
    .action(async (flags: EdgeFlags) => {
      if (flags.config !== undefined) {
        const deployment = loadDeployment(flags.config);
        const fromConfig = withAdminFlags(edgeOptionsFromConfig(deployment, flags.name), flags);
        const edge = await startEdge(fromConfig);
        const push = edgePushSettingsFromConfig(deployment, flags.name);
        const configuredReplica = push ? await attachReplica(edge, push) : undefined;
        process.stdout.write(`edge ${edge.name} listening on ${edge.url}, admin ${edge.adminUrl}, origin ${fromConfig.origin}\n`);
        reportReady([edge.url, `${edge.adminUrl}/metrics`]);
        const stopConfigured = (): void =>
          void edge
            .close()
            .then(() => configuredReplica?.close())
            .then(() => process.exit(0));
        process.once('SIGINT', stopConfigured);
        process.once('SIGTERM', stopConfigured);
        return;
      }
      if (flags.listen === undefined || flags.origin === undefined) throw new Error('--listen and --origin are required (or --config FILE --name EDGE)');
      const options: EdgeOptions = withAdminFlags({
        listen: flags.listen,
        origin: flags.origin,
        maxBytes: parseByteSize(flags.maxBytes),
        cachePolicy: parseCachePolicy(flags.cachePolicy),
        originTimeoutMs: Number(flags.originTimeout),
      }, flags);
      if (!(options.originTimeoutMs! > 0)) throw new Error(`bad --origin-timeout "${flags.originTimeout}"`);
      if (flags.maxObjectBytes !== undefined) options.maxObjectBytes = parseByteSize(flags.maxObjectBytes);
      if (flags.adminToken !== undefined) options.adminToken = flags.adminToken;
      if (flags.name !== undefined) options.name = flags.name;
      if (flags.ignoreCookies !== undefined) options.ignoreCookies = flags.ignoreCookies.split(',').map((c) => c.trim());
      const edge = await startEdge(options);
      const replica =
        flags.distributor !== undefined || flags.stateDir !== undefined
          ? await attachReplica(edge, { distributor: flags.distributor, stateDir: flags.stateDir ?? `.dnscdn/edge-${edge.name}`, token: requireToken(flags.adminToken) })
          : undefined;
      process.stdout.write(`edge ${edge.name} listening on ${edge.url}, admin ${edge.adminUrl}, origin ${flags.origin}\n`);
      const stop = (): void => {
        log.info('shutting down');
        void edge
          .close()
          .then(() => replica?.close())
          .then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

/** `--admin-listen` and `--purge-allow` override the file; without either, the file's or the default address. */
function withAdminFlags(options: EdgeOptions, flags: EdgeFlags): EdgeOptions {
  const out = { ...options };
  if (flags.adminListen !== undefined) out.adminListen = parseHostPort(flags.adminListen);
  else if (out.adminListen === undefined) {
    const listen = typeof out.listen === 'string' ? parseHostPort(out.listen) : out.listen;
    const byDefault = defaultAdminAddress(listen);
    if (byDefault === undefined) throw new Error(`--admin-listen is required: the default (port ${listen.port} + 1000) is past 65535`);
    out.adminListen = byDefault;
  }
  if (flags.purgeAllow !== undefined) out.purgeAllow = flags.purgeAllow.split(',').map((c) => c.trim()).filter(Boolean);
  return out;
}

function requireToken(token: string | undefined): string {
  if (token === undefined || token === '') throw new Error('--distributor/--state-dir need the admin token (--admin-token or DNSCDN_ADMIN_TOKEN)');
  return token;
}
