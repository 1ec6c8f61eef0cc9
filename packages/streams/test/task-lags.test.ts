// TaskLags against a fake admin (changelog ends), and scanLocalState against task directories on a real state dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ResolvedConfig, resolveConfig } from '../src/config.js';
import { Serdes, StreamsBuilder } from '../src/index.js';
import type { LogFields, Logger } from '../src/logger.js';
import { TaskId } from '../src/runtime/task-id.js';
import { scanLocalState, TaskLags } from '../src/runtime/task-lags.js';
import { createTaskState } from '../src/runtime/task-state.js';
import { FakeAdmin } from './fake-admin.js';

/** A store position as `TaskStateManager.changelogPartitions()` reports it. */
function at(topic: string, partition: number, checkpointOffset: bigint | undefined) {
  return { store: topic.replace(/-changelog$/, ''), topic, partition, checkpointOffset };
}

const T = (partition: number) => TaskId.of(0, partition);
const tasks = (count: number) => Array.from({ length: count }, (_, p) => T(p));
/** Lags of tasks `0_0`..`0_<partitions-1>`, each with the same changelog topics. */
const taskLags = (topics: string[], partitions: number) =>
  new TaskLags(new Map(tasks(partitions).map((id) => [id, topics])));

const A = 'app-a-changelog';
const B = 'app-b-changelog';

describe('TaskLags', () => {
  it('a task without local state is behind by its whole changelog: end - start', async () => {
    const admin = new FakeAdmin();
    admin.set(A, [0, 100], [40, 90]);
    const lags = taskLags([A], 2);
    await lags.refreshEnds(admin);
    expect(lags.lagOf(T(0))).toBe(100);
    expect(lags.lagOf(T(1))).toBe(50);
  });

  it('a task with a checkpoint is behind by end - (checkpoint + 1)', async () => {
    const admin = new FakeAdmin();
    admin.set(A, [0, 100], [10, 20]);
    const lags = taskLags([A], 2);
    await lags.refreshEnds(admin);
    lags.record(T(0), [at(A, 0, 59n)]);
    lags.record(T(1), [at(A, 1, 19n)]);
    expect(lags.lagOf(T(0))).toBe(40);
    // The checkpoint is the last record of the log: caught up.
    expect(lags.lagOf(T(1))).toBe(0);
  });

  it('a task read through the refreshed ends is caught up, though its checkpoint is a commit marker short', async () => {
    const admin = new FakeAdmin();
    // Offset 19 of partition 0 is the marker of the transaction whose last record is at 18.
    admin.set(A, [0, 20], [0, 20]);
    admin.set(B, [0, 30], [0, 30]);
    const lags = new TaskLags(new Map([[T(0), [A, B]]]));
    await lags.refreshEnds(admin);
    lags.record(T(0), [at(A, 0, 18n), at(B, 0, 9n)]);
    expect(lags.lagOf(T(0))).toBe(1 + 20);
    // Only the topics read through (a store copied from a source topic reads to its committed offset, not the end).
    lags.readThrough(T(0), [A]);
    expect(lags.lagOf(T(0))).toBe(20);
    // A checkpoint at the end stays where it is.
    lags.record(T(0), [at(A, 0, 18n), at(B, 0, 29n)]);
    lags.readThrough(T(0), [A, B]);
    expect(lags.lagOf(T(0))).toBe(0);
  });

  it('a store without a checkpoint counts from the start of its changelog', async () => {
    const admin = new FakeAdmin();
    admin.set(A, [5, 25]);
    const lags = taskLags([A], 1);
    await lags.refreshEnds(admin);
    lags.record(T(0), [at(A, 0, undefined)]);
    expect(lags.lagOf(T(0))).toBe(20);
  });

  it('sums the lags of every changelog topic of the task', async () => {
    const admin = new FakeAdmin();
    admin.set(A, [0, 100], [0, 10]);
    admin.set(B, [0, 30], [0, 7]);
    const lags = taskLags([A, B], 2);
    await lags.refreshEnds(admin);
    lags.record(T(0), [at(A, 0, 89n), at(B, 0, 9n)]);
    // A: 100 - 90 = 10; B: 30 - 10 = 20.
    expect(lags.lagOf(T(0))).toBe(30);
    // Only A's position known: B counts in full.
    lags.record(T(1), [at(A, 1, 4n)]);
    expect(lags.lagOf(T(1))).toBe(5 + 7);
  });

  it('a checkpoint below the log start or beyond its end counts as the whole changelog', async () => {
    const admin = new FakeAdmin();
    admin.set(A, [50, 80], [50, 80], [50, 80]);
    const lags = taskLags([A], 3);
    await lags.refreshEnds(admin);
    lags.record(T(0), [at(A, 0, 10n)]); // next 11 < start 50: the records in between are gone
    lags.record(T(1), [at(A, 1, 200n)]); // next 201 > end 80: state from another incarnation of the topic
    lags.record(T(2), [at(A, 2, 48n)]); // next 49 < start 50
    expect(lags.lagOf(T(0))).toBe(30);
    expect(lags.lagOf(T(1))).toBe(30);
    expect(lags.lagOf(T(2))).toBe(30);
    // Exactly at the start: nothing is missing before it.
    lags.record(T(2), [at(A, 2, 49n)]);
    expect(lags.lagOf(T(2))).toBe(30);
    lags.record(T(2), [at(A, 2, 64n)]);
    expect(lags.lagOf(T(2))).toBe(15);
  });

  it('refreshEnds picks up new ends', async () => {
    const admin = new FakeAdmin();
    admin.set(A, [0, 10]);
    const lags = taskLags([A], 1);
    await lags.refreshEnds(admin);
    lags.record(T(0), [at(A, 0, 9n)]);
    expect(lags.lagOf(T(0))).toBe(0);
    admin.set(A, [0, 25]);
    await lags.refreshEnds(admin);
    expect(lags.lagOf(T(0))).toBe(15);
  });

  it('lags() names every task, with 0 for the active ones', async () => {
    const admin = new FakeAdmin();
    admin.set(A, [0, 10], [0, 20], [0, 30], [0, 40]);
    const lags = taskLags([A], 4);
    await lags.refreshEnds(admin);
    lags.record(T(2), [at(A, 2, 24n)]);
    const reported = lags.lags(new Set([T(1), T(3)]));
    expect([...reported.keys()]).toEqual(['0_0', '0_1', '0_2', '0_3']);
    expect(Object.fromEntries(reported)).toEqual({ '0_0': 10, '0_1': 0, '0_2': 5, '0_3': 0 });
  });
});

describe('scanLocalState', () => {
  const STORE = 'counts';
  const PARTITIONS = 3;
  let stateDir: string;
  let config: ResolvedConfig;
  let logged: LogFields[];

  function graph() {
    const builder = new StreamsBuilder();
    builder
      .stream('words', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .groupByKey({ keySerde: Serdes.string() })
      .count({ name: STORE });
    return builder.build().seal('lags-app');
  }

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'eddy-task-lags-'));
    logged = [];
    const logger: Logger = { debug() {}, info: (_m, f) => logged.push(f ?? {}), warn() {}, error() {} };
    config = resolveConfig({ applicationId: 'lags-app', brokers: ['127.0.0.1:9092'], stateDir, logger });
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  const changelog = 'lags-app-counts-changelog';

  /** Restores `count` records at offsets `first`.. into task `0_<partition>` on disk, then closes it. */
  async function writeState(partition: number, first: number, count: number): Promise<void> {
    const { state } = createTaskState(config, graph(), T(partition))!;
    await state.open();
    const records = Array.from({ length: count }, (_, i) => ({
      offset: BigInt(first + i),
      key: Buffer.from(`k${i}`),
      value: Buffer.from([0, 0, 0, 0, 0, 0, 0, i]),
    }));
    await state.applyRestoreBatch(STORE, records);
    expect(state.changelogPartitions()).toEqual([
      { store: STORE, topic: changelog, partition, checkpointOffset: BigInt(first + count - 1) },
    ]);
    await state.close();
  }

  it('reports the checkpoint of a task directory on the volume, and full lag where there is none', async () => {
    await writeState(1, 10, 5);
    const admin = new FakeAdmin();
    admin.set(changelog, [0, 30], [0, 30], [0, 30]);
    const lags = taskLags([changelog], PARTITIONS);
    await scanLocalState(lags, config, graph(), tasks(PARTITIONS));
    await lags.refreshEnds(admin);
    // Task 0_1 holds offsets up to 14: it needs 15..29.
    expect(lags.lagOf(T(1))).toBe(15);
    // No directory for 0_0 and 0_2.
    expect(lags.lagOf(T(0))).toBe(30);
    expect(lags.lagOf(T(2))).toBe(30);
    expect(Object.fromEntries(lags.lags(new Set()))).toEqual({ '0_0': 30, '0_1': 15, '0_2': 30 });
    expect(logged).toEqual([]);
  });

  it('with no state directory at all, every task counts in full', async () => {
    rmSync(stateDir, { recursive: true, force: true });
    const admin = new FakeAdmin();
    admin.set(changelog, [2, 12], [0, 0], [0, 7]);
    const lags = taskLags([changelog], PARTITIONS);
    await scanLocalState(lags, config, graph(), tasks(PARTITIONS));
    await lags.refreshEnds(admin);
    expect(Object.fromEntries(lags.lags(new Set()))).toEqual({ '0_0': 10, '0_1': 0, '0_2': 7 });
  });

  it('a task directory that is locked counts as no state, and the scan leaves the lock to its holder', async () => {
    await writeState(0, 0, 3);
    const holder = createTaskState(config, graph(), T(0))!.state;
    await holder.open();
    try {
      const admin = new FakeAdmin();
      admin.set(changelog, [0, 20], [0, 20], [0, 20]);
      const lags = taskLags([changelog], PARTITIONS);
      await scanLocalState(lags, config, graph(), tasks(PARTITIONS));
      await lags.refreshEnds(admin);
      expect(lags.lagOf(T(0))).toBe(20);
      expect(logged).toEqual([expect.objectContaining({ task: '0_0' })]);
      // The holder still has its stores.
      expect(holder.changelogPartitions()[0]?.checkpointOffset).toBe(2n);
    } finally {
      await holder.close();
    }
    // Once released, a new scan reads the checkpoint.
    const admin = new FakeAdmin();
    admin.set(changelog, [0, 20], [0, 20], [0, 20]);
    const lags = taskLags([changelog], PARTITIONS);
    await scanLocalState(lags, config, graph(), tasks(PARTITIONS));
    await lags.refreshEnds(admin);
    expect(lags.lagOf(T(0))).toBe(17);
  });
});
