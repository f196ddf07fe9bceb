/**
 * Prometheus metrics of one DNS server. The hot path only bumps plain numbers (PipelineStats, the
 * catalog's load counters, the TCP counters); every metric here is filled by a `collect()` callback
 * when the registry is scraped, so a query never pays for a label lookup.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { MirroredHistogram } from '../mirrored-histogram.js';
import type { PipelineStats } from './pipeline.js';
import type { RrlCounters } from './rrl.js';
import { LATENCY_BUCKETS, QTYPE_LABELS } from './query-stats.js';
import { rcodeName } from './rcode-names.js';
import type { TcpCloseReason } from './tcp.js';
import type { TcpRefusalReason } from './tcp-admission.js';
import type { ZoneCatalog } from './zone/catalog.js';

/** Where the numbers come from; all read at scrape time. */
export interface DnsMetricSources {
  stats: PipelineStats;
  zones: ZoneCatalog;
  tcpOpen: () => number;
  tcpRefused: () => Readonly<Record<TcpRefusalReason, number>>;
  tcpClosed: () => Readonly<Record<TcpCloseReason, number>>;
  tcpClientNetworks: () => number;
  fastPathEntries: () => number;
  /** RRL counters (rrl.ts); undefined when RRL is off (the metrics then read 0). */
  rrl: () => Readonly<RrlCounters> | undefined;
}


/** A counter whose value is copied from a plain number at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A counter with a `reason` label whose values are copied from a record of plain numbers at scrape time. */
function mirroredCounterByReason(registry: Registry, name: string, help: string, read: () => Readonly<Record<string, number>>): void {
  new Counter({
    name,
    help,
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(read())) this.inc({ reason }, n);
    },
  });
}

function mirroredGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

export function registerDnsMetrics(registry: Registry, src: DnsMetricSources): void {
  const { stats, zones } = src;
  new Counter({
    name: 'dnscdn_dns_queries_total',
    help: `Queries (UDP datagrams and TCP frames), counted when answered or dropped, by transport and question type (${QTYPE_LABELS.slice(0, -1).join(' ')}; OTHER for every other type or no readable question)`,
    labelNames: ['transport', 'qtype'],
    registers: [registry],
    collect() {
      this.reset();
      for (const transport of ['udp', 'tcp'] as const) {
        for (const qtype of QTYPE_LABELS) {
          const n = stats.queries.queries(transport, qtype);
          if (n > 0) this.inc({ transport, qtype }, n);
        }
      }
    },
  });
  const q = stats.queries;
  new MirroredHistogram(registry, { name: DURATION_NAME, help: DURATION_HELP, bounds: LATENCY_BUCKETS }, () => ({ buckets: q.latencyBuckets, sum: q.latencySum, count: q.latencyCount }));
  new Counter({
    name: 'dnscdn_dns_handled_total',
    help: 'Replies by the chain entry that gave them (src/dns/chain.ts; fastpath = encoded-answer cache)',
    labelNames: ['handler'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [handler, n] of Object.entries(stats.byHandler)) this.inc({ handler }, n);
    },
  });
  new Counter({
    name: 'dnscdn_dns_responses_total',
    help: 'Replies sent, by rcode',
    labelNames: ['rcode'],
    registers: [registry],
    collect() {
      this.reset();
      stats.rcodes.forEach((n, rcode) => {
        if (n > 0) this.inc({ rcode: rcodeName(rcode) }, n);
      });
    },
  });
  mirroredCounter(registry, 'dnscdn_dns_fastpath_hits_total', 'Queries answered from the encoded-answer cache', () => stats.byHandler.fastpath ?? 0);
  mirroredGauge(registry, 'dnscdn_dns_fastpath_entries', 'Encoded answers kept for the fast path', src.fastPathEntries);
  mirroredCounter(registry, 'dnscdn_dns_formerr_total', 'Queries answered FORMERR (unreadable or invalid)', () => stats.formerr);
  mirroredCounter(registry, 'dnscdn_dns_dropped_total', 'Packets dropped unanswered (no header, or a response)', () => stats.dropped);
  mirroredCounter(registry, 'dnscdn_dns_truncated_total', 'UDP replies truncated to the client size (TC=1)', () => stats.truncated);
  mirroredCounter(registry, 'dnscdn_dns_handler_errors_total', 'Queries whose answering threw at any step (SERVFAIL sent)', () => stats.errors);
  new Counter({
    name: 'dnscdn_dns_internal_errors_total',
    help: 'Queries answered SERVFAIL because a chain entry or the encoder threw (a bug or data that cannot be sent), by step',
    labelNames: ['step'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [step, n] of Object.entries(stats.internalErrors)) this.inc({ step }, n);
    },
  });
  mirroredCounter(registry, 'dnscdn_dns_rrl_limited_total', 'UDP replies over the response-rate limit (slipped + dropped)', () => src.rrl()?.limited ?? 0);
  mirroredCounter(registry, 'dnscdn_dns_rrl_slipped_total', 'Limited UDP replies sent truncated (TC=1, no records) so the client retries over TCP', () => src.rrl()?.slipped ?? 0);
  mirroredCounter(registry, 'dnscdn_dns_rrl_dropped_total', 'Limited UDP replies not sent', () => src.rrl()?.dropped ?? 0);
  mirroredGauge(registry, 'dnscdn_dns_tcp_connections_open', 'Open TCP connections', src.tcpOpen);
  mirroredGauge(registry, 'dnscdn_dns_tcp_client_networks', 'Client networks (/24, /56 by default) holding open TCP connections', src.tcpClientNetworks);
  mirroredCounterByReason(
    registry,
    'dnscdn_dns_tcp_connections_refused_total',
    'TCP connections reset at once, by reason (listener_cap: the listen address is full; network_cap: the client network is)',
    src.tcpRefused,
  );
  mirroredCounterByReason(
    registry,
    'dnscdn_dns_tcp_connections_closed_total',
    'TCP connections the server closed, by reason (idle, frame_timeout: a query not whole in time, bad_length, write_backlog)',
    src.tcpClosed,
  );
  new Counter({
    name: 'dnscdn_dns_zone_loads_total',
    help: 'Zone files loaded by (re)loads, by result (failed: the zone had errors; its last good version keeps serving)',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'ok' }, zones.loads.ok);
      this.inc({ result: 'failed' }, zones.loads.failed);
    },
  });
  new Gauge({
    name: 'dnscdn_dns_zone_serial',
    help: 'SOA serial of each zone served',
    labelNames: ['zone'],
    // Under --workers the primary aggregates every worker's registry: the newest serial, not a sum.
    aggregator: 'max',
    registers: [registry],
    collect() {
      this.reset();
      for (const zone of zones.zoneSet.all()) {
        const soa = zone.soa.records[0];
        if (soa?.type === 'SOA') this.set({ zone: zone.apex === '' ? '.' : zone.apex }, soa.data.serial ?? 0);
      }
    },
  });
}

const DURATION_NAME = 'dnscdn_dns_request_duration_seconds';
const DURATION_HELP = 'Time from receiving a query to having its reply bytes (or deciding to drop it), in seconds; every query, every transport';
