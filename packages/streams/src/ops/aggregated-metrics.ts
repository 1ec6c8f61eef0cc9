// The metrics of a threaded app on the main thread: each stream thread keeps its own AppMetrics on a registry of its
// own; a scrape of the app's registry asks every thread for its metrics (as JSON) and shows their sum.
import {
  AggregatorRegistry,
  type Metric,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import { StreamsError } from '../errors.js';
import { AppMetrics, type MetricsSource, RestoreProgress } from './app-metrics.js';

/** One registry's metrics as `Registry.getMetricsAsJSON()` gives them. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** A scrape that could not read every stream thread: the registry's `metrics()` rejects with it. */
export class MetricsUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricsUnavailable';
  }
}

const NOTHING: MetricsSource = {
  processed: () => 0,
  sent: () => 0,
  commits: () => 0,
  rebalances: () => 0,
  restoringTasks: () => 0,
  activeTasks: () => [],
  replicas: () => [],
  consumerLags: () => new Map(),
  pendingInputs: () => [],
  dropped: () => ({}),
};

type Aggregated = MetricObjectWithValues<MetricValue<string>> & { aggregator?: string };

const HIT_RATIO = 'eddy_cache_hit_ratio';

/**
 * Registers on `registry` the metrics an app has (the names, help and types of `AppMetrics`), each read at scrape
 * time from what `gather` returns: every stream thread's metrics, aggregated as prom-client's AggregatorRegistry
 * does (counters, histograms and gauges summed), one `gather` per scrape. `gather` rejects with MetricsUnavailable
 * when a thread does not answer: the scrape fails rather than showing partial counters.
 */
export class AggregatedMetrics {
  private readonly names: string[] = [];
  /** A stream thread's metrics with nothing counted: shown while no thread runs. */
  private readonly idle = new Registry();
  /** The scrape under way: every metric of one scrape reads the same answers. */
  private current: Promise<Map<string, Aggregated>> | undefined;
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly gather: () => Promise<MetricsJson[]>,
  ) {
    if (registry.getSingleMetric('eddy_records_processed_total') !== undefined) {
      throw new StreamsError(
        'INVALID_CONFIG',
        'metrics.registry already holds the metrics of another Eddy app in this process; give each app its own Registry',
      );
    }
    new AppMetrics(this.idle, NOTHING, new RestoreProgress(undefined));
    for (const template of this.idle.getMetricsAsArray()) {
      const { name, help, type, aggregator } = template as unknown as Aggregated;
      const read = (): Promise<Aggregated> => this.read(proxy.name, name, help, type, aggregator);
      // Read by the registry through get() as any metric; prom-client's types only name its own classes.
      const proxy = { name, help, type, aggregator, get: read, reset: () => undefined };
      registry.registerMetric(proxy as unknown as Metric);
      this.names.push(name);
    }
  }

  /** Removes the metrics from the registry; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const name of this.names) this.registry.removeSingleMetric(name);
  }

  /** The aggregated metric `name` (shown as `shownName`: an OpenMetrics registry renames counters). */
  private async read(
    shownName: string,
    name: string,
    help: string,
    type: Aggregated['type'],
    aggregator: string | undefined,
  ): Promise<Aggregated> {
    // The registry asks every metric at once: the first starts the scrape, the others join it.
    this.current ??= this.aggregate().finally(() => {
      this.current = undefined;
    });
    const metric = (await this.current).get(name);
    return {
      help,
      type,
      ...(aggregator === undefined ? {} : { aggregator }),
      values: [],
      ...metric,
      name: shownName,
    } as Aggregated;
  }

  private async aggregate(): Promise<Map<string, Aggregated>> {
    const threads = await this.gather();
    const parts = threads.length > 0 ? threads : [await this.idle.getMetricsAsJSON()];
    const aggregated = (await AggregatorRegistry.aggregate(parts).getMetricsAsJSON()) as Aggregated[];
    const byName = new Map(aggregated.map((m) => [m.name, m]));
    const ratio = byName.get(HIT_RATIO);
    if (ratio !== undefined) ratio.values = hitRatios(byName);
    return byName;
  }
}

/**
 * Cache hits over lookups per store, from the summed hit and miss counters (a sum of each thread's ratio is no
 * ratio): as a one-thread app computes it over its active tasks.
 */
function hitRatios(byName: Map<string, Aggregated>): MetricValue<string>[] {
  const sums = new Map<string, { hits: number; lookups: number }>();
  const add = (metric: string, hit: boolean) => {
    for (const v of byName.get(metric)?.values ?? []) {
      const store = String(v.labels.store);
      const sum = sums.get(store) ?? { hits: 0, lookups: 0 };
      if (hit) sum.hits += v.value;
      sum.lookups += v.value;
      sums.set(store, sum);
    }
  };
  add('eddy_cache_hits_total', true);
  add('eddy_cache_misses_total', false);
  const out: MetricValue<string>[] = [];
  for (const [store, s] of sums)
    if (s.lookups > 0) out.push({ labels: { store }, value: s.hits / s.lookups });
  return out;
}
