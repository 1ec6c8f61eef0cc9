// A Prometheus histogram per task kept as plain bucket counts: observing a value allocates and hashes nothing.
import type { Metric, Registry } from 'prom-client';

/** Latencies in fixed buckets (seconds): what a stream task observes per output record. */
export class LatencyBuckets {
  /** Per bucket (not cumulative), the last one past the highest bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Counts a latency of `ms` milliseconds; a negative one (a timestamp ahead of the clock) as 0. */
  observe(ms: number): void {
    if (Number.isNaN(ms)) return;
    const seconds = ms > 0 ? ms / 1000 : 0;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** A histogram labelled by `task`, read from each task's `LatencyBuckets` at scrape time. */
export class TaskLatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly tasks = new Map<string, LatencyBuckets>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    // The registry reads any metric through get(); prom-client's types only name its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The buckets of `task`, made on first use. */
  forTask(task: string): LatencyBuckets {
    let buckets = this.tasks.get(task);
    if (buckets === undefined) {
      buckets = new LatencyBuckets(this.bounds);
      this.tasks.set(task, buckets);
    }
    return buckets;
  }

  /** Tasks with a series. */
  taskIds(): IterableIterator<string> {
    return this.tasks.keys();
  }

  remove(task: string): void {
    this.tasks.delete(task);
  }

  /** Zeroes every series in place: the tasks keep observing into the buckets they hold. */
  reset(): void {
    for (const b of this.tasks.values()) b.clear();
  }

  async get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    const values: Sample[] = [];
    for (const [task, b] of this.tasks) {
      // As prom-client's own histograms: no series before the first observation.
      if (b.count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += b.counts[i]!;
        values.push({
          labels: { le: i < this.bounds.length ? this.bounds[i]! : '+Inf', task },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ labels: { task }, value: b.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { task }, value: b.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
