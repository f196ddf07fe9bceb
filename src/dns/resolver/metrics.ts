/**
 * Resolver counters, registered in the owning server's registry (one per instance, see src/metrics.ts).
 * `snapshot()` reads them synchronously for tests and logs that assert on counters.
 */
import { Counter, type Registry } from 'prom-client';

export interface ResolverCounts {
  cacheHits: number;
  cacheMisses: number;
  upstreamQueries: number;
  servfails: number;
  staleAnswers: number;
  coalesced: number;
  discardedReplies: number;
}

export class ResolverMetrics {
  private readonly counts: ResolverCounts = {
    cacheHits: 0,
    cacheMisses: 0,
    upstreamQueries: 0,
    servfails: 0,
    staleAnswers: 0,
    coalesced: 0,
    discardedReplies: 0,
  };
  private readonly counters: Record<keyof ResolverCounts, Counter>;

  constructor(registry: Registry) {
    const make = (name: string, help: string, labelNames: string[] = []): Counter =>
      new Counter({ name: `dnscdn_resolver_${name}`, help, labelNames, registers: [registry] });
    this.counters = {
      cacheHits: make('cache_hits_total', 'Client queries answered from the cache without upstream queries'),
      cacheMisses: make('cache_misses_total', 'Client queries that needed at least one upstream query'),
      upstreamQueries: make('upstream_queries_total', 'Queries sent to authorities or forwarders', ['transport']),
      servfails: make('servfail_total', 'Client queries answered SERVFAIL'),
      staleAnswers: make('stale_answers_total', 'Client queries answered from expired cache entries (RFC 8767)'),
      coalesced: make('coalesced_total', 'Client queries that joined a resolution already in flight'),
      discardedReplies: make('discarded_replies_total', 'Upstream datagrams ignored: forged, stray or malformed', ['reason']),
    };
  }

  inc(name: keyof ResolverCounts, labels?: Record<string, string>): void {
    this.counts[name]++;
    if (labels) this.counters[name].inc(labels);
    else this.counters[name].inc();
  }

  snapshot(): ResolverCounts {
    return { ...this.counts };
  }
}
