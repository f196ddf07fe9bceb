import { Command } from 'commander';
import { loadDeployment } from '../config/load.js';
import { distributorSettingsFromConfig } from '../config/roles.js';
import { parseHostPort } from '../net/address.js';
import { defaultAdminAddress } from '../net/admin-address.js';
import { reportReady } from '../up/child.js';
import { Distributor } from './distributor.js';
import { listenDistributor } from './server.js';
import { parseDownstream, tokenFrom } from './targets.js';

const collect = (v: string, acc: string[]): string[] => [...acc, v];

interface DistributorFlags {
  listen: string;
  adminListen?: string;
  dataDir: string;
  edge: string[];
  upstream?: string;
  token?: string;
  compactAfter: string;
  config?: string;
}

function withConfig(o: DistributorFlags): DistributorFlags {
  if (o.config === undefined) return o;
  const s = distributorSettingsFromConfig(loadDeployment(o.config));
  return { ...o, listen: s.listen, adminListen: o.adminListen ?? s.adminListen, dataDir: s.dataDir, edge: s.edges, ...(s.token !== undefined ? { token: s.token } : {}) };
}

/** `dnscdn distributor`: a distribution node as its own process (the origin runs one in-process by default). */
export function distributorCommand(): Command {
  return new Command('distributor')
    .description('run a distribution node: durable journal, fan-out to edges, catch-up for edges that were away')
    .option('--listen <addr>', 'listen address (/healthz only)', '127.0.0.1:8100')
    .option('--admin-listen <addr>', 'admin listener: /metrics, /.dnscdn/ publish, journal, status, replica (default: loopback, port + 1000)')
    .option('--data-dir <dir>', 'journal and blobs', '.dnscdn/distributor')
    .option('--edge <name=url>', "an edge (or downstream node) to feed, by its admin URL; repeatable", collect, [])
    .option('--upstream <url>', 'replicate this distribution node instead of accepting publishes')
    .option('--token <token>', 'admin token (default: $DNSCDN_ADMIN_TOKEN)')
    .option('--compact-after <n>', 'compact the journal after this many operations', '10000')
    .option('--config <file>', 'deployment file: listener, journal, edges and token from its distribution section')
    .action(async (flags: DistributorFlags) => {
      const o = withConfig(flags);
      const token = tokenFrom(o.token);
      if (!token) throw new Error('a token is required (--token or DNSCDN_ADMIN_TOKEN)');
      const d = await Distributor.open({
        dataDir: o.dataDir,
        token,
        downstream: o.edge.map(parseDownstream),
        upstream: o.upstream,
        compactAfter: Number(o.compactAfter),
      });
      const listen = parseHostPort(o.listen);
      const adminListen = o.adminListen !== undefined ? parseHostPort(o.adminListen) : defaultAdminAddress(listen);
      if (adminListen === undefined) throw new Error(`--admin-listen is required: the default (port ${listen.port} + 1000) is past 65535`);
      const http = await listenDistributor(d, listen, { listen: adminListen, token });
      process.stdout.write(`distributor listening on ${http.url}, admin ${http.adminUrl}\n`);
      reportReady([http.url, `${http.adminUrl}/metrics`]);
      const stop = async (): Promise<void> => {
        await http.close();
        await d.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
