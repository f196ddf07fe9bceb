/**
 * Recursion settings of the DNS role, and the flags of `dnscdn dns` that set them. Each flag has a key
 * under `dns.recursion` in the deployment file, and a flag given next to `--config` overrides it:
 *   --root-hints FILE            rootHints     named.root-style hints; recursion is on when this (or --forward) is given
 *   --allow-recursion CIDR[,..]  allow         who may recurse (default loopback only, RFC 5358)
 *   --forward ZONE=ADDR[,ADDR]   forwarders    Unbound-style forward-zone, repeatable
 *   --upstream-port PORT         upstreamPort  port for servers learned from hints and referrals (53; loopback labs use another)
 *   --stale-window DURATION      staleWindow   how long expired answers may be served when no authority answers (RFC 8767)
 *   --randomize-case             randomizeCase 0x20: random letter case in upstream questions, echoed back exactly
 */
import { Option, type Command } from 'commander';
import type { Registry } from 'prom-client';
import { ConfigError } from '../../errors.js';
import { parseHostPort } from '../../net/address.js';
import { parseCidr } from '../../net/cidr.js';
import { durationFlag, listFlag } from '../../cli/flags.js';
import { integerFlag } from '../flag-values.js';
import { loadRootHints } from './hints.js';
import type { ForwardZone } from './options.js';
import { Resolver } from './resolver.js';

/** RFC 5358: open resolvers are abused for amplification, so by default only loopback clients may recurse. */
export const DEFAULT_RECURSION_ACL = ['127.0.0.0/8', '::1/128'];

/** What commander hands the action for these flags (only the flags given are set). */
export interface RecursionFlags {
  rootHints?: string;
  allowRecursion?: string[];
  forward?: ForwardZone[];
  upstreamPort?: number;
  staleWindow?: number;
  randomizeCase?: boolean;
}

/** The DNS role's recursion settings, whichever way they were given. */
export interface RecursionSettings {
  rootHints?: string;
  /** CIDRs of clients that may recurse. */
  allow: string[];
  forwarders: ForwardZone[];
  upstreamPort: number;
  /** Seconds; absent = the resolver's default (1 day). */
  staleWindow?: number;
  randomizeCase: boolean;
}

export const DEFAULT_RECURSION: RecursionSettings = { allow: DEFAULT_RECURSION_ACL, forwarders: [], upstreamPort: 53, randomizeCase: false };

/** `--allow-recursion a,b --allow-recursion c`: comma lists and repeats, as every list flag (src/cli/flags.ts). */
const parseCidrList = listFlag((text: string): string => {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new ConfigError({ file: '--allow-recursion' }, parsed.reason);
  return text;
});

function collectForward(value: string, previous: ForwardZone[] | undefined): ForwardZone[] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new ConfigError({ file: '--forward' }, `"${value}" is not ZONE=ADDR[,ADDR]`);
  const servers = value.slice(eq + 1).split(',').map((s) => parseHostPort(s.trim(), 53));
  return [...(previous ?? []), { zone: value.slice(0, eq), servers }];
}

/** The file's duration form (`1h`, `600` = seconds); the resolver counts whole seconds. */
const staleWindowMs = durationFlag('--stale-window', 0);

export function addRecursionFlags(cmd: Command): Command {
  return cmd
    .option('--root-hints <file>', 'root hints (named.root form); enables recursion for names outside our zones')
    .addOption(new Option('--allow-recursion <cidrs>', `CIDRs of clients allowed to recurse; comma list, repeatable (default ${DEFAULT_RECURSION_ACL.join(',')})`).argParser(parseCidrList))
    .addOption(new Option('--forward <zone=addrs>', 'forward names under ZONE to these servers (RD=1); repeatable (its own commas separate the servers)').argParser(collectForward))
    .addOption(new Option('--upstream-port <port>', 'port of the servers found through hints and referrals (default 53)').argParser(integerFlag('--upstream-port', { min: 1, max: 65535 })))
    .addOption(new Option('--stale-window <duration>', 'serve expired answers this long when no authority answers (e.g. 1h, 600s; 0s = never; default 1 day)').argParser((v) => Math.floor(staleWindowMs(v) / 1000)))
    .option('--randomize-case', 'randomise the letter case of upstream questions (0x20) and require it echoed');
}

/** The flags given, as settings to lay over the file's (or the defaults), key by key. */
export function recursionOverridesFromFlags(flags: RecursionFlags): Partial<RecursionSettings> {
  return {
    ...(flags.rootHints !== undefined && { rootHints: flags.rootHints }),
    ...(flags.allowRecursion !== undefined && { allow: flags.allowRecursion }),
    ...(flags.forward !== undefined && { forwarders: flags.forward }),
    ...(flags.upstreamPort !== undefined && { upstreamPort: flags.upstreamPort }),
    ...(flags.staleWindow !== undefined && { staleWindow: flags.staleWindow }),
    ...(flags.randomizeCase !== undefined && { randomizeCase: flags.randomizeCase }),
  };
}

/**
 * The server options for recursion: on with root hints, or with forwarders alone (names outside the
 * forward zones then get SERVFAIL); off otherwise, and names outside our zones get REFUSED.
 */
export function recursionServerOptions(settings: RecursionSettings, registry: Registry): { recursion?: Resolver; allowRecursion: string[] } {
  if (settings.rootHints === undefined && settings.forwarders.length === 0) return { allowRecursion: settings.allow };
  const resolver = new Resolver(
    {
      rootHints: settings.rootHints === undefined ? { nameServers: [], addresses: new Map() } : loadRootHints(settings.rootHints),
      upstreamPort: settings.upstreamPort,
      forwarders: settings.forwarders,
      ...(settings.staleWindow !== undefined && { staleWindow: settings.staleWindow }),
      randomizeCase: settings.randomizeCase,
    },
    registry,
  );
  return { recursion: resolver, allowRecursion: settings.allow };
}
