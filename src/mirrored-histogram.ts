/**
 * A Prometheus histogram whose samples are read at scrape time from plain counts that a hot path keeps itself
 * (DNS queries, edge requests): prom-client's own observe() would cost a label-hash lookup and its bucket search
 * on every call. A Histogram subclass, so a registry takes it as one; the registry prints through
 * `getForPromString` (text) and `get` (JSON, aggregation), and both answer here.
 */
import { Histogram, type MetricType, type Registry } from 'prom-client';

/** Per-bucket (not cumulative) counts, one per bound, plus the sum and count of every observation. */
export interface BucketCounts {
  readonly buckets: ArrayLike<number>;
  readonly sum: number;
  readonly count: number;
}

type HistogramSamples = Awaited<ReturnType<Histogram['get']>>;

export class MirroredHistogram extends Histogram {
  constructor(
    registry: Registry,
    private readonly spec: { name: string; help: string; bounds: readonly number[] },
    private readonly read: () => BucketCounts,
  ) {
    super({ name: spec.name, help: spec.help, buckets: [...spec.bounds], registers: [registry] });
  }

  override get(): Promise<HistogramSamples> {
    return Promise.resolve(this.samples());
  }

  getForPromString(): Promise<HistogramSamples> {
    return Promise.resolve(this.samples());
  }

  private samples(): HistogramSamples {
    const { name, help, bounds } = this.spec;
    const { buckets, sum, count } = this.read();
    const values: HistogramSamples['values'] = [];
    let cumulative = 0;
    for (const [i, le] of bounds.entries()) {
      cumulative += buckets[i]!;
      values.push({ metricName: `${name}_bucket`, labels: { le }, value: cumulative });
    }
    values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: count });
    values.push({ metricName: `${name}_sum`, labels: {}, value: sum });
    values.push({ metricName: `${name}_count`, labels: {}, value: count });
    // prom-client's typings call `type` a numeric enum, but the text format prints the field as it is
    // and its own histograms carry the string 'histogram'.
    // No `collect` function (prom-client's typings ask for one; nothing reads it from samples): the samples cross
    // the edge workers' IPC to the primary's aggregation, whose structured clone refuses functions.
    const samples: Omit<HistogramSamples, 'collect'> = { name, help, type: 'histogram' as unknown as MetricType, aggregator: 'sum', values };
    return samples as HistogramSamples;
  }
}
