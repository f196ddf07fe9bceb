/**
 * The origin pool: an Upstream over one or more origin servers (nginx `upstream`, Varnish directors). Each server
 * is reached through its own SingleOrigin (its keep-alive connections, framing and timeout); the pool decides
 * which one is asked and what happens when it fails.
 *
 * Who may be picked. A server is available when its active check (optional; health/monitor.ts, the probe loop DNS
 * uses for edges) says up AND it is not ejected. Non-backup servers first; backups only when no other is left.
 * The policy (pool-policies.ts) picks among them.
 *
 * Passive checks (nginx max_fails/fail_timeout, Envoy consecutive-5xx outlier detection): `maxFails` consecutive
 * connect errors, timeouts, resets or 5xx from a server eject it for `ejectMs`; any other answer resets the count.
 * An ejected server comes back only when the back-off ends, even if an active probe passes meanwhile: the probe
 * asks one path (/healthz) while the ejection was earned on real requests, and an early return would flap.
 *
 * Retries (`mayRetry`, the one rule). A GET or HEAD without a body is sent once more (`retries`) to another
 * available server when the first could not connect, was reset before the response head, or sent not one byte
 * within the pool's header timeout (`timeouts.header`: a frozen or hung server; the method is idempotent, so a
 * request that reached a stuck application may be asked again). The header timeout applies only while another
 * server is left to try, and only to a server that has sent nothing: one that started its head, and the last
 * candidate, get what is left of the origin timeout, so a slow pool of one is not cut short. Retries share one origin timeout (a request never waits for a head longer than that, every server
 * down or not); a response is never retried (even a 5xx: the origin did answer), nor a server that had started
 * its head, nor a request with a body (it cannot be replayed). A header timeout is a failure for the passive
 * check like any other, so `maxFails` of them eject the server.
 *
 * Every server down: an `unavailable` failure at once (503 with Retry-After: until the first ejection ends, or
 * one probe interval), which the pipeline turns into stale-if-error when it may.
 *
 * Sticky (`sticky: { cookie }`): a request whose cookie names an available server goes there; otherwise the policy
 * picks, and the result carries a Set-Cookie naming the server that answered. The cookie never reaches the origin
 * (sticky-cookie.ts). Who gets the Set-Cookie is the caller's: a pass always; a fill only when its answer turns out
 * uncacheable (shared-fetch.ts), because a stored or shared answer is everyone's. Fills follow the pin too (the edge
 * cannot know before the answer whether it will be uncacheable), which a `hash` pool pays for in origin locality.
 */
import type { OriginPoolConfig, OriginServerConfig } from '../../config/types.js';
import { HttpError } from '../../errors.js';
import { HealthMonitor } from '../../health/monitor.js';
import { logger } from '../../log.js';
import { hashKey } from '../eviction/key-hash.js';
import { pickServer, type PolicyServer } from './pool-policies.js';
import { SingleOrigin } from './single-origin.js';
import { stickySetCookie, takeCookie, withoutCookie } from './sticky-cookie.js';
import { outcomeOf, type Upstream, type UpstreamFailure, type UpstreamOutcome, type UpstreamRequest, type UpstreamResult } from './upstream.js';

const log = logger('origin-pool');

/** What the pool reports per server (src/edge/metrics.ts `originServerMetrics`). Must not throw. */
export interface PoolObserver {
  attempt(server: string, outcome: UpstreamOutcome): void;
  ejected(server: string): void;
}

export interface OriginPoolOptions {
  pool: OriginPoolConfig;
  /** Each attempt's timeout (SingleOrigin): to response head, and the longest silence of the body. */
  timeoutMs: number;
  now?: () => number;
  observer?: PoolObserver;
}

interface PoolServer extends PolicyServer {
  readonly config: OriginServerConfig;
  readonly origin: SingleOrigin;
  /** Consecutive failures counted by the passive check. */
  fails: number;
  /** Ejected until this time (ms); 0 = not ejected. */
  ejectedUntil: number;
}

/** Failures that may be retried on another server: nothing of the request reached an application. */
const RETRYABLE = new Set(['connect-error', 'broken']);

/** The retry rule for an idempotent request: refused or reset, or a server silent past the header timeout. */
function mayRetry(failure: UpstreamFailure): boolean {
  return RETRYABLE.has(failure.kind) || (failure.kind === 'timeout' && failure.silent === true);
}

export class OriginPool implements Upstream {
  private readonly servers: PoolServer[];
  private readonly byId: Map<string, PoolServer>;
  private readonly monitor: HealthMonitor | undefined;
  private readonly now: () => number;
  private turn = 0;

  constructor(private readonly o: OriginPoolOptions) {
    this.now = o.now ?? Date.now;
    this.servers = o.pool.servers.map((config) => ({
      config,
      id: config.id,
      weight: config.weight,
      idHash: hashKey(config.id),
      active: 0,
      currentWeight: 0,
      fails: 0,
      ejectedUntil: 0,
      origin: new SingleOrigin({ origin: config.url, timeoutMs: o.timeoutMs }),
    }));
    this.byId = new Map(this.servers.map((s) => [s.id, s]));
    const health = o.pool.health;
    if (health) {
      const targets = this.servers.map((s) => {
        const u = new URL(s.config.url);
        return { id: s.id, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80), health };
      });
      this.monitor = new HealthMonitor(targets);
      this.monitor.onChange((c) => log[c.status === 'down' ? 'warn' : 'info'](`origin server ${c.status}`, { server: this.byId.get(c.id)?.config.url, reason: c.reason }));
      this.monitor.start();
    }
  }

  /** Each server's URL and whether it may be picked now (the up gauge). */
  status(): Array<{ url: string; id: string; available: boolean }> {
    const now = this.now();
    return this.servers.map((s) => ({ url: s.config.url, id: s.id, available: this.available(s, now) }));
  }

  async request(r: UpstreamRequest): Promise<UpstreamResult> {
    const sticky = this.o.pool.sticky;
    let req = r;
    let pinned: PoolServer | undefined;
    let cookieId: string | undefined;
    if (sticky) {
      const { value, rest } = takeCookie(r.headers.cookie, sticky.cookie);
      if (value !== undefined) {
        req = { ...r, headers: withoutCookie(r.headers, rest) };
        cookieId = value;
        pinned = this.byId.get(value);
      }
    }
    const idempotent = (r.method === 'GET' || r.method === 'HEAD') && r.body === undefined;
    const tried = new Set<PoolServer>();
    let last: UpstreamFailure | undefined;
    // Retries share the first attempt's timeout: a request never waits for a head longer than one origin timeout.
    const deadline = Date.now() + this.o.timeoutMs;
    for (let attempt = 0; attempt <= this.o.pool.retries; attempt++) {
      const now = this.now();
      const server = attempt === 0 && pinned && this.available(pinned, now) ? pinned : this.pick(req, now, tried);
      if (server === undefined) return last ?? this.unavailable(now);
      const budgetMs = deadline - Date.now();
      if (budgetMs < 1) return last!;
      tried.add(server);
      const another = idempotent && attempt < this.o.pool.retries && this.hasUntried(tried, now);
      const result = await this.send(server, req, budgetMs, another ? this.o.pool.headerTimeoutMs : budgetMs);
      if (result.kind === 'response') {
        if (sticky && cookieId !== server.id) result.setCookie = stickySetCookie(sticky.cookie, server.id);
        return result;
      }
      last = result;
      if (!idempotent || !mayRetry(result)) return result;
    }
    return last!;
  }

  close(): void {
    this.monitor?.stop();
    for (const s of this.servers) s.origin.close();
  }

  private available(s: PoolServer, now: number): boolean {
    return s.ejectedUntil <= now && (this.monitor?.isUp(s.id) ?? true);
  }

  /** Whether a server not tried yet may be picked (without moving the policy's turn, as `pick` would). */
  private hasUntried(tried: ReadonlySet<PoolServer>, now: number): boolean {
    return this.servers.some((s) => !tried.has(s) && this.available(s, now));
  }

  private pick(r: UpstreamRequest, now: number, tried: ReadonlySet<PoolServer>): PoolServer | undefined {
    let candidates = this.servers.filter((s) => !s.config.backup && !tried.has(s) && this.available(s, now));
    if (candidates.length === 0) candidates = this.servers.filter((s) => s.config.backup && !tried.has(s) && this.available(s, now));
    if (candidates.length === 0) return undefined;
    return pickServer(this.o.pool.policy, candidates, { turn: this.turn++, cacheKey: r.cacheKey });
  }

  private async send(s: PoolServer, r: UpstreamRequest, headTimeoutMs: number, firstByteTimeoutMs: number): Promise<UpstreamResult> {
    s.active++;
    const result = await s.origin.request(r, headTimeoutMs, firstByteTimeoutMs);
    if (result.kind === 'response') result.response.once('close', () => s.active--);
    else s.active--;
    this.o.observer?.attempt(s.config.url, outcomeOf(result));
    this.judge(s, result);
    return result;
  }

  /** The passive check: consecutive failures eject; anything else clears the count. An aborted upload says nothing. */
  private judge(s: PoolServer, result: UpstreamResult): void {
    if (result.kind === 'aborted') return;
    const failed = result.kind !== 'response' || result.status >= 500;
    if (!failed) {
      s.fails = 0;
      return;
    }
    if (++s.fails < this.o.pool.passive.maxFails) return;
    s.fails = 0;
    s.ejectedUntil = this.now() + this.o.pool.passive.ejectMs;
    log.warn('origin server ejected', { server: s.config.url, forMs: this.o.pool.passive.ejectMs, last: result.kind === 'response' ? String(result.status) : result.kind });
    this.o.observer?.ejected(s.config.url);
  }

  /** Every server is down: 503 now, with the time until the first one may be back. */
  private unavailable(now: number): UpstreamFailure {
    let waitMs = Infinity;
    for (const s of this.servers) {
      if (s.ejectedUntil > now) waitMs = Math.min(waitMs, s.ejectedUntil - now);
      else waitMs = Math.min(waitMs, this.o.pool.health?.intervalMs ?? 1000);
    }
    const retryAfterSec = Math.max(1, Math.ceil(waitMs / 1000));
    // The count, not the addresses: this text reaches clients (the log and /metrics name the servers).
    const error = new HttpError(503, `every origin server is down (${this.servers.length} of ${this.servers.length})`);
    return { kind: 'unavailable', error, retryAfterSec, target: 'origin pool', latencySec: 0 };
  }
}
