import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics, type Metric } from 'prom-client';

/**
 * Every server instance owns a prom-client Registry of its own (tests start several in one process,
 * and the default global registry would reject the second set of metric names).
 * A role process exposes its registry at GET /metrics on its admin listener.
 *
 * Each registry also carries Prometheus's default process and Node.js metrics (`process_*`, `nodejs_*`): they
 * describe the process, so they are collected once per process (one GC observer, one event-loop monitor) and the
 * same metric objects are registered on every role registry, which adds its own `role`/`edge` labels on scrape.
 */
export function createRegistry(options: { labels?: Record<string, string>; processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels(options.labels);
  // `processMetrics: false`: a registry exposed beside others that already carry them (the DNS primary's, whose
  // page appends to its workers' aggregated metrics: the same family twice would make the scrape fail).
  if (options.processMetrics !== false) for (const metric of processMetrics()) registry.registerMetric(metric);
  return registry;
}

let shared: readonly Metric[] | undefined;

function processMetrics(): readonly Metric[] {
  if (shared === undefined) {
    const holder = new Registry();
    collectDefaultMetrics({ register: holder });
    const metrics: Metric[] = [];
    for (const m of holder.getMetricsAsArray() as unknown[]) if (isMetric(m)) metrics.push(m);
    shared = metrics;
  }
  return shared;
}

function isMetric(m: unknown): m is Metric {
  return m instanceof Counter || m instanceof Gauge || m instanceof Histogram || m instanceof Summary;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
