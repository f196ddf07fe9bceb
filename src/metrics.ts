import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every server instance owns a prom-client Registry of its own (tests start several in one process,
 * and the default global registry would reject the second set of metric names).
 * A role process exposes its registry at GET /metrics (HTTP roles) or on its admin port (DNS).
 */
export function createRegistry(options: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}): Registry {
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels(options.labels);
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
