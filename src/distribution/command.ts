import { Command } from 'commander';
import { loadDeployment } from '../config/load.js';
import { distributorSettingsFromConfig } from '../config/roles.js';
import { parseHostPort } from '../net/address.js';
import { reportReady } from '../up/child.js';
import { Distributor } from './distributor.js';
import { listenDistributor } from './server.js';
import { parseDownstream, tokenFrom } from './targets.js';

const collect = (v: string, acc: string[]): string[] => [...acc, v];

interface DistributorFlags {
  listen: string;
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
  return { ...o, listen: s.listen, dataDir: s.dataDir, edge: s.edges, ...(s.token !== undefined ? { token: s.token } : {}) };
}

/** `dnscdn distributor`: a distribution node as its own process (the origin runs one in-process by default). */
export function distributorCommand(): Command {
  return new Command('distributor')
    .description('run a distribution node: durable journal, fan-out to edges, catch-up for edges that were away')
    .option('--listen <addr>', 'listen address', '127.0.0.1:8100')
    .option('--data-dir <dir>', 'journal and blobs', '.dnscdn/distributor')
    .option('--edge <name=url>', 'an edge (or downstream node) to feed; repeatable', collect, [])
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
      const http = await listenDistributor(d, parseHostPort(o.listen));
      reportReady([http.url]);
      const stop = async (): Promise<void> => {
        await http.close();
        await d.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
