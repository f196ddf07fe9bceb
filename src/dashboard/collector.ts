/**
 * What the dashboard shows, gathered from what the roles already export: the DNS role's own health checker
 * and steering (in process), each edge's admin `/metrics`, and the distribution node's status and journal
 * (with the admin token). One sample a second; rates are differences between samples. A role that does not
 * answer is shown as unknown, never as an error of the page.
 */
import type { Deployment } from '../config/types.js';
import { adminToken, edgeAdminUrl, originAdminUrl } from '../config/reach.js';
import { decodeStream } from '../distribution/frames.js';
import { describeTarget, type Operation } from '../distribution/operations.js';
import type { HealthChange } from '../health/checker.js';
import { request } from '../http/client.js';
import { logger } from '../log.js';
import { readCounterSums } from './prometheus-text.js';

const log = logger('dashboard');

export interface EdgeView {
  name: string;
  lat: number;
  lon: number;
  health: 'up' | 'down' | 'unknown';
  reason: string;
  /** Client requests a second over the last sample; null until two samples exist or when the edge does not answer. */
  requestsPerSecond: number | null;
  /** Hits / (hits + misses) over the last sample. */
  hitRatio: number | null;
  bytesPerSecond: number | null;
  /** Operations behind the journal; null without origin push or when the node does not answer. */
  lag: number | null;
}

export interface PoolView {
  pool: string;
  /** Per sample client network: the edges it is given now. */
  answers: Array<{ network: string; place: string; edges: string[] }>;
}

export interface FeedItem {
  at: string;
  kind: 'health' | 'push' | 'purge';
  text: string;
}

export interface Snapshot {
  at: string;
  edges: EdgeView[];
  pools: PoolView[];
  journalSeq: number | null;
}

export interface DashboardSources {
  deployment(): Deployment;
  health(): Array<{ edge: string; status: 'up' | 'down'; lastReason: string }>;
  onHealthChange(listener: (change: HealthChange) => void): void;
  /**
   * The edges the pool gives a client of this network now: in process, without giving an answer; from a DNS
   * primary whose workers hold the steering, by asking the DNS (then the answer is addresses).
   */
  preview(pool: string, clientAddress: string, prefixLength: number): string[] | undefined | Promise<string[] | undefined>;
}

/**
 * Client networks whose answers the dashboard shows, one per continent; where the shipped geo database
 * (DB-IP City Lite) places them.
 */
export const SAMPLE_NETWORKS: ReadonlyArray<{ network: string; place: string }> = [
  { network: '81.2.69.0/24', place: 'London' },
  { network: '194.25.0.0/24', place: 'Frankfurt' },
  { network: '8.8.8.0/24', place: 'California' },
  { network: '200.160.0.0/24', place: 'São Paulo' },
  { network: '41.0.0.0/24', place: 'Johannesburg' },
  { network: '49.44.0.0/24', place: 'Mumbai' },
  { network: '1.0.16.0/24', place: 'Tokyo' },
  { network: '1.1.1.0/24', place: 'Sydney' },
];

/** Feed entries kept for a newly connected page. */
const FEED_LENGTH = 50;
/** Operations read per sample when the journal moved (the feed shows what happened, not a full log). */
const FEED_OPS_PER_SAMPLE = 20;
const SCRAPE_TIMEOUT_MS = 800;

interface EdgeCounters {
  at: number;
  requests: number;
  hits: number;
  misses: number;
  bytes: number | undefined;
}

export class DashboardCollector {
  private readonly feed: FeedItem[] = [];
  private readonly previous = new Map<string, EdgeCounters>();
  private readonly listeners: Array<(event: { snapshot?: Snapshot; feed?: FeedItem[] }) => void> = [];
  private journalSeq: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private latest: Snapshot | undefined;
  private sampling = false;

  constructor(
    private readonly sources: DashboardSources,
    private readonly intervalMs = 1000,
  ) {
    sources.onHealthChange((c) => this.addFeed([{ at: new Date().toISOString(), kind: 'health', text: `${c.edge} ${c.status}${c.reason ? `: ${c.reason}` : ''}` }]));
  }

  start(): void {
    if (this.timer) return;
    const tick = (): void => void this.sample();
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The last snapshot and the feed, for a page that just connected. */
  current(): { snapshot: Snapshot | undefined; feed: FeedItem[] } {
    return { snapshot: this.latest, feed: [...this.feed] };
  }

  /**
   * Sampling runs only while a page listens: it scrapes every edge, and with DNS workers asks the DNS for the
   * sample networks' answers, which nobody should pay for (or see in query logs and metrics) unwatched.
   */
  subscribe(listener: (event: { snapshot?: Snapshot; feed?: FeedItem[] }) => void): () => void {
    this.listeners.push(listener);
    if (this.listeners.length === 1) this.start();
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
      if (this.listeners.length === 0) this.stop();
    };
  }

  /** One sample of every source; samples never overlap (a slow edge delays the next, it does not pile up). */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const d = this.sources.deployment();
      const health = new Map(this.sources.health().map((h) => [h.edge, h]));
      const [counters, distribution] = await Promise.all([Promise.all(d.edges.map((e) => this.scrapeEdge(edgeAdminUrl(e)))), this.readDistribution(d)]);
      const now = Date.now();
      const edges = d.edges.map((e, i): EdgeView => {
        const h = health.get(e.name);
        const c = counters[i];
        const view: EdgeView = {
          name: e.name,
          lat: e.location.lat,
          lon: e.location.lon,
          health: h?.status ?? 'unknown',
          reason: h?.lastReason ?? '',
          requestsPerSecond: null,
          hitRatio: null,
          bytesPerSecond: null,
          lag: distribution?.lags.get(e.name) ?? null,
        };
        const before = this.previous.get(e.name);
        if (c === undefined) {
          this.previous.delete(e.name);
          return view;
        }
        this.previous.set(e.name, { ...c, at: now });
        if (before === undefined || now <= before.at || c.requests < before.requests) return view; // first sample, or the edge restarted
        const seconds = (now - before.at) / 1000;
        view.requestsPerSecond = (c.requests - before.requests) / seconds;
        const looked = c.hits - before.hits + (c.misses - before.misses);
        view.hitRatio = looked > 0 ? (c.hits - before.hits) / looked : null;
        if (c.bytes !== undefined && before.bytes !== undefined) view.bytesPerSecond = (c.bytes - before.bytes) / seconds;
        return view;
      });
      const pools = await Promise.all(
        d.pools.map(
          async (p): Promise<PoolView> => ({
            pool: p.name,
            answers: await Promise.all(
              SAMPLE_NETWORKS.map(async ({ network, place }) => {
                const [address, prefix] = network.split('/') as [string, string];
                return { network, place, edges: (await this.sources.preview(p.name, address, Number(prefix))) ?? [] };
              }),
            ),
          }),
        ),
      );
      this.latest = { at: new Date(now).toISOString(), edges, pools, journalSeq: distribution?.lastSeq ?? this.journalSeq };
      for (const l of this.listeners) l({ snapshot: this.latest });
    } catch (err) {
      log.debug('dashboard sample failed', { error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.sampling = false;
    }
  }

  private addFeed(items: FeedItem[]): void {
    if (items.length === 0) return;
    this.feed.push(...items);
    if (this.feed.length > FEED_LENGTH) this.feed.splice(0, this.feed.length - FEED_LENGTH);
    for (const l of this.listeners) l({ feed: items });
  }

  private async scrapeEdge(adminUrl: string): Promise<Omit<EdgeCounters, 'at'> | undefined> {
    try {
      const res = await request(`${adminUrl}/metrics`, { timeoutMs: SCRAPE_TIMEOUT_MS });
      if (res.status !== 200) return undefined;
      const sums = readCounterSums(res.body.toString('utf8'), ['dnscdn_edge_requests_total', 'dnscdn_edge_hits_total', 'dnscdn_edge_misses_total', 'dnscdn_edge_sent_bytes_total']);
      return { requests: sums.get('dnscdn_edge_requests_total') ?? 0, hits: sums.get('dnscdn_edge_hits_total') ?? 0, misses: sums.get('dnscdn_edge_misses_total') ?? 0, bytes: sums.get('dnscdn_edge_sent_bytes_total') };
    } catch {
      return undefined;
    }
  }

  /** Per-edge lag and the journal's sequence from the distribution node; new operations go to the feed. */
  private async readDistribution(d: Deployment): Promise<{ lastSeq: number; lags: Map<string, number> } | undefined> {
    const token = adminToken(d);
    if (!d.origin || token === undefined) return undefined;
    const base = originAdminUrl(d);
    const headers = { authorization: `Bearer ${token}` };
    try {
      const res = await request(`${base}/.dnscdn/status`, { headers, timeoutMs: 2 * SCRAPE_TIMEOUT_MS });
      if (res.status !== 200) return undefined;
      const status = JSON.parse(res.body.toString('utf8')) as { journal?: { lastSeq?: unknown }; edges?: Array<{ name?: unknown; lagOps?: unknown }> };
      const lastSeq = typeof status.journal?.lastSeq === 'number' ? status.journal.lastSeq : undefined;
      if (lastSeq === undefined) return undefined;
      const lags = new Map<string, number>();
      for (const e of status.edges ?? []) if (typeof e.name === 'string' && typeof e.lagOps === 'number') lags.set(e.name, e.lagOps);
      if (this.journalSeq !== null && lastSeq > this.journalSeq) await this.readNewOperations(base, headers, this.journalSeq);
      this.journalSeq = lastSeq;
      return { lastSeq, lags };
    } catch {
      return undefined;
    }
  }

  private async readNewOperations(base: string, headers: Record<string, string>, since: number): Promise<void> {
    const res = await request(`${base}/.dnscdn/journal?since=${since}&maxBody=0`, { headers, timeoutMs: 2 * SCRAPE_TIMEOUT_MS });
    if (res.status !== 200) return;
    const ops: Operation[] = [];
    for (const item of decodeStream(res.body)) if (item.kind === 'op') ops.push(item.op);
    this.addFeed(ops.slice(-FEED_OPS_PER_SAMPLE).map((op) => feedItemOf(op)));
  }
}

function feedItemOf(op: Operation): FeedItem {
  const at = new Date().toISOString();
  if (op.kind === 'put') return { at, kind: 'push', text: `push ${op.path} (seq ${op.seq})` };
  return { at, kind: 'purge', text: `purge ${describeTarget(op.target)} (seq ${op.seq})` };
}
