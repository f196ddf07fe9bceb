/**
 * The recursion flags of `dnscdn dns`, kept here so that the command only wires them:
 *   --root-hints FILE            named.root-style hints; recursion is on when this (or --forward) is given
 *   --allow-recursion CIDR[,..]  who may recurse (default loopback only, RFC 5358)
 *   --forward ZONE=ADDR[,ADDR]   Unbound-style forward-zone, repeatable
 *   --upstream-port PORT         port for servers learned from hints and referrals (53; loopback labs use another)
 *   --stale-window SECONDS       how long expired answers may be served when no authority answers (RFC 8767)
 *   --randomize-case             0x20: random letter case in upstream questions, echoed back exactly
 */
import { Option, type Command } from 'commander';
import type { Registry } from 'prom-client';
import { ConfigError } from '../../errors.js';
import { parseHostPort } from '../../net/address.js';
import { parseCidr } from '../../net/cidr.js';
import { loadRootHints } from './hints.js';
import type { ForwardZone } from './options.js';
import { Resolver } from './resolver.js';

/** RFC 5358: open resolvers are abused for amplification, so by default only loopback clients may recurse. */
export const DEFAULT_RECURSION_ACL = ['127.0.0.0/8', '::1/128'];

export interface RecursionFlags {
  rootHints?: string;
  allowRecursion: string[];
  forward?: ForwardZone[];
  upstreamPort: number;
  staleWindow?: number;
  randomizeCase?: boolean;
}

function parseCidrList(value: string): string[] {
  const list = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const text of list) {
    const parsed = parseCidr(text);
    if (!parsed.ok) throw new ConfigError({ file: '--allow-recursion' }, parsed.reason);
  }
  return list;
}

function collectForward(value: string, previous: ForwardZone[] | undefined): ForwardZone[] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new ConfigError({ file: '--forward' }, `"${value}" is not ZONE=ADDR[,ADDR]`);
  const servers = value.slice(eq + 1).split(',').map((s) => parseHostPort(s.trim(), 53));
  return [...(previous ?? []), { zone: value.slice(0, eq), servers }];
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError({ file: '--upstream-port' }, `"${value}" is not a port`);
  return port;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 0) throw new ConfigError({ file: '--stale-window' }, `"${value}" is not a whole number of seconds`);
  return seconds;
}

export function addRecursionFlags(cmd: Command): Command {
  return cmd
    .option('--root-hints <file>', 'root hints (named.root form); enables recursion for names outside our zones')
    .addOption(new Option('--allow-recursion <cidrs>', 'comma-separated CIDRs of clients allowed to recurse').argParser(parseCidrList).default(DEFAULT_RECURSION_ACL))
    .addOption(new Option('--forward <zone=addrs>', 'forward names under ZONE to these servers (RD=1); repeatable').argParser(collectForward))
    .addOption(new Option('--upstream-port <port>', 'port of the servers found through hints and referrals').argParser(parsePort).default(53))
    .addOption(new Option('--stale-window <seconds>', 'serve expired answers this long when no authority answers (0 = never)').argParser(parseSeconds))
    .option('--randomize-case', 'randomise the letter case of upstream questions (0x20) and require it echoed');
}

/**
 * The server options for recursion: on with root hints, or with forwarders alone (names outside the
 * forward zones then get SERVFAIL); off otherwise, and names outside our zones get REFUSED.
 */
export function recursionFromFlags(flags: RecursionFlags, registry: Registry): { recursion?: Resolver; allowRecursion: string[] } {
  if (flags.rootHints === undefined && flags.forward === undefined) return { allowRecursion: flags.allowRecursion };
  const resolver = new Resolver(
    {
      rootHints: flags.rootHints === undefined ? { nameServers: [], addresses: new Map() } : loadRootHints(flags.rootHints),
      upstreamPort: flags.upstreamPort,
      forwarders: flags.forward ?? [],
      ...(flags.staleWindow !== undefined && { staleWindow: flags.staleWindow }),
      randomizeCase: flags.randomizeCase ?? false,
    },
    registry,
  );
  return { recursion: resolver, allowRecursion: flags.allowRecursion };
}
