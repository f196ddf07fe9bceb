/**
 * An edge's `origin` (or `edgeDefaults.origin`) as a pool: the file's forms, the defaults and the checks, shared by
 * load.ts and the `dnscdn edge` flags (edge/command.ts) so both accept and refuse the same things.
 *
 *   origin: http://127.0.0.1:8000                       # shorthand: a pool of one
 *   origin: [http://127.0.0.1:8000, http://127.0.0.2:8000]
 *   origin:
 *     policy: round-robin | weighted | least-connections | hash | failover
 *     servers: [ URL | { url, weight, backup, id } ... ]
 *     health: { path, interval, timeout, rise, fall }   # active checks; absent = passive only
 *     passive: { maxFails: 3, ejectFor: 10s }
 *     retries: 1
 *     timeouts: { header: 3s }                          # a silent server: retry a GET/HEAD elsewhere after this
 *     sticky: { cookie: NAME }
 */
import type { ConfigNode } from './reader.js';
import { ORIGIN_POLICIES, type HealthCheckConfig, type OriginPolicy, type OriginPoolConfig, type OriginServerConfig } from './types.js';
import { parseDuration } from './units.js';
import { createHmac } from 'node:crypto';

/**
 * nginx's defaults are max_fails=1, fail_timeout=10s; one failure is too eager for a pool whose retries already
 * hide a single refused connection, so three in a row (Envoy's consecutive_5xx default is 5) for 10 s.
 */
export const DEFAULT_PASSIVE = { maxFails: 3, ejectMs: 10_000 } as const;
/** One retry, as the issue asks: a second server, never a third (a retry storm multiplies load on a sick pool). */
export const DEFAULT_RETRIES = 1;
const MAX_RETRIES = 5;
/**
 * A GET/HEAD whose server has not sent a byte in 3 s is retried on another server (found by chaos: a frozen
 * replica, SIGSTOP, held every request pinned to it until active health ejected it). 3 s is far above a sound
 * origin's time to first byte for the demo's content (milliseconds) and leaves most of the 10 s origin timeout
 * to the retry; an origin that legitimately thinks longer should raise it.
 */
export const DEFAULT_HEADER_TIMEOUT_MS = 3000;
/** RFC 9110 §5.6.2 token: a cookie name or a server id that goes into one unquoted. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A stable id for a server the file gave none: 12 hex digits of an HMAC of its URL (not reversible by reading). */
export function serverIdFor(url: string): string {
  return createHmac('sha256', 'dnscdn-origin-server').update(url).digest('hex').slice(0, 12);
}

/** `http(s)://host:port` with nothing after it; the reason otherwise (https: TLS to the origin, http/link-tls.ts). */
export function parseOriginUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`"${text}" is not a URL (e.g. http://127.0.0.1:8000)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`"${text}": origin servers are reached over http:// or https://`);
  if (u.pathname !== '/' || u.search !== '' || u.username !== '') throw new Error(`"${text}": give scheme, host and port only (paths are forwarded as requested)`);
  return u.origin;
}

export function parseOriginPolicy(text: string): OriginPolicy {
  if (!(ORIGIN_POLICIES as readonly string[]).includes(text)) throw new Error(`unknown origin policy "${text}" (one of ${ORIGIN_POLICIES.join(', ')})`);
  return text as OriginPolicy;
}

export function parseStickyCookie(text: string): string {
  // No `*`: the name joins the edge's ignored-cookie patterns (policy.ts), where `*` is a wildcard.
  if (!TOKEN.test(text) || text.includes('*')) throw new Error(`"${text}" is not a cookie name (token characters, no *)`);
  return text;
}

/** A pool of these URLs with every default: the shorthand, the origin role's servers, `--origin` alone. */
export function originPoolOf(urls: readonly string[], policy: OriginPolicy = 'round-robin'): OriginPoolConfig {
  return { policy, servers: urls.map((url) => ({ id: serverIdFor(url), url, weight: 1, backup: false })), passive: { ...DEFAULT_PASSIVE }, retries: DEFAULT_RETRIES, headerTimeoutMs: DEFAULT_HEADER_TIMEOUT_MS };
}

export function readOriginPool(n: ConfigNode, readHealth: (n: ConfigNode, base: HealthCheckConfig) => HealthCheckConfig, defaultHealth: HealthCheckConfig): OriginPoolConfig {
  if (n.isList()) return { ...originPoolOf([]), servers: readServers(n) };
  if (!n.isMapping()) return originPoolOf([n.parse(parseOriginUrl)]);
  const f = n.fields(['policy', 'servers', 'health', 'passive', 'retries', 'timeouts', 'sticky']);
  if (!f.servers.present()) throw f.servers.error('is required (the origin servers: URLs, or { url, weight, backup, id })');
  const servers = readServers(f.servers);
  const pool: OriginPoolConfig = {
    policy: f.policy.present() ? f.policy.parse(parseOriginPolicy) : 'round-robin',
    servers,
    passive: { ...DEFAULT_PASSIVE },
    retries: f.retries.present() ? f.retries.integer({ min: 0, max: MAX_RETRIES }) : DEFAULT_RETRIES,
    headerTimeoutMs: DEFAULT_HEADER_TIMEOUT_MS,
  };
  if (f.timeouts.present()) {
    const t = f.timeouts.fields(['header']);
    if (t.header.present()) pool.headerTimeoutMs = t.header.parse(parseHeaderTimeout);
  }
  if (f.health.present()) pool.health = readHealth(f.health, defaultHealth);
  if (f.passive.present()) {
    const p = f.passive.fields(['maxFails', 'ejectFor']);
    if (p.maxFails.present()) pool.passive.maxFails = p.maxFails.integer({ min: 1, max: 1000 });
    if (p.ejectFor.present()) {
      pool.passive.ejectMs = p.ejectFor.parse(parseDuration);
      if (pool.passive.ejectMs < 1) throw p.ejectFor.error('must be longer than 0 (e.g. 10s)');
    }
  }
  if (f.sticky.present()) {
    const s = f.sticky.fields(['cookie']);
    pool.sticky = { cookie: s.cookie.parse(parseStickyCookie) };
  }
  if (servers.every((s) => s.backup)) throw f.servers.error('every server is a backup: at least one must not be');
  return pool;
}

function readServers(n: ConfigNode): OriginServerConfig[] {
  const items = n.itemsOrOne();
  if (items.length === 0) throw n.error('a pool needs at least one server');
  const servers: OriginServerConfig[] = [];
  for (const item of items) {
    let server: OriginServerConfig;
    if (item.isMapping()) {
      const f = item.fields(['url', 'weight', 'backup', 'id']);
      const url = f.url.parse(parseOriginUrl);
      server = {
        url,
        id: f.id.present() ? f.id.parse(serverId) : serverIdFor(url),
        weight: f.weight.present() ? f.weight.number({ min: 0.001, max: 1000 }) : 1,
        backup: f.backup.present() ? f.backup.boolean() : false,
      };
    } else {
      const url = item.parse(parseOriginUrl);
      server = { url, id: serverIdFor(url), weight: 1, backup: false };
    }
    if (servers.some((s) => s.url === server.url)) throw item.error(`server ${server.url} is listed twice`);
    if (servers.some((s) => s.id === server.id)) throw item.error(`id "${server.id}" is used twice`);
    servers.push(server);
  }
  return servers;
}

/** `timeouts.header` and `--origin-header-timeout`: a duration with units, 1 ms to 10 minutes. */
export function parseHeaderTimeout(text: string): number {
  const ms = parseDuration(text);
  if (ms < 1 || ms > 600_000) throw new Error(`"${text}": between 1ms and 10m`);
  return ms;
}

function serverId(text: string): string {
  if (!TOKEN.test(text) || text.length > 64) throw new Error(`"${text}" cannot be a server id: token characters, at most 64 (it is sent as a cookie value)`);
  return text;
}
