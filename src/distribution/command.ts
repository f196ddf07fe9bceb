/**
 * `dnscdn distributor`: a distribution node as its own process (the origin runs one in-process by default).
 * The flags build the same DistributorRoleOptions as the deployment file (setup.ts); with `--config`, every
 * flag given on the command line overrides its key.
 */
import { Command } from 'commander';
import { loadDeploymentWithLogSettings, reloadLogSettingsOnHangup } from '../config/role-file.js';
import { applyLinkTls } from '../http/link-tls.js';
import { announceListening } from '../log.js';
import { parseHostPort } from '../net/address.js';
import { defaultAdminAddressOrThrow } from '../net/admin-address.js';
import { addDeprecatedAlias, listFlag } from '../cli/flags.js';
import { legacyStateDir } from '../cli/state-dir.js';
import { reportReady } from '../up/child.js';
import { Distributor } from './distributor.js';
import { listenDistributor } from './server.js';
import { DEFAULT_COMPACT_AFTER, distributorRoleFromDeployment, type DistributorRoleOptions } from './setup.js';
import { parseDownstream, tokenFrom } from './targets.js';

/** Flags as typed; the single-value ones have no commander default, so "absent" means "not given". */
export interface DistributorFlags {
  listen?: string;
  stateDir?: string;
  adminListen?: string;
  edge: string[];
  upstream?: string;
  token?: string;
  compactAfter?: string;
  config?: string;
}

/** `stateDir` is the deployment file's default journal folder (`distribution.journal`, config/reach.ts). */
const FLAG_DEFAULTS = { listen: '127.0.0.1:8100', stateDir: 'var/journal', oldStateDir: '.dnscdn/distributor' } as const;

/**
 * The role options from flags, on top of the deployment's distribution node when `--config` is given (`--edge`
 * replaces the file's edge list). The token comes from `--token`, else the file, else $DNSCDN_ADMIN_TOKEN / $DNSCDN_TOKEN.
 */
export function distributorRoleFromFlags(flags: DistributorFlags): DistributorRoleOptions {
  const role: DistributorRoleOptions =
    flags.config !== undefined
      ? distributorRoleFromDeployment(loadDeploymentWithLogSettings(flags.config))
      : { listen: parseHostPort(FLAG_DEFAULTS.listen), dataDir: FLAG_DEFAULTS.stateDir, edges: [], compactAfter: DEFAULT_COMPACT_AFTER };
  if (flags.listen !== undefined) role.listen = parseHostPort(flags.listen);
  if (flags.adminListen !== undefined) role.adminListen = parseHostPort(flags.adminListen);
  else if (role.adminListen === undefined) role.adminListen = defaultAdminAddressOrThrow(role.listen);
  if (flags.stateDir !== undefined) role.dataDir = flags.stateDir;
  else if (flags.config === undefined) role.dataDir = legacyStateDir(FLAG_DEFAULTS.oldStateDir, FLAG_DEFAULTS.stateDir);
  if (flags.edge.length > 0) role.edges = flags.edge.map(parseDownstream);
  if (flags.upstream !== undefined) role.upstream = flags.upstream;
  if (flags.compactAfter !== undefined) role.compactAfter = parseCompactAfter(flags.compactAfter);
  const token = flags.token ?? role.token ?? tokenFrom(undefined);
  if (token !== undefined) role.token = token;
  return role;
}

function parseCompactAfter(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`bad --compact-after "${text}": a whole number of operations above 0`);
  return n;
}

export async function runDistributor(o: DistributorRoleOptions): Promise<void> {
  if (!o.token) throw new Error('a token is required (--token or DNSCDN_ADMIN_TOKEN)');
  const d = await Distributor.open({ dataDir: o.dataDir, token: o.token, downstream: o.edges, upstream: o.upstream, compactAfter: o.compactAfter });
  const adminTls = applyLinkTls(o.linkTls);
  const http = await listenDistributor(d, o.listen, { listen: o.adminListen ?? defaultAdminAddressOrThrow(o.listen), token: o.token, tls: adminTls });
  announceListening('distribution', `distributor listening on ${http.url}, admin ${http.adminUrl}`, { address: http.url, admin: http.adminUrl });
  reportReady([http.url, `${http.adminUrl}/metrics`]);
  const stop = async (): Promise<void> => {
    await http.close();
    await d.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

/** `run` is what the parsed options are handed to (tests pass one that records them). */
export function distributorCommand(run: (role: DistributorRoleOptions) => Promise<void> = runDistributor): Command {
  const cmd = new Command('distributor')
    .description('run a distribution node: durable journal, fan-out to edges, catch-up for edges that were away')
    .option('--listen <addr>', `listen address, /healthz only (default: ${FLAG_DEFAULTS.listen})`)
    .option('--admin-listen <addr>', 'admin listener: /metrics, /.dnscdn/ publish, journal, status, replica (default: loopback, port + 1000)')
    .option('--state-dir <dir>', `journal and blobs (default: ${FLAG_DEFAULTS.stateDir}, as in the deployment file)`)
    .option('--edge <name=url>', 'edges (or downstream nodes) to feed, by admin URL; comma list, repeatable', listFlag((e) => e), [])
    .option('--upstream <url>', 'replicate this distribution node instead of accepting publishes')
    .option('--token <token>', "admin token (default: the file's, else $DNSCDN_ADMIN_TOKEN)")
    .option('--compact-after <n>', `compact the journal after this many operations (default: ${DEFAULT_COMPACT_AFTER})`)
    .option('--config <file>', 'deployment file: listener, journal, edges and token from its distribution section; other flags override them')
    .action(async (flags: DistributorFlags) => {
      const role = distributorRoleFromFlags(flags);
      reloadLogSettingsOnHangup('distribution', flags.config);
      await run(role);
    });
  return addDeprecatedAlias(cmd, '--data-dir <dir>', '--state-dir');
}
