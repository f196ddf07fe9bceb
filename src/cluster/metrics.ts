/**
 * Metrics of a role that runs as node:cluster workers (`dnscdn dns --workers N`, `dnscdn edge --workers N`). Each
 * worker keeps its own registries; the primary's admin listener answers `/metrics` with their aggregate
 * (prom-client's AggregatorRegistry: counters and histograms add up across workers; a gauge that must not be
 * summed says how to combine with its `aggregator`), followed by the primary's own registry.
 */
import { AggregatorRegistry, Counter, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

/** Where a `/metrics` page comes from: one registry, or the workers' aggregate. */
export type MetricsSource = Pick<Registry, 'metrics'>;

/** In a worker: answer the primary's metric requests with these registries (not prom-client's global one). */
export function shareMetricsWithPrimary(registries: Registry[]): void {
  AggregatorRegistry.setRegistries(registries);
  // prom-client starts listening for the primary's requests only once an AggregatorRegistry is made here.
  new AggregatorRegistry();
}

/**
 * In the primary: every live worker's registries aggregated, then `own`. `own` must not repeat the workers'
 * families (make it with `createRegistry({ processMetrics: false })`): one family twice fails the scrape.
 */
export function clusterMetrics(own: Registry): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return { metrics: async () => `${await aggregator.clusterMetrics()}\n${await own.metrics()}` };
}

/** One worker's registries as prom-client serialises them (`getMetricsAsJSON`), to be aggregated by the primary. */
export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/**
 * The page for metrics the primary gathered itself (the edge asks only its ready workers, over its own channel,
 * so a worker still starting cannot stall or fail the scrape): aggregated as `clusterMetrics` does, then `own`.
 */
export async function aggregatedMetrics(workers: WorkerMetrics[], own: Registry): Promise<string> {
  return `${await AggregatorRegistry.aggregate(workers).metrics()}\n${await own.metrics()}`;
}

/** Why a primary restarted a worker: it exited (by itself or killed from outside), or missed the liveness pings. */
export type RestartReason = 'exited' | 'unresponsive';

/** `dnscdn_<role>_worker_restarts_total{reason}` in the primary's registry, both reasons present from the start. */
export function workerRestartsCounter(registry: Registry, role: 'dns' | 'edge', workersName: string): Counter<'reason'> {
  const restarts = new Counter({
    name: `dnscdn_${role}_worker_restarts_total`,
    help: `${workersName} restarted, by reason: exited (died by itself or was killed from outside), unresponsive (missed the liveness pings, killed by the primary)`,
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['exited', 'unresponsive'] as const satisfies readonly RestartReason[]) restarts.inc({ reason }, 0);
  return restarts;
}
