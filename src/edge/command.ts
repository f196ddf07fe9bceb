/**
 * `dnscdn edge`: one edge cache in front of one origin. The flags build the same EdgeRoleOptions as the
 * deployment file (setup.ts); with `--config`, every flag given on the command line overrides its key.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { parseAccessLogFormat } from '../config/load.js';
import { loadDeploymentWithLogSettings, reloadLogSettingsOnHangup } from '../config/role-file.js';
import { adminToken } from '../config/reach.js';
import { CACHE_POLICIES, DEFAULT_CACHE_POLICY, parseCachePolicy } from '../config/cache-policies.js';
import { parseByteSize } from '../config/units.js';
import { announceListening, logger } from '../log.js';
import { formatHostPort, parseHostPort } from '../net/address.js';
import { defaultAdminAddressOrThrow } from '../net/admin-address.js';
import { addDeprecatedAlias, durationFlag, listFlag } from '../cli/flags.js';
import { legacyStateDir } from '../cli/state-dir.js';
import { reportReady } from '../up/child.js';
import { applyLinkTls } from '../http/link-tls.js';
import { attachReplica, cacheSink } from './replica.js';
import { startEdge, type EdgeOptions } from './server.js';
import { EDGE_WORKERS_RANGE, ORIGIN_POLICIES } from '../config/types.js';
import { integerFlag } from '../dns/flag-values.js';
import { DEFAULT_HEADER_TIMEOUT_MS, originPoolOf, parseHeaderTimeout, parseOriginPolicy, parseOriginUrl, parseStickyCookie } from '../config/origin-pool.js';
import type { HostPort } from '../net/address.js';
import { startAcme } from './tls/acme.js';
import { ensureDemoCertificates } from './tls/demo-ca.js';
import { edgeRoleFromDeployment, type EdgeRoleOptions } from './setup.js';
import { edgeWorkerIndex, runEdgePrimary, runEdgeWorker } from './workers.js';

const log = logger('edge');

/** Flags as typed; none has a commander default, so "absent" means "not given" and the file's key stands. */
export interface EdgeFlags {
  /** Each occurrence may be a comma list (conventions: list flags repeat and take commas). */
  listen?: string[];
  origin?: string[];
  originPolicy?: string;
  originRetries?: string;
  originHeaderTimeout?: string;
  stickyCookie?: string;
  config?: string;
  maxBytes?: string;
  maxObjectBytes?: string;
  expectedObjectBytes?: string;
  cachePolicy?: string;
  token?: string;
  originTimeout?: number;
  name?: string;
  distributor?: string;
  stateDir?: string;
  ignoreCookies?: string[];
  adminListen?: string;
  purgeAllow?: string[];
  accessLog?: string;
  accessLogFormat?: string;
  tlsCa?: string;
  /** false from `--no-compression`; commander leaves it undefined otherwise (no default given). */
  compression?: boolean;
  workers?: number;
  tlsListen?: string[];
  tlsCert?: string[];
  tlsKey?: string[];
}

const DEFAULT_MAX_BYTES = '256MB';
const DEFAULT_ORIGIN_TIMEOUT_MS = 10_000;
/** The same folder an edge of the deployment file keeps its replica in (config/reach.ts: `var/edges/NAME`). */
const stateDirOf = (name: string): string => `var/edges/${name}`;
const TOKEN_ENV = 'DNSCDN_ADMIN_TOKEN';

/**
 * The role options from flags, on top of the deployment's edge when `--config` is given. The admin token comes
 * from `--token`, else the file, else $DNSCDN_ADMIN_TOKEN (the environment never overrides the file:
 * `up` passes its environment to every child).
 */
export function edgeRoleFromFlags(flags: EdgeFlags, env: Record<string, string | undefined> = process.env): EdgeRoleOptions {
  const envToken = env[TOKEN_ENV] === '' ? undefined : env[TOKEN_ENV];
  let role: EdgeRoleOptions;
  if (flags.config !== undefined) {
    const d = loadDeploymentWithLogSettings(flags.config);
    role = edgeRoleFromDeployment(d, flags.name, flags.token ?? adminToken(d) ?? envToken);
  } else role = fromFlagsAlone(flags);
  const s = role.server;
  if (flags.listen !== undefined && flags.listen.length > 0) s.listen = flags.listen.map((l) => parseHostPort(l));
  s.origin = originFromFlags(flags, s.origin);
  if (flags.maxBytes !== undefined) s.maxBytes = parseByteSize(flags.maxBytes);
  if (flags.maxObjectBytes !== undefined) s.maxObjectBytes = parseByteSize(flags.maxObjectBytes);
  if (flags.expectedObjectBytes !== undefined) s.expectedObjectBytes = parseByteSize(flags.expectedObjectBytes);
  if (flags.originTimeout !== undefined) s.originTimeoutMs = flags.originTimeout;
  if (flags.ignoreCookies !== undefined) s.ignoreCookies = flags.ignoreCookies;
  if (flags.cachePolicy !== undefined) s.cachePolicy = parseCachePolicy(flags.cachePolicy);
  if (flags.adminListen !== undefined) s.adminListen = parseHostPort(flags.adminListen);
  else if (s.adminListen === undefined) s.adminListen = defaultAdminAddressOrThrow(firstListener(s.listen));
  if (flags.purgeAllow !== undefined) s.purgeAllow = flags.purgeAllow;
  if (flags.accessLog !== undefined || flags.accessLogFormat !== undefined) s.accessLog = accessLogFromFlags(flags, s.accessLog);
  if (flags.compression === false) s.compression = false;
  if (flags.tlsCa !== undefined) role.linkTls = { ...role.linkTls, ca: resolve(flags.tlsCa) };
  if (flags.workers !== undefined) role.workers = flags.workers;
  applyTlsFlags(role, flags);
  const token = flags.token ?? s.adminToken ?? envToken;
  if (token !== undefined) s.adminToken = token;
  if (flags.distributor !== undefined || flags.stateDir !== undefined) {
    if (token === undefined) throw new Error(`--distributor/--state-dir need the admin token (--token or ${TOKEN_ENV})`);
    const name = s.name ?? 'dnscdn';
    const push = role.push ?? { stateDir: flags.stateDir ?? legacyStateDir(`.dnscdn/edge-${name}`, stateDirOf(name)), token };
    if (flags.distributor !== undefined) push.distributor = flags.distributor;
    if (flags.stateDir !== undefined) push.stateDir = flags.stateDir;
    role.push = push;
  }
  return role;
}

/** `--tls-listen`, `--tls-cert`, `--tls-key` over the file's `tls` (certificates and keys pair up by position). */
function applyTlsFlags(role: EdgeRoleOptions, flags: EdgeFlags): void {
  if (flags.tlsListen === undefined && flags.tlsCert === undefined && flags.tlsKey === undefined) return;
  const certs = flags.tlsCert ?? [];
  const keys = flags.tlsKey ?? [];
  if (certs.length !== keys.length) throw new Error(`--tls-cert and --tls-key pair up by position: ${certs.length} certificate(s), ${keys.length} key(s)`);
  const existing = role.server.tls;
  if (existing === undefined && flags.tlsListen === undefined) throw new Error('--tls-cert/--tls-key need --tls-listen (or a tls section in --config)');
  const tls = existing ?? { listen: [], certificates: [] };
  if (flags.tlsListen !== undefined) tls.listen = flags.tlsListen.map((l) => parseHostPort(l));
  if (certs.length > 0) tls.certificates = certs.map((cert, i) => ({ cert: resolve(cert), key: resolve(keys[i]!) }));
  if (tls.certificates.length === 0 && tls.default === undefined && role.demoCa === undefined && role.acme === undefined) {
    throw new Error('--tls-listen needs a certificate: --tls-cert FILE --tls-key FILE');
  }
  role.server.tls = tls;
}

function fromFlagsAlone(flags: EdgeFlags): EdgeRoleOptions {
  const listens = flags.listen ?? [];
  const origins = flags.origin ?? [];
  if (listens.length === 0 || origins.length === 0) throw new Error('--listen and --origin are required (or --config FILE --name EDGE)');
  const role: EdgeRoleOptions = {
    server: { listen: listens.map((l) => parseHostPort(l)), origin: originPoolOf(origins.map(originUrlFlag)), maxBytes: parseByteSize(DEFAULT_MAX_BYTES), originTimeoutMs: DEFAULT_ORIGIN_TIMEOUT_MS },
  };
  if (flags.name !== undefined) role.server.name = flags.name;
  return role;
}

function firstListener(listen: EdgeOptions['listen']): HostPort {
  const first = Array.isArray(listen) ? (listen as ReadonlyArray<string | HostPort>)[0] : (listen as string | HostPort);
  if (first === undefined) throw new Error('--listen: at least one address');
  return typeof first === 'string' ? parseHostPort(first) : first;
}

function originUrlFlag(text: string): string {
  try {
    return parseOriginUrl(text);
  } catch (err) {
    throw new Error(`bad --origin: ${(err as Error).message}`);
  }
}

/**
 * The origin pool after the flags: `--origin` replaces the file's servers (a flag overrides its key; the pool's
 * other settings stay), `--origin-policy`, `--origin-retries` and `--sticky-cookie` replace one setting each.
 */
function originFromFlags(flags: EdgeFlags, current: EdgeOptions['origin']): EdgeOptions['origin'] {
  const origins = flags.origin ?? [];
  if (origins.length === 0 && flags.originPolicy === undefined && flags.originRetries === undefined && flags.originHeaderTimeout === undefined && flags.stickyCookie === undefined) return current;
  const base = typeof current === 'string' ? originPoolOf([current]) : current;
  const pool = { ...base, passive: { ...base.passive } };
  if (origins.length > 0) pool.servers = originPoolOf(origins.map(originUrlFlag)).servers;
  if (flags.originPolicy !== undefined) pool.policy = flagValue('--origin-policy', flags.originPolicy, parseOriginPolicy);
  if (flags.originRetries !== undefined) pool.retries = flagValue('--origin-retries', flags.originRetries, retriesValue);
  if (flags.originHeaderTimeout !== undefined) pool.headerTimeoutMs = flagValue('--origin-header-timeout', flags.originHeaderTimeout, withUnit(parseHeaderTimeout));
  if (flags.stickyCookie !== undefined) pool.sticky = { cookie: flagValue('--sticky-cookie', flags.stickyCookie, parseStickyCookie) };
  return pool;
}

function retriesValue(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 5) throw new Error(`"${text}": a whole number 0-5`);
  return n;
}

/** New duration flags carry their unit (`2s`, `500ms`): a bare number is refused rather than guessed. */
function withUnit(parse: (text: string) => number): (text: string) => number {
  return (text) => {
    if (/^\s*\d+(?:\.\d+)?\s*$/.test(text)) throw new Error(`"${text}": give a unit, e.g. 2s or 500ms`);
    return parse(text);
  };
}

function flagValue<T>(flag: string, text: string, parse: (t: string) => T): T {
  try {
    return parse(text);
  } catch (err) {
    throw new Error(`bad ${flag}: ${(err as Error).message}`);
  }
}

/** `--access-log FILE|stderr` and `--access-log-format`, each over the file's `accessLog` key. */
function accessLogFromFlags(flags: EdgeFlags, fromFile: EdgeRoleOptions['server']['accessLog']): NonNullable<EdgeRoleOptions['server']['accessLog']> {
  const format = flags.accessLogFormat !== undefined ? parseAccessLogFormat(flags.accessLogFormat) : (fromFile?.format ?? 'combined');
  if (flags.accessLog === undefined) {
    if (fromFile === undefined) throw new Error('--access-log-format needs --access-log FILE|stderr (or accessLog in the file)');
    return { ...fromFile, format };
  }
  return { to: flags.accessLog === 'stderr' ? { stderr: true } : { path: resolve(flags.accessLog) }, format };
}

/** Starts the cache, then its replica (which reloads what was pushed before a restart), and stops both on a signal. */
export async function runEdge(role: EdgeRoleOptions): Promise<void> {
  const adminTls = applyLinkTls(role.linkTls);
  const server = adminTls ? { ...role.server, adminTls } : role.server;
  // The demo certificate is made (once, kept under var/) before any listener starts, in the primary and workers alike.
  if (role.demoCa && server.tls) {
    const demo = await ensureDemoCertificates(role.demoCa.dir, role.demoCa.names);
    server.tls.certificates.push(demo.server);
  }
  // Default: every core (issue 14); 1 is a single process with no primary. See workers.ts for what N > 1 adds.
  const workers = role.workers ?? availableParallelism();
  if (workers > 1) {
    const index = edgeWorkerIndex();
    return index === undefined ? runEdgePrimary({ ...role, server }, workers) : runEdgeWorker({ ...role, server }, index);
  }
  const edge = await startEdge(server);
  const replica = role.push ? await attachReplica(edge, role.push, cacheSink(edge.cache)) : undefined;
  const acme = role.acme && edge.certificates ? startAcme(role.acme, edge.certificates) : undefined;
  const origins = edge.originPool.status().map((sv) => sv.url).join(' ');
  const urls = [...edge.addresses.map((a) => `http://${formatHostPort(a)}`), ...edge.httpsUrls];
  announceListening('edge', `edge ${edge.name} listening on ${urls.join(' ')}, admin ${edge.adminUrl}, origin ${origins}`, { name: edge.name, address: urls.join(' '), admin: edge.adminUrl, origin: origins });
  reportReady([...urls, `${edge.adminUrl}/metrics`]);
  const stop = (): void => {
    log.info('shutting down');
    acme?.stop();
    void edge
      .close()
      .then(() => replica?.close())
      .then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // logrotate's postrotate: the access log goes to a new file at its path. (Also keeps SIGHUP from ending the edge.)
  process.on('SIGHUP', () => void edge.reopenAccessLog());
}

/** `run` is what the parsed options are handed to (tests pass one that records them). */
export function edgeCommand(run: (role: EdgeRoleOptions) => Promise<void> = runEdge): Command {
  const cmd = new Command('edge')
    .description('run an RFC 9111 caching reverse proxy (edge) in front of an origin')
    .addOption(new Option('--listen <host:port>', 'address(es) to listen on, e.g. 127.0.0.11:8080,[::1]:8080; comma list, repeatable (required without --config)').argParser(listFlag((t) => t)))
    .addOption(new Option('--origin <url>', 'origin server(s), e.g. http://127.0.0.1:8000,http://127.0.0.2:8000; comma list, repeatable (required without --config)').argParser(listFlag((t) => t)))
    .option('--origin-policy <name>', `how the origin pool picks a server: ${ORIGIN_POLICIES.join(', ')} (default: round-robin)`)
    .option('--origin-retries <n>', 'other servers a GET/HEAD that could not connect is retried on (default: 1)')
    .option('--origin-header-timeout <duration>', `a GET/HEAD whose origin server sends no byte within this is retried on another server, e.g. 2s (default: ${DEFAULT_HEADER_TIMEOUT_MS / 1000}s)`)
    .option('--sticky-cookie <name>', 'pin passed requests (uncacheable, Authorization, unsafe methods) to one origin server with this cookie')
    .option('--config <file>', "deployment file: take this edge's settings from it (with --name); other flags override them")
    .option('--max-bytes <size>', `memory for cached objects (bodies + headers) (default: ${DEFAULT_MAX_BYTES})`)
    .option('--max-object-bytes <size>', 'largest object stored; larger ones pass through (default: min(8MB, max-bytes/8))')
    .option('--expected-object-bytes <size>', 'mean object size expected; sizes the cache policy\'s fixed tables (default: 4KiB)')
    .option('--cache-policy <name>', `which objects the store keeps: ${CACHE_POLICIES.join(', ')} (default: ${DEFAULT_CACHE_POLICY})`)
    .option('--token <token>', `admin token: bearer token for the admin listener's /.dnscdn/ routes and PURGE (default: the file's, else $${TOKEN_ENV})`)
    .option('--admin-listen <host:port>', 'admin listener: /metrics, /.dnscdn/ purge, objects, replica (default: loopback, port + 1000)')
    .addOption(new Option('--purge-allow <cidrs>', 'networks whose PURGE the public port accepts (with the token); comma list, repeatable; default none').argParser(listFlag((c) => c)))
    .addOption(new Option('--origin-timeout <duration>', `origin response timeout, 504 after it (default: ${DEFAULT_ORIGIN_TIMEOUT_MS / 1000}s)`).argParser(durationFlag('--origin-timeout', 1, 'ms')))
    .option('--name <name>', 'edge name (Via header, metrics label); with --config, which edge of the file')
    .addOption(new Option('--ignore-cookies <names>', "cookie names (* wildcards) that do not make a response private, e.g. '_ga*,_gid'; comma list, repeatable").argParser(listFlag((c) => c)))
    .option('--distributor <url>', 'origin push: distribution node to receive pushes from and catch up with (needs the admin token)')
    .option('--state-dir <dir>', `origin push: replica journal and pushed bodies (default: ${stateDirOf('NAME')}, as in the deployment file)`)
    .option('--access-log <file|stderr>', 'one line per request to FILE (reopened on SIGHUP) or stderr (default: none, or the file\'s accessLog)')
    .option('--access-log-format <format>', 'combined (default) or json')
    .option('--no-compression', 'serve every answer as the origin coded it (default: br/gzip variants of stored text objects)')
    .addOption(new Option('--workers <n>', "worker processes sharing the port and one cache ring; 1 = a single process (default: the file's workers, else one per core)").argParser(integerFlag('--workers', EDGE_WORKERS_RANGE)))
    .option('--tls-ca <file>', "PEM CA bundle trusted for an https origin and the distribution links (default: the file's tls.ca, else public CAs)")
    .addOption(new Option('--tls-listen <host:port>', "HTTPS and HTTP/2 listener address(es), e.g. 127.0.0.11:8443,[::1]:8443; comma list, repeatable (default: with --config, the edge's tls.port on each of its addresses)").argParser(listFlag((t) => t)))
    .addOption(new Option('--tls-cert <files>', 'PEM certificate chain(s), chosen by SNI; comma list, repeatable; paired with --tls-key').argParser(listFlag((f) => f)))
    .addOption(new Option('--tls-key <files>', 'PEM private key(s), in the order of --tls-cert; comma list, repeatable').argParser(listFlag((f) => f)))
    .action(async (flags: EdgeFlags) => {
      const role = edgeRoleFromFlags(flags);
      reloadLogSettingsOnHangup('edge', flags.config);
      await run(role);
    });
  return addDeprecatedAlias(cmd, '--admin-token <token>', '--token');
}
