/**
 * What the edge answered its clients, counted on the request path without allocating: plain numbers and typed
 * arrays indexed by outcome, method and status class, handed to prom-client only when `/metrics` is scraped.
 * A labelled prom-client `inc()` hashes its labels on every call (about 60 ns measured on node 20, a tenth of the
 * in-process hit path), and `labels()` children only bind the same call, so the hit path must not use them.
 * Health probes (`GET /healthz`) are counted apart: they are not client requests.
 */
import type { Socket } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import { MirroredHistogram } from '../mirrored-histogram.js';

/** X-Cache outcomes, plus SYNTH for answers made by the edge itself (400, 413, 414, 502, 504, a refused PURGE). */
export const OUTCOMES = ['HIT', 'MISS', 'STALE', 'REVALIDATED', 'PASS', 'SYNTH'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const SYNTH_OUTCOME = OUTCOMES.indexOf('SYNTH');
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** Metric label values come from a fixed set, so a client cannot grow the label space. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PURGE', 'OTHER'] as const;
/**
 * Seconds from request to complete response. A hit answered in process takes microseconds, so the low buckets
 * are fine-grained; the high ones cover origin fetches up to the default 10 s origin timeout.
 */
const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class EdgeTraffic {
  private readonly responses = new Float64Array(OUTCOMES.length * STATUS_CLASSES.length);
  private readonly methods = new Float64Array(METHODS.length);
  readonly buckets = new Float64Array(DURATION_BUCKETS.length);
  durationSum = 0;
  durationCount = 0;
  probes = 0;
  /** Bytes sent on closed client connections; open ones are read on scrape (a cost per connection, not per request). */
  private closedBytes = 0;
  private readonly open = new Set<Socket>();

  /** Counts what a client connection sends, headers and bodies, as the kernel was handed it. */
  trackConnection(socket: Socket): void {
    this.open.add(socket);
    socket.once('close', () => {
      this.open.delete(socket);
      this.closedBytes += socket.bytesWritten;
    });
  }

  sentBytes(): number {
    let n = this.closedBytes;
    for (const s of this.open) n += s.bytesWritten;
    return n;
  }

  /** One finished client response: its outcome (OUTCOMES index), method, status and duration in seconds. */
  record(outcome: number, method: string | undefined, status: number, seconds: number): void {
    const cls = status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : 4;
    this.responses[outcome * STATUS_CLASSES.length + cls]!++;
    this.methods[methodIndex(method)]!++;
    this.durationSum += seconds;
    this.durationCount++;
    // Cumulative buckets are summed at scrape time; here only the first bucket that holds the value is counted.
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      if (seconds <= DURATION_BUCKETS[i]!) {
        this.buckets[i]!++;
        return;
      }
    }
  }

  /** Registers the counters and the histogram; their values are read from this object on each scrape. */
  register(registry: Registry): void {
    const traffic = this;
    new Counter({
      name: 'dnscdn_edge_responses_total',
      help: 'Client responses by cache outcome and status class (health probes not included)',
      labelNames: ['cache', 'code'],
      registers: [registry],
      collect() {
        this.reset();
        for (let o = 0; o < OUTCOMES.length; o++)
          for (let c = 0; c < STATUS_CLASSES.length; c++) {
            const n = traffic.responses[o * STATUS_CLASSES.length + c]!;
            if (n > 0) this.inc({ cache: OUTCOMES[o], code: STATUS_CLASSES[c] }, n);
          }
      },
    });
    new Counter({
      name: 'dnscdn_edge_requests_total',
      help: 'Client requests answered, by method (health probes not included)',
      labelNames: ['method'],
      registers: [registry],
      collect() {
        this.reset();
        for (let i = 0; i < METHODS.length; i++) if (traffic.methods[i]! > 0) this.inc({ method: METHODS[i] }, traffic.methods[i]!);
      },
    });
    new Counter({
      name: 'dnscdn_edge_health_probes_total',
      help: 'GET /healthz answered on the public port (load balancers, the DNS role\'s health checks)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(traffic.probes);
      },
    });
    new Counter({
      name: 'dnscdn_edge_sent_bytes_total',
      help: 'Bytes written to client connections on the public port (headers and bodies)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(traffic.sentBytes());
      },
    });
    new MirroredHistogram(registry, { name: DURATION_NAME, help: DURATION_HELP, bounds: DURATION_BUCKETS }, () => ({ buckets: traffic.buckets, sum: traffic.durationSum, count: traffic.durationCount }));
  }

}

const DURATION_NAME = 'dnscdn_edge_request_duration_seconds';
const DURATION_HELP = 'Seconds from a client request to its complete response (health probes not included)';

function methodIndex(m: string | undefined): number {
  switch (m) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    case 'PATCH':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'PURGE':
      return 7;
    default:
      return 8;
  }
}
