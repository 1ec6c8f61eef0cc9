// A task an assignment takes away while it is still being created (restoring its stores) does not become ready: its
// creation closes what it opened, releases its state directory's lock and rejects with TaskRevoked. Left to become
// ready, it held the lock until the next assignment, and a standby replica of it on the same instance could not open.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { Serdes, StreamsBuilder } from '../src/index.js';
import { DRAIN_ONLY, RecordCollector } from '../src/runtime/record-collector.js';
import { TaskId } from '../src/runtime/task-id.js';
import { TaskManager, TaskRevoked } from '../src/runtime/task-manager.js';
import { createTaskState, openTaskState } from '../src/runtime/task-state.js';
import { clusterWithStoredCount } from './stored-count.js';

const APP = 'revoke';
const CHANGELOG = `${APP}-counts-changelog`;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('a task revoked while it is being created', () => {
  it('closes itself once its restore ends, releases its lock and never becomes ready', async () => {
    // A stored count, so that creating the task restores (and its read can be held).
    const { kafka, factory, producer } = await clusterWithStoredCount(['clicks'], CHANGELOG);
    cleanups.push(() => producer.close());
    let releaseRead!: () => void;
    kafka.faults.delayNext('read', new Promise<void>((r) => (releaseRead = r)), { target: CHANGELOG });
    cleanups.push(async () => releaseRead());

    const stateDir = await mkdtemp(join(tmpdir(), 'eddy-revoke-'));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    const builder = new StreamsBuilder();
    builder
      .stream('clicks', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .groupByKey({ keySerde: Serdes.string() })
      .count({ name: 'counts' });
    const graph = builder.build().seal(APP);
    const warnings: string[] = [];
    const config = resolveConfig({
      applicationId: APP,
      brokers: ['memory:9092'],
      stateDir,
      logger: { debug() {}, info() {}, error() {}, warn: (message: string) => warnings.push(message) },
    });
    const admin = factory.admin();
    await admin.connect();
    const reader = factory.changelogReader(`${APP}.restore`);
    cleanups.push(() => reader.close());
    cleanups.push(() => admin.close());
    const tasks = new TaskManager({
      config,
      graph,
      collector: new RecordCollector(DRAIN_ONLY),
      admin,
      reader,
      factory,
    });
    cleanups.push(() => tasks.closeAll());

    const id = TaskId.of(0, 0);
    const creating = tasks.ensure(id).then(
      () => 'ready',
      (err: unknown) => err,
    );
    // Restoring, its read held: the assignment takes the task away.
    await expect.poll(() => tasks.restoring).toBe(1);
    await tasks.retainOnly(new Set());
    releaseRead();

    expect(await creating).toBeInstanceOf(TaskRevoked);
    expect(tasks.get(id)).toBeUndefined();
    expect(tasks.pending).toBe(0);
    // The lock is free: the state opens without waiting for another owner.
    const replica = createTaskState(config, graph, id)!.state;
    await openTaskState(replica, config);
    await replica.close();
    expect(warnings).toEqual([]);
  });
});
