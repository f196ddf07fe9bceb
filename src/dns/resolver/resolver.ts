/**
 * The recursion handler (pipeline.ts `RecursionHandler`) the DNS server calls for RD=1 queries outside
 * our zones from clients in its recursion ACL: coalesces identical queries, runs the iterator, falls back to stale data (RFC 8767) and
 * turns the outcome into a reply with RA set. It never throws for anything an upstream server sends.
 */
import type { Registry } from 'prom-client';
import { logger } from '../../log.js';
import { nameKey } from '../name.js';
import { RCODE, type Message, type Question } from '../types.js';
import { ResolverCache, type EntryRead } from './cache.js';
import { Iterator, answerFromCache, type Resolution } from './iterator.js';
import { ServerHealth } from './infra.js';
import { ResolverMetrics } from './metrics.js';
import { resolveOptions, type ResolvedOptions, type ResolverOptions } from './options.js';
import { UpstreamClient } from './upstream.js';

const log = logger('resolver');

/** A fresh answer the cache holds (see `Resolver.cachedAnswer`). */
export interface CachedReply {
  rcode: number;
  /** The entries the answer was read from, in walk order (see `answerFromCache`). */
  reads: EntryRead[];
  /** Per record in reply order (answers, then the SOA of a negative answer): its entry's expiry, in ms. */
  expiries: number[];
}

/** Query types a recursive resolver does not iterate for: zone transfers and ANY (RFC 8482). */
const NOT_RESOLVED = new Set(['AXFR', 'IXFR', 'ANY']);

export class Resolver {
  readonly metrics: ResolverMetrics;
  readonly cache: ResolverCache;
  private readonly options: ResolvedOptions;
  private readonly iterator: Iterator;
  /** Resolutions in flight by question key: identical concurrent queries share one (bounded by maxInflight). */
  private readonly inflight = new Map<string, Promise<Resolution>>();

  constructor(options: ResolverOptions, registry: Registry) {
    this.options = resolveOptions(options);
    this.metrics = new ResolverMetrics(registry);
    this.cache = new ResolverCache({
      maxEntries: this.options.cacheMaxEntries,
      maxBytes: this.options.cacheMaxBytes,
      minTtl: this.options.minTtl,
      maxTtl: this.options.maxTtl,
      maxNegativeTtl: this.options.maxNegativeTtl,
      staleWindow: this.options.staleWindow,
      now: this.options.now,
    });
    const upstream = new UpstreamClient({
      udpPayloadSize: this.options.udpPayloadSize,
      randomizeCase: this.options.randomizeCase,
      onSend: (transport) => this.metrics.inc('upstreamQueries', { transport }),
      onDiscard: (reason) => this.metrics.inc('discardedReplies', { reason }),
    });
    // 60 s: long enough to spare many client queries a timeout, short enough to notice a server is back.
    // EDNS memory 15 min: Unbound's infra-host-ttl, after which a server's EDNS support is probed again.
    const health = new ServerHealth({ maxEntries: 10_000, holdDownMs: 60_000, ednsMemoryMs: 900_000, now: this.options.now });
    this.iterator = new Iterator(this.options, this.cache, upstream, health);
  }

  /** The pipeline has already checked RD=1, the recursion ACL and that the name is outside our zones. */
  canHandle(): boolean {
    return true;
  }

  /**
   * What `resolve` answers from the cache alone for `question`, right now: the rcode, the entries the
   * answer was read from and the expiry behind each record's TTL; undefined when the cache cannot answer
   * it fresh (then `resolve` iterates or serves stale). For the resolver's fast path
   * (resolver-fastpath.ts), which keeps encoded replies and patches TTLs until a read changes.
   */
  cachedAnswer(question: Question): CachedReply | undefined {
    if (NOT_RESOLVED.has(question.type)) return undefined;
    const reads: EntryRead[] = [];
    const cached = answerFromCache(this.cache, question.name, question.type, question.class, { allowStale: false }, this.options.maxCnameChain, reads);
    if (cached.kind !== 'complete' || cached.stale) return undefined;
    const r = cached.resolution;
    const final = reads[reads.length - 1];
    if (r.kind === 'failure' || final === undefined) return undefined;
    // records = one CNAME per followed hop (reads before the last), then the final entry's records.
    const expiries = r.records.map((_, i) => (i < reads.length - 1 ? reads[i]! : final).expiresAt);
    if (r.kind !== 'answer' && r.soa) expiries.push(final.expiresAt);
    return { rcode: r.kind === 'nxdomain' ? RCODE.NXDOMAIN : RCODE.NOERROR, reads, expiries };
  }

  /** The resolver cache's clock, in ms: what TTLs count down against. */
  cacheNow(): number {
    return this.options.now();
  }

  /** The fast path answered from these entries: keep them as recently used in the cache's LRU order. */
  touchCached(reads: readonly EntryRead[]): void {
    this.cache.touch(reads);
  }

  /** Counts a query the fast path answered from the cache, as `resolve` counts its cache hits. */
  countCacheHit(): void {
    this.metrics.inc('cacheHits');
  }

  /** Answers one client query (QDCOUNT = 1 already checked by the server); the pipeline sets id, flags and OPT. */
  async resolve(query: Message): Promise<Message> {
    const question = query.questions[0];
    if (question === undefined) return this.reply(query, RCODE.FORMERR);
    if (NOT_RESOLVED.has(question.type)) return this.reply(query, RCODE.NOTIMP);
    const { resolution, stale } = await this.resolveShared(question);
    if (stale) this.metrics.inc('staleAnswers');
    switch (resolution.kind) {
      case 'answer':
        return { ...this.reply(query, RCODE.NOERROR), answers: resolution.records };
      case 'nxdomain':
      case 'nodata':
        return {
          ...this.reply(query, resolution.kind === 'nxdomain' ? RCODE.NXDOMAIN : RCODE.NOERROR),
          answers: resolution.records,
          authorities: resolution.soa ? [resolution.soa] : [],
        };
      case 'failure':
        this.metrics.inc('servfails');
        return this.reply(query, RCODE.SERVFAIL);
    }
  }

  private resolveShared(question: Question): Promise<{ resolution: Resolution; stale: boolean }> {
    const key = `${nameKey(question.name)}|${question.type}|${question.class}`;
    let fresh = this.inflight.get(key);
    if (fresh) {
      this.metrics.inc('coalesced');
    } else if (this.inflight.size >= this.options.maxInflight) {
      fresh = Promise.resolve({ kind: 'failure', reason: 'too many resolutions in flight' });
    } else {
      fresh = this.iterate(question).finally(() => this.inflight.delete(key));
      this.inflight.set(key, fresh);
    }
    return this.withStaleFallback(question, fresh);
  }

  /** Runs the iterator; never rejects (a thrown bug becomes a failure). */
  private async iterate(question: Question): Promise<Resolution> {
    const budget = this.iterator.newBudget();
    let resolution: Resolution;
    try {
      resolution = await this.iterator.resolve(question, budget);
    } catch (err) {
      // A bug, not an upstream's fault: log it and answer SERVFAIL rather than crash.
      log.error('resolution failed', { name: question.name, type: question.type, error: err instanceof Error ? err.message : String(err) });
      resolution = { kind: 'failure', reason: 'internal error' };
    }
    this.metrics.inc(budget.queriesSent === 0 && resolution.kind !== 'failure' ? 'cacheHits' : 'cacheMisses');
    if (resolution.kind === 'failure') log.debug('resolution failed', { name: question.name, type: question.type, reason: resolution.reason });
    return resolution;
  }

  /**
   * RFC 8767 §5: expired data within the stale window is better than SERVFAIL, both when resolution
   * fails and when it is still running once the client response timer fires (the resolution then goes
   * on in the background and refreshes the cache when an authority answers).
   */
  private async withStaleFallback(question: Question, fresh: Promise<Resolution>): Promise<{ resolution: Resolution; stale: boolean }> {
    if (this.options.staleWindow <= 0) return { resolution: await fresh, stale: false };
    let timer: NodeJS.Timeout | undefined;
    const clientTimer = new Promise<'timer'>((resolve) => {
      timer = setTimeout(() => resolve('timer'), this.options.staleAnswerTimeoutMs);
    });
    const first = await Promise.race([fresh, clientTimer]);
    clearTimeout(timer);
    if (first === 'timer') {
      const stale = this.staleAnswer(question);
      if (stale) return stale;
    }
    const resolution = first === 'timer' ? await fresh : first;
    if (resolution.kind !== 'failure') return { resolution, stale: false };
    return this.staleAnswer(question) ?? { resolution, stale: false };
  }

  private staleAnswer(question: Question): { resolution: Resolution; stale: boolean } | undefined {
    const cached = answerFromCache(this.cache, question.name, question.type, question.class, { allowStale: true }, this.options.maxCnameChain);
    return cached.kind === 'complete' ? { resolution: cached.resolution, stale: cached.stale } : undefined;
  }

  /** A reply skeleton: the question echoed as sent, RD copied, RA set (RFC 1035 §4.1.1). */
  private reply(query: Message, rcode: number): Message {
    return {
      id: query.id,
      opcode: query.opcode,
      rcode,
      flags: { qr: true, aa: false, tc: false, rd: query.flags.rd, ra: true, ad: false, cd: query.flags.cd },
      questions: query.questions,
      answers: [],
      authorities: [],
      additionals: [],
      ...(query.edns ? { edns: { udpPayloadSize: this.options.udpPayloadSize, version: 0, dnssecOk: false, otherOptions: [] } } : {}),
    };
  }
}
