// The app's Prometheus metrics: plain counts kept by the runtime, read at scrape time; processing latency sampled per
// batch, end-to-end latency per output record.
import type { CacheStats, RestoreListener, RestorePosition } from '@eddy/state';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { StreamsError } from '../errors.js';
import type { ThreadObserver } from '../runtime/stream-thread.js';
import type { TaskId } from '../runtime/task-id.js';
import { type LatencyBuckets, TaskLatencyHistogram } from './task-latency-histogram.js';

/** What the metrics read from the running app at each scrape. */
export interface MetricsSource {
  processed(): number;
  sent(): number;
  commits(): number;
  rebalances(): number;
  restoringTasks(): number;
  /** Active tasks with their processed counts and their stores' cache counts. */
  activeTasks(): Iterable<{ id: string; processed: number; caches: Iterable<[string, CacheStats]> }>;
  /** Standby and warm-up replicas with their changelog lag (records). */
  replicas(): Iterable<{ id: string; kind: 'standby' | 'warmup'; lag: number }>;
  /** Consumer lag per `topic:partition` fetched here; undefined while unknown (not fetched yet). */
  consumerLags(): ReadonlyMap<string, number | undefined>;
  /** `topic:partition` of the inputs of tasks assigned here but not processing yet (opening or restoring). */
  pendingInputs(): Iterable<string>;
  dropped(): Readonly<Record<string, number>>;
}

const PROCESS_BUCKETS = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2, 0.1];
const E2E_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const COMMIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
const REBALANCE_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** The process rate is measured over at least this window (ms) of scrape-time samples. */
const RATE_WINDOW_MS = 30_000;

/** Remaining changelog records per store partition being restored, from the restore listener's callbacks. */
export class RestoreProgress implements RestoreListener {
  private readonly remaining = new Map<string, { store: string; end: bigint; left: number }>();
  restored = 0;

  constructor(private readonly next: RestoreListener | undefined) {}

  onRestoreStart(position: RestorePosition, startOffset: bigint, endOffset: bigint): void {
    const left = Number(endOffset - startOffset);
    this.remaining.set(keyOf(position), { store: position.store, end: endOffset, left: Math.max(0, left) });
    this.next?.onRestoreStart?.(position, startOffset, endOffset);
  }

  onBatchRestored(position: RestorePosition, lastOffset: bigint, records: number): void {
    const at = this.remaining.get(keyOf(position));
    if (at !== undefined) at.left = Math.max(0, Number(at.end - lastOffset - 1n));
    this.restored += records;
    this.next?.onBatchRestored?.(position, lastOffset, records);
  }

  onRestoreEnd(position: RestorePosition, totalRestored: number): void {
    this.remaining.delete(keyOf(position));
    this.next?.onRestoreEnd?.(position, totalRestored);
  }

  /** Remaining records by store. */
  byStore(): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.remaining.values()) out.set(r.store, (out.get(r.store) ?? 0) + r.left);
    return out;
  }
}

function keyOf(p: RestorePosition): string {
  return `${p.store}\u0000${p.topic}\u0000${p.partition}`;
}

/**
 * Lag summed over the partitions not in `leftOut`; NaN when one of them is unknown, so that a partition not read yet
 * never passes for a caught-up one.
 */
function sumOfLags(lags: ReadonlyMap<string, number | undefined>, leftOut: ReadonlySet<string>): number {
  let total = 0;
  for (const [tp, lag] of lags) {
    if (leftOut.has(tp)) continue;
    if (lag === undefined) return Number.NaN;
    total += lag;
  }
  return total;
}

/** Sets a counter's series to the given totals (a counter read from elsewhere; a lower total is a reset). */
function setTotals(counter: Counter<string>, totals: Iterable<[Record<string, string>, number]>): void {
  counter.reset();
  for (const [labels, value] of totals) counter.inc(labels, value);
}

export class AppMetrics implements ThreadObserver {
  private readonly names: string[] = [];
  private readonly processLatency: Histogram<'task'>;
  private readonly e2eLatency: TaskLatencyHistogram;
  private readonly commitLatency: Histogram;
  private readonly rebalanceDuration: Histogram;
  /** Per task, the bound histogram child (labels hashed once per task, not per batch). */
  private readonly children = new Map<TaskId, Histogram.Internal<'task'>>();
  private readonly rateSamples = new Map<string, { at: number; processed: number }[]>();
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly source: MetricsSource,
    restore: RestoreProgress,
    private readonly now: () => number = Date.now,
  ) {
    const self = this;
    const add = <M extends Counter<string> | Gauge<string> | Histogram<string>>(metric: M): M => {
      this.names.push((metric as unknown as { name: string }).name);
      return metric;
    };
    const existing = registry.getSingleMetric('eddy_records_processed_total');
    if (existing !== undefined) {
      throw new StreamsError(
        'INVALID_CONFIG',
        'metrics.registry already holds the metrics of another Eddy app in this process; give each app its own Registry',
      );
    }
    const registers = [registry];
    add(
      new Counter({
        name: 'eddy_records_processed_total',
        help: 'Input records processed by this instance.',
        registers,
        collect() {
          this.reset();
          this.inc(source.processed());
        },
      }),
    );
    add(
      new Counter({
        name: 'eddy_task_records_processed_total',
        help: 'Input records processed per active task (since the task opened here).',
        labelNames: ['task'],
        registers,
        collect() {
          setTotals(
            this,
            [...source.activeTasks()].map((t) => [{ task: t.id }, t.processed]),
          );
        },
      }),
    );
    add(
      new Gauge({
        name: 'eddy_task_process_rate',
        help: `Input records processed per second per active task, over the scrapes of the last ${RATE_WINDOW_MS / 1000} s.`,
        labelNames: ['task'],
        registers,
        collect() {
          this.reset();
          for (const [task, rate] of self.rates()) this.set({ task }, rate);
        },
      }),
    );
    this.processLatency = add(
      new Histogram({
        name: 'eddy_task_process_latency_seconds',
        help: 'Processing time per record, as the mean of each processed batch, per task.',
        labelNames: ['task'],
        buckets: PROCESS_BUCKETS,
        registers,
        collect: () => this.pruneTasks(),
      }),
    );
    this.e2eLatency = new TaskLatencyHistogram(
      'eddy_task_e2e_latency_seconds',
      'Wall-clock time when a task writes an output record (to a sink topic, not a repartition topic) minus the timestamp of that record, per task.',
      E2E_BUCKETS,
      registry,
    );
    this.names.push(this.e2eLatency.name);
    this.commitLatency = add(
      new Histogram({
        name: 'eddy_commit_latency_seconds',
        help: 'Duration of commits (flush, output acknowledged, changelog, state, offsets).',
        buckets: COMMIT_BUCKETS,
        registers,
      }),
    );
    add(
      new Counter({
        name: 'eddy_commits_total',
        help: 'Offset commits that went through.',
        registers,
        collect() {
          this.reset();
          this.inc(source.commits());
        },
      }),
    );
    add(
      new Counter({
        name: 'eddy_records_sent_total',
        help: 'Output records sent (sinks and repartition topics).',
        registers,
        collect() {
          this.reset();
          this.inc(source.sent());
        },
      }),
    );
    add(
      new Gauge({
        name: 'eddy_consumer_lag_records',
        help: 'Log end offset minus committed offset, per input partition this instance fetches.',
        labelNames: ['topic', 'partition'],
        registers,
        collect() {
          this.reset();
          for (const [tp, lag] of source.consumerLags()) {
            if (lag === undefined) continue;
            const at = tp.lastIndexOf(':');
            this.set({ topic: tp.slice(0, at), partition: tp.slice(at + 1) }, lag);
          }
        },
      }),
    );
    add(
      new Gauge({
        name: 'eddy_consumer_lag_total_records',
        help: 'Consumer lag summed over the input partitions this instance fetches; NaN while one is unknown.',
        registers,
        collect() {
          this.set(sumOfLags(source.consumerLags(), new Set()));
        },
      }),
    );
    add(
      new Gauge({
        name: 'eddy_effective_lag_records',
        help: 'Consumer lag summed over the input partitions of tasks that process (restoring ones left out); NaN while one is unknown.',
        registers,
        collect() {
          this.set(sumOfLags(source.consumerLags(), new Set(source.pendingInputs())));
        },
      }),
    );
    add(
      new Gauge({
        name: 'eddy_restoring_tasks',
        help: 'Active tasks still restoring their stores.',
        registers,
        collect() {
          this.set(source.restoringTasks());
        },
      }),
    );
    add(
      new Gauge({
        name: 'eddy_restore_remaining_records',
        help: 'Changelog records active tasks still have to restore, per store.',
        labelNames: ['store'],
        registers,
        collect() {
          this.reset();
          for (const [store, left] of restore.byStore()) this.set({ store }, left);
        },
      }),
    );
    add(
      new Gauge({
        name: 'eddy_restore_lag_records',
        help: 'Changelog records active tasks still have to restore, summed over their stores.',
        registers,
        collect() {
          let total = 0;
          for (const left of restore.byStore().values()) total += left;
          this.set(total);
        },
      }),
    );
    add(
      new Counter({
        name: 'eddy_restored_records_total',
        help: 'Changelog records restored into active tasks.',
        registers,
        collect() {
          this.reset();
          this.inc(restore.restored);
        },
      }),
    );
    add(
      new Gauge({
        name: 'eddy_replica_lag_records',
        help: 'Changelog records a standby or warm-up replica is behind, per task.',
        labelNames: ['task', 'kind'],
        registers,
        collect() {
          this.reset();
          for (const r of source.replicas()) this.set({ task: r.id, kind: r.kind }, r.lag);
        },
      }),
    );
    add(
      new Gauge({
        name: 'eddy_tasks',
        help: 'Tasks this instance runs, by kind (active, standby, warmup).',
        labelNames: ['kind'],
        registers,
        collect() {
          const counts = { active: 0, standby: 0, warmup: 0 };
          for (const _ of source.activeTasks()) counts.active++;
          for (const r of source.replicas()) counts[r.kind]++;
          for (const [kind, n] of Object.entries(counts)) this.set({ kind }, n);
        },
      }),
    );
    add(
      new Counter({
        name: 'eddy_rebalances_total',
        help: 'Assignments this instance received (group joins).',
        registers,
        collect() {
          this.reset();
          this.inc(source.rebalances());
        },
      }),
    );
    this.rebalanceDuration = add(
      new Histogram({
        name: 'eddy_rebalance_duration_seconds',
        help: 'From an assignment to its tasks closed and opened and its replicas started (restores run on).',
        buckets: REBALANCE_BUCKETS,
        registers,
      }),
    );
    const cacheCounter = (name: string, help: string, pick: (s: CacheStats) => number) =>
      add(
        new Counter({
          name,
          help,
          labelNames: ['task', 'store'],
          registers,
          collect() {
            const totals: [Record<string, string>, number][] = [];
            for (const t of source.activeTasks()) {
              for (const [store, stats] of t.caches) totals.push([{ task: t.id, store }, pick(stats)]);
            }
            setTotals(this, totals);
          },
        }),
      );
    cacheCounter('eddy_cache_hits_total', 'Store cache lookups answered from the cache.', (s) => s.hits);
    cacheCounter(
      'eddy_cache_misses_total',
      'Store cache lookups that read the store below.',
      (s) => s.misses,
    );
    cacheCounter(
      'eddy_cache_evictions_total',
      'Clean entries evicted from store caches for space.',
      (s) => s.evictions,
    );
    add(
      new Gauge({
        name: 'eddy_cache_hit_ratio',
        help: 'Cache hits over lookups per store, over the active tasks (since they opened here).',
        labelNames: ['store'],
        registers,
        collect() {
          this.reset();
          const sums = new Map<string, { hits: number; lookups: number }>();
          for (const t of source.activeTasks()) {
            for (const [store, s] of t.caches) {
              const sum = sums.get(store) ?? { hits: 0, lookups: 0 };
              sum.hits += s.hits;
              sum.lookups += s.hits + s.misses;
              sums.set(store, sum);
            }
          }
          for (const [store, s] of sums) if (s.lookups > 0) this.set({ store }, s.hits / s.lookups);
        },
      }),
    );
    add(
      new Counter({
        name: 'eddy_records_dropped_total',
        help: 'Records dropped, by reason (a fixed set: late, expired, error, dead-lettered, ..., other).',
        labelNames: ['reason'],
        registers,
        collect() {
          setTotals(
            this,
            Object.entries(source.dropped()).map(([reason, n]) => [{ reason }, n]),
          );
        },
      }),
    );
  }

  batchProcessed(task: TaskId, records: number, seconds: number): void {
    let child = this.children.get(task);
    if (child === undefined) {
      child = this.processLatency.labels({ task: task.toString() });
      this.children.set(task, child);
    }
    child.observe(seconds / records);
  }

  /** Where task `task` observes the end-to-end latency of its output records (ms, from their timestamps). */
  outputLatency(task: TaskId): LatencyBuckets {
    return this.e2eLatency.forTask(task.toString());
  }

  committed(seconds: number): void {
    this.commitLatency.observe(seconds);
  }

  rebalanced(seconds: number): void {
    this.rebalanceDuration.observe(seconds);
  }

  /** Removes the app's metrics from the registry; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const name of this.names) this.registry.removeSingleMetric(name);
  }

  /** Drops the latency series of tasks that no longer run here (moved to another instance). */
  private pruneTasks(): void {
    const active = new Set<string>();
    for (const t of this.source.activeTasks()) active.add(t.id);
    for (const id of this.children.keys()) {
      const task = id.toString();
      if (active.has(task)) continue;
      this.children.delete(id);
      this.processLatency.remove({ task });
    }
    for (const task of [...this.e2eLatency.taskIds()]) if (!active.has(task)) this.e2eLatency.remove(task);
  }

  /** Records per second per active task, from this scrape and the oldest sample within the window. */
  private rates(): Map<string, number> {
    const now = this.now();
    const out = new Map<string, number>();
    const seen = new Set<string>();
    for (const t of this.source.activeTasks()) {
      seen.add(t.id);
      let samples = this.rateSamples.get(t.id);
      if (samples === undefined) {
        samples = [];
        this.rateSamples.set(t.id, samples);
      }
      // A task that closed and opened again starts counting from 0.
      if (samples.length > 0 && samples[samples.length - 1]!.processed > t.processed) samples.length = 0;
      samples.push({ at: now, processed: t.processed });
      while (samples.length > 2 && now - samples[1]!.at >= RATE_WINDOW_MS) samples.shift();
      const first = samples[0]!;
      out.set(t.id, now > first.at ? ((t.processed - first.processed) * 1000) / (now - first.at) : 0);
    }
    for (const id of this.rateSamples.keys()) if (!seen.has(id)) this.rateSamples.delete(id);
    return out;
  }
}
