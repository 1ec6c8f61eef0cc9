// The lag metrics an autoscaler reads, on direct metric sources: input lag, restore lag, and the effective lag that
// leaves out restoring tasks; an unknown lag never shows as 0. (On a running app: ops-server.test.ts.)
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AppMetrics, type MetricsSource, RestoreProgress } from '../src/internals.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** The value of the sample `name` with exactly `labels` (`{...}` or empty), or undefined when absent. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** A metrics source with the given lags and pending inputs; the rest empty. */
function source(lags: Map<string, number | undefined>, pending: Set<string>): MetricsSource {
  return {
    processed: () => 0,
    sent: () => 0,
    commits: () => 0,
    rebalances: () => 0,
    restoringTasks: () => pending.size,
    activeTasks: () => [],
    replicas: () => [],
    consumerLags: () => lags,
    pendingInputs: () => pending,
    dropped: () => ({}),
  };
}

describe('lag metrics on a direct source', () => {
  it('leaves restoring tasks out of the effective lag, and counts them again once they process', async () => {
    const lags = new Map<string, number | undefined>([
      ['in:0', 5],
      ['in:1', 7],
      ['in:2', 40],
    ]);
    const pending = new Set(['in:2']);
    const registry = new Registry();
    const metrics = new AppMetrics(registry, source(lags, pending), new RestoreProgress(undefined));
    cleanups.push(async () => metrics.close());

    let text = await registry.metrics();
    expect(sample(text, 'eddy_consumer_lag_total_records')).toBe(52);
    expect(sample(text, 'eddy_effective_lag_records')).toBe(12);

    pending.delete('in:2');
    text = await registry.metrics();
    expect(sample(text, 'eddy_effective_lag_records')).toBe(52);
  });

  it('never reports an unknown lag as 0: the partition series is absent and the sums are NaN', async () => {
    const lags = new Map<string, number | undefined>([
      ['in:0', 0],
      ['in:1', undefined],
    ]);
    const pending = new Set<string>();
    const registry = new Registry();
    const metrics = new AppMetrics(registry, source(lags, pending), new RestoreProgress(undefined));
    cleanups.push(async () => metrics.close());

    let text = await registry.metrics();
    expect(sample(text, 'eddy_consumer_lag_records', '{topic="in",partition="0"}')).toBe(0);
    expect(sample(text, 'eddy_consumer_lag_records', '{topic="in",partition="1"}')).toBeUndefined();
    expect(sample(text, 'eddy_consumer_lag_total_records')).toBeNaN();
    expect(sample(text, 'eddy_effective_lag_records')).toBeNaN();

    // A restoring task's unknown lag is left out of the effective lag like a known one.
    pending.add('in:1');
    text = await registry.metrics();
    expect(sample(text, 'eddy_effective_lag_records')).toBe(0);
    expect(sample(text, 'eddy_consumer_lag_total_records')).toBeNaN();

    pending.clear();
    lags.set('in:1', 9);
    text = await registry.metrics();
    expect(sample(text, 'eddy_consumer_lag_records', '{topic="in",partition="1"}')).toBe(9);
    expect(sample(text, 'eddy_consumer_lag_total_records')).toBe(9);
    expect(sample(text, 'eddy_effective_lag_records')).toBe(9);
  });

  it('sums the changelog records still to restore over stores, down to 0 when the restores end', async () => {
    const registry = new Registry();
    const progress = new RestoreProgress(undefined);
    const metrics = new AppMetrics(registry, source(new Map(), new Set()), progress);
    cleanups.push(async () => metrics.close());
    const a = { store: 'a', topic: 'app-a-changelog', partition: 0 };
    const b = { store: 'b', topic: 'app-b-changelog', partition: 1 };
    progress.onRestoreStart(a, 0n, 100n);
    progress.onRestoreStart(b, 10n, 30n);
    expect(sample(await registry.metrics(), 'eddy_restore_lag_records')).toBe(120);
    let text = await registry.metrics();
    expect(sample(text, 'eddy_restore_remaining_records', '{store="a"}')).toBe(100);
    expect(sample(text, 'eddy_restore_remaining_records', '{store="b"}')).toBe(20);
    progress.onBatchRestored(a, 49n, 50);
    text = await registry.metrics();
    expect(sample(text, 'eddy_restore_lag_records')).toBe(70);
    expect(sample(text, 'eddy_restore_remaining_records', '{store="a"}')).toBe(50);
    progress.onRestoreEnd(a, 100);
    progress.onRestoreEnd(b, 20);
    text = await registry.metrics();
    expect(sample(text, 'eddy_restore_lag_records')).toBe(0);
    // A store whose restores all ended has no series left.
    expect(text).not.toMatch(/^eddy_restore_remaining_records\{/m);
  });

  it("reports each active task's process rate over the scrapes of the last 30 s, from 0 again after a reopen", async () => {
    const processed = new Map([
      ['0_0', 0],
      ['0_1', 0],
    ]);
    const tasks = {
      ...source(new Map(), new Set()),
      activeTasks: () => [...processed].map(([id, n]) => ({ id, processed: n, caches: [] })),
    };
    let now = 1_000_000;
    const registry = new Registry();
    const metrics = new AppMetrics(registry, tasks, new RestoreProgress(undefined), () => now);
    cleanups.push(async () => metrics.close());
    const rate = async (task: string) =>
      sample(await registry.metrics(), 'eddy_task_process_rate', `{task="${task}"}`);

    // The first scrape has no earlier sample to measure from.
    expect(await rate('0_0')).toBe(0);
    now += 10_000;
    processed.set('0_0', 500);
    processed.set('0_1', 20);
    const text = await registry.metrics();
    expect(sample(text, 'eddy_task_process_rate', '{task="0_0"}')).toBe(50);
    expect(sample(text, 'eddy_task_process_rate', '{task="0_1"}')).toBe(2);
    now += 10_000;
    processed.set('0_0', 1_500);
    expect(await rate('0_0')).toBe(75);
    // Past the window, the oldest samples are left behind: 40 s after the first, it measures from the second.
    now += 20_000;
    processed.set('0_0', 1_700);
    expect(await rate('0_0')).toBeCloseTo((1_700 - 500) / 30);
    // The task closed and opened again: its count starts from 0, and so does its rate.
    now += 5_000;
    processed.set('0_0', 10);
    expect(await rate('0_0')).toBe(0);
    processed.delete('0_1');
    expect(await rate('0_1')).toBeUndefined();
  });
});
