/** The edge's Prometheus metrics, registered on the instance's own registry (src/metrics.ts). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { EdgeTraffic } from './traffic.js';

export interface EdgeMetrics {
  /** Client responses by outcome, method and status class, bytes sent, durations (traffic.ts). */
  traffic: EdgeTraffic;
  hits: Counter;
  misses: Counter;
  staleServed: Counter;
  revalidations: Counter<'result'>;
  coalescedWaiters: Counter;
  /** Encoded variants made (compression.ts): once per stored object and coding, however many clients asked. */
  compressions: Counter<'coding'>;
  evictions: Counter;
  originLatency: Histogram;
}

/** What the metrics read from the store on each scrape. */
export interface StoreGauges {
  readonly bytes: number;
  readonly objects: number;
  readonly policyName: string;
  readonly rejections: number;
}

export function createEdgeMetrics(registry: Registry, store: StoreGauges): EdgeMetrics {
  // `aggregator`: how an edge primary combines its workers' values (cluster/metrics.ts); absent = sum.
  new Gauge({ name: 'dnscdn_edge_cache_policy_info', help: 'The store\'s eviction/admission policy (value 1)', labelNames: ['policy'], registers: [registry], aggregator: 'first', collect() { this.set({ policy: store.policyName }, 1); } });
  new Counter({ name: 'dnscdn_edge_admission_rejections_total', help: 'Fetched objects the policy did not admit (it kept what it holds)', registers: [registry], collect() { this.reset(); this.inc(store.rejections); } });
  new Gauge({ name: 'dnscdn_edge_stored_bytes', help: 'Bytes held by the edge store (body + headers)', registers: [registry], collect() { this.set(store.bytes); } });
  new Gauge({ name: 'dnscdn_edge_stored_objects', help: 'Objects (variants) held by the edge store', registers: [registry], collect() { this.set(store.objects); } });
  const traffic = new EdgeTraffic();
  traffic.register(registry);
  return {
    traffic,
    hits: new Counter({ name: 'dnscdn_edge_hits_total', help: 'Requests served from the store without contacting the origin', registers: [registry] }),
    misses: new Counter({ name: 'dnscdn_edge_misses_total', help: 'Requests with no usable stored response', registers: [registry] }),
    staleServed: new Counter({ name: 'dnscdn_edge_stale_total', help: 'Stale responses served (stale-while-revalidate, stale-if-error, max-stale)', registers: [registry] }),
    revalidations: new Counter({ name: 'dnscdn_edge_revalidations_total', help: 'Conditional requests to the origin, by result', labelNames: ['result'], registers: [registry] }),
    compressions: new Counter({ name: 'dnscdn_edge_compressions_total', help: 'Encoded (br, gzip) variants of stored objects made', labelNames: ['coding'], registers: [registry] }),
    coalescedWaiters: new Counter({ name: 'dnscdn_edge_coalesced_waiters_total', help: 'Requests that joined an in-flight origin fetch instead of starting one', registers: [registry] }),
    evictions: new Counter({ name: 'dnscdn_edge_evictions_total', help: 'Objects evicted by the byte bound (chosen by the cache policy)', registers: [registry] }),
    originLatency: new Histogram({
      name: 'dnscdn_edge_origin_latency_seconds',
      help: 'Time from origin request to response headers',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/** Per origin server of the edge's pool (origin-pool.ts): labelled by the server's URL, so bounded by the file. */
export function createOriginServerMetrics(registry: Registry, status: () => Array<{ url: string; available: boolean }>): {
  attempt(server: string, o: { kind: string; status: number; latencySec: number }): void;
  ejected(server: string): void;
} {
  const registers = [registry];
  new Gauge({
    name: 'dnscdn_edge_origin_up',
    help: 'Origin server may be picked (1: healthy and not ejected; with workers, by every worker)',
    labelNames: ['server'],
    registers,
    // Each worker ejects on its own failures: 0 as soon as one worker cannot pick the server.
    aggregator: 'min',
    collect() {
      for (const s of status()) this.set({ server: s.url }, s.available ? 1 : 0);
    },
  });
  const requests = new Counter({ name: 'dnscdn_edge_origin_requests_total', help: 'Requests sent to each origin server (retries count again)', labelNames: ['server'], registers });
  const errors = new Counter({ name: 'dnscdn_edge_origin_errors_total', help: 'Failed origin requests: connect-error, timeout, broken, aborted, or 5xx', labelNames: ['server', 'kind'], registers });
  const latency = new Histogram({
    name: 'dnscdn_edge_origin_server_latency_seconds',
    help: 'Time from request to response head (or failure), per origin server',
    labelNames: ['server'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const ejections = new Counter({ name: 'dnscdn_edge_origin_ejections_total', help: 'Times a server was ejected by the passive check', labelNames: ['server'], registers });
  return {
    attempt(server, o) {
      requests.inc({ server });
      latency.observe({ server }, o.latencySec);
      if (o.kind !== 'response') errors.inc({ server, kind: o.kind });
      else if (o.status >= 500) errors.inc({ server, kind: '5xx' });
    },
    ejected: (server) => ejections.inc({ server }),
  };
}
