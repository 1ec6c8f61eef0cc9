// The operations of a threaded app without a broker: the metrics of its threads summed on the app's registry (one
// request per thread and scrape, or a failed scrape), probes from the threads' reports, and the operations server of
// a threaded app whose threads keep trying brokers that refuse.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Registry, register } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamsError, ThreadedStreamsApp } from '../src/index.js';
import { AggregatedMetrics, type MetricsJson, MetricsUnavailable } from '../src/ops/aggregated-metrics.js';
import { AppMetrics, type MetricsSource, RestoreProgress } from '../src/ops/app-metrics.js';
import { resolveHttpOptions } from '../src/ops/ops-options.js';
import { OpsServer } from '../src/ops/ops-server.js';
import { threadsIn } from './thread-states.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A stream thread's metrics: `processed` records over tasks `tasks`, each with a cache of `hits` and `misses`. */
function threadRegistry(processed: number, tasks: string[], hits: number, misses: number): Registry {
  const source: MetricsSource = {
    processed: () => processed,
    sent: () => processed,
    commits: () => 1,
    rebalances: () => 1,
    restoringTasks: () => 0,
    activeTasks: () =>
      tasks.map((id) => ({
        id,
        processed: processed / tasks.length,
        caches: [['counts', { hits, misses, evictions: 0 }]] as [string, never][],
      })),
    replicas: () => [],
    consumerLags: () => new Map(tasks.map((t) => [`in:${t.split('_')[1]}`, 2])),
    pendingInputs: () => [],
    dropped: () => ({ late: 1 }),
  };
  const registry = new Registry();
  const metrics = new AppMetrics(registry, source, new RestoreProgress(undefined));
  metrics.batchProcessed({ toString: () => tasks[0]! } as never, 10, 0.001);
  return registry;
}

function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('AggregatedMetrics', () => {
  it("shows the sum of the threads' metrics in the app's registry, beside the registry's own", async () => {
    const threads = [threadRegistry(5, ['0_0', '0_1'], 1, 3), threadRegistry(7, ['0_2'], 3, 1)];
    const gather = vi.fn(
      async (): Promise<MetricsJson[]> => Promise.all(threads.map((r) => r.getMetricsAsJSON())),
    );
    const registry = new Registry();
    new Counter({ name: 'user_own_total', help: 'the user’s own', registers: [registry] }).inc(4);
    const metrics = new AggregatedMetrics(registry, gather);
    const text = await registry.metrics();
    // One request to the threads for the whole scrape.
    expect(gather).toHaveBeenCalledTimes(1);
    expect(sample(text, 'user_own_total')).toBe(4);
    expect(sample(text, 'eddy_records_processed_total')).toBe(12);
    expect(sample(text, 'eddy_commits_total')).toBe(2);
    expect(sample(text, 'eddy_records_dropped_total{reason="late"}')).toBe(2);
    expect(sample(text, 'eddy_task_records_processed_total{task="0_2"}')).toBe(7);
    expect(sample(text, 'eddy_consumer_lag_total_records')).toBe(6);
    expect(sample(text, 'eddy_tasks{kind="active"}')).toBe(3);
    expect(sample(text, 'eddy_task_process_latency_seconds_count{task="0_0"}')).toBe(1);
    expect(sample(text, 'eddy_task_process_latency_seconds_count{task="0_2"}')).toBe(1);
    // Hits over lookups of both threads' caches (1+1+3 of 4+4+4), not the sum of their ratios.
    expect(sample(text, 'eddy_cache_hit_ratio{store="counts"}')).toBeCloseTo(5 / 12);
    // The same metrics, with the same help and types, as a one-thread app's.
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).toEqual(['user_own_total', ...(await threads[0]!.getMetricsAsJSON()).map((m) => m.name)]);
    expect(text).toContain('# TYPE eddy_task_e2e_latency_seconds histogram');

    // Another app on the same registry is refused, as for one-thread apps; close takes the metrics off.
    expect(() => new AggregatedMetrics(registry, gather)).toThrow(StreamsError);
    metrics.close();
    expect((await registry.getMetricsAsJSON()).map((m) => m.name)).toEqual(['user_own_total']);
  });

  it('shows zeros while no thread runs, and fails a scrape that a thread does not answer', async () => {
    const registry = new Registry();
    let threads: () => Promise<MetricsJson[]> = async () => [];
    new AggregatedMetrics(registry, () => threads());
    expect(sample(await registry.metrics(), 'eddy_records_processed_total')).toBe(0);
    threads = async () => {
      throw new MetricsUnavailable('stream thread 2: it did not answer within 5000 ms');
    };
    await expect(registry.metrics()).rejects.toThrow(MetricsUnavailable);
    const server = new OpsServer(
      resolveHttpOptions({ port: 0, host: '127.0.0.1' })!,
      {
        state: () => 'RUNNING',
        pendingTasks: () => 0,
        stuckForMs: () => 0,
        consumerLags: () => new Map(),
        stores: { answer: async () => ({ status: 200, headers: {}, body: '{}' }) },
      },
      registry,
      quiet,
    );
    await server.listen();
    cleanups.push(() => server.close());
    const res = await fetch(`http://127.0.0.1:${server.address!.port}/metrics`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('METRICS_UNAVAILABLE');
  });
});

describe('a threaded app with http', () => {
  it('checks http on the main thread', async () => {
    const err = await ThreadedStreamsApp.load(new URL('./fixtures/threads/ops-apps.ts', import.meta.url), {
      exportName: 'badHttp',
    }).catch((e: unknown) => e);
    expect((err as StreamsError).code).toBe('INVALID_CONFIG');
  });

  it('serves probes and metrics from its threads while they start, and stops serving once closed', async () => {
    const app = await ThreadedStreamsApp.load(new URL('./fixtures/threads/ops-apps.ts', import.meta.url), {
      args: [mkdtempSync(join(tmpdir(), 'eddy-threaded-ops-'))],
    });
    cleanups.push(() => app.close());
    expect(app.httpAddress).toBeUndefined();
    const started = app.start().catch((e: unknown) => e);
    await threadsIn(app, 2, 'REBALANCING');
    const port = app.httpAddress!.port;
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, text: await res.text() };
    };
    const ready = await get('/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text)).toMatchObject({ ready: false, state: 'REBALANCING' });
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({ alive: true, state: 'REBALANCING' });
    // prom-client's default registry (metrics on with http): the threads' metrics, summed.
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(sample(metrics.text, 'eddy_records_processed_total')).toBe(0);
    expect(register.getSingleMetric('eddy_records_processed_total')).toBeDefined();
    // Queries answer as a one-thread app's while it does not run.
    expect((await get('/stores/counts/keys/a')).status).toBe(503);
    expect(JSON.parse((await get('/stores/nope/keys/a')).text).error.code).toBe('UNKNOWN_STORE');

    await app.close();
    expect(((await started) as StreamsError).code).toBe('CLOSED_DURING_START');
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    expect(register.getSingleMetric('eddy_records_processed_total')).toBeUndefined();
  }, 60_000);
});
