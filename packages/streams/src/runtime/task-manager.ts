// Creates, restores, commits and closes the tasks of the partitions this instance is assigned.
import type { ChangelogPartition, ChangelogRecord, TaskStateManager } from '@eddy/state';
import type { ResolvedConfig } from '../config.js';
import { errorMessage, StreamsError } from '../errors.js';
import type {
  AdminPort,
  ChangelogReaderPort,
  KafkaClientFactory,
  TopicPartitionOffset,
  TransactionalProducerPort,
} from '../kafka/port.js';
import type { SealedTopology } from '../topology/topology.js';
import { DRAIN_ONLY, RecordCollector } from './record-collector.js';
import { restoreTask } from './state-restorer.js';
import { StreamTask } from './stream-task.js';
import { createTaskState, openTaskState } from './task-state.js';

/**
 * A task and, for a stateful topology, the manager of its stores. Its transactional producer writes, with
 * exactly-once, its output, changelog records and offsets; with at-least-once (when it has logged stores), its
 * changelog records: one transaction per commit, so its stores never end at different marks. Under
 * at-least-once, tasks share the app's collector for their output.
 */
export interface ActiveTask {
  task: StreamTask;
  state: TaskStateManager | undefined;
  collector: RecordCollector;
  producer: TransactionalProducerPort | undefined;
}

interface PreparedTask {
  partition: number;
  state: TaskStateManager;
  producer: TransactionalProducerPort | undefined;
  records: ChangelogRecord[];
}

export interface TaskManagerDeps {
  config: ResolvedConfig;
  graph: SealedTopology;
  /** The collector tasks share under at-least-once. */
  collector: RecordCollector;
  admin: AdminPort;
  reader: ChangelogReaderPort;
  factory: KafkaClientFactory;
  /** Told where a task's stores stand (their checkpoints) as the task closes; its state stays on disk. */
  onStateClosing?: (partition: number, positions: ChangelogPartition[]) => void;
}

/**
 * Per source topic, the offset up to which the task's logged stores hold the input's effect (the task's replay
 * point, see `TaskStateManager.replayPoint`). Those records are skipped on replay: their state changes are in the
 * stores and their outputs were acknowledged before the changelog transaction that carries the mark.
 */
function replayedUpTo(state: TaskStateManager, partition: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const mark of state.replayPoint()) {
    if (mark.partition === partition && mark.offset >= 0) out.set(mark.topic, mark.offset);
  }
  return out;
}

/** True when some store of the topology writes a changelog. */
function hasLoggedStores(graph: SealedTopology): boolean {
  return graph.stores.some((s) => s.builder.options.logging ?? true);
}

export class TaskManager {
  private readonly ready = new Map<number, ActiveTask>();
  private readonly creating = new Map<number, Promise<ActiveTask>>();
  private readonly closing = new Map<number, Promise<void>>();
  private restoringCount = 0;
  private prepared: PreparedTask[] = [];
  /** Tasks whose producer a new owner fenced: nothing more of theirs is committed here; a rebalance closes them. */
  private readonly migrated = new Set<number>();

  constructor(private readonly deps: TaskManagerDeps) {}

  /** Tasks ready to process. */
  active(): ActiveTask[] {
    return [...this.ready.values()];
  }

  /** Tasks still opening or restoring their stores. */
  get restoring(): number {
    return this.restoringCount;
  }

  /** The task of `partition`, created (and its stores restored) on first use. */
  ensure(partition: number): Promise<ActiveTask> {
    const ready = this.ready.get(partition);
    if (ready) return Promise.resolve(ready);
    let pending = this.creating.get(partition);
    if (!pending) {
      pending = this.create(partition).finally(() => this.creating.delete(partition));
      this.creating.set(partition, pending);
    }
    return pending;
  }

  /** Closes the tasks of partitions no longer assigned. Their uncommitted changes are dropped, not logged. */
  async retainOnly(partitions: ReadonlySet<number>): Promise<void> {
    const lost = [...this.ready.keys()].filter((p) => !partitions.has(p));
    await Promise.all(lost.map((p) => this.close(p)));
  }

  /** True when a task's stores hold more unflushed data than their bound. */
  needsCommit(): boolean {
    for (const { state } of this.ready.values()) if (state?.needsCommit()) return true;
    return false;
  }

  /**
   * False for a task whose stores hold part of a record that failed, or whose producer a new owner fenced: neither
   * its state nor its input offsets may be committed here (it is closed without a commit; its input since the last
   * commit replays against its last committed state).
   */
  committable(partition: number): boolean {
    return this.ready.get(partition)?.state?.torn !== true && !this.migrated.has(partition);
  }

  /** Flushes every task's caches and returns the changelog records to send before completeCommit. */
  prepareCommit(): ChangelogRecord[] {
    const records: ChangelogRecord[] = [];
    this.prepared = [];
    for (const [partition, { state, producer }] of this.ready) {
      if (!state || !this.committable(partition)) continue;
      const own = state.prepareCommit();
      records.push(...own);
      this.prepared.push({ partition, state, producer, records: own });
    }
    return records;
  }

  /**
   * At-least-once: writes the changelog records of each task prepared by prepareCommit in one transaction of that
   * task's producer (all or none of a task's flush is read back), and returns their offsets for completeCommit.
   * A task whose producer was fenced by its new owner (a rebalance moved it) drops out of this commit: its state
   * and input offsets are not committed here, and the new owner replays from the last committed offset.
   */
  async sendChangelog(): Promise<Map<string, bigint>> {
    const offsets = new Map<string, bigint>();
    const { applicationId, logger } = this.deps.config;
    await Promise.all(
      this.prepared.map(async ({ partition, state, producer, records }) => {
        if (records.length === 0) return;
        if (!producer) {
          throw new StreamsError('ILLEGAL_STATE', `task ${state.options.taskId} has no changelog producer`);
        }
        let written: Map<string, bigint>;
        try {
          written = await producer.commitTransaction(records, applicationId, []);
        } catch (err) {
          if (!(err instanceof StreamsError && err.code === 'TASK_MIGRATED')) throw err;
          logger.warn(
            'task moved to another instance during a commit; its input since the last commit replays',
            {
              task: state.options.taskId,
              error: err.message,
            },
          );
          this.migrated.add(partition);
          return;
        }
        // Only this task's producer writes its changelog partitions, so the commit marker directly follows the
        // transaction's last record: the state covers the marker too, and a restart finds nothing to restore.
        for (const [key, offset] of written) offsets.set(key, offset + 1n);
      }),
    );
    this.prepared = this.prepared.filter((p) => !this.migrated.has(p.partition));
    return offsets;
  }

  /**
   * Writes the flushed state and checkpoint of each task prepared by prepareCommit, now that its changelog records
   * are acknowledged. A task that became ready in between has nothing of this commit.
   */
  async completeCommit(changelogOffsets: ReadonlyMap<string, bigint>): Promise<void> {
    const prepared = this.prepared;
    this.prepared = [];
    for (const { state } of prepared) await state.completeCommit(changelogOffsets);
  }

  /**
   * Exactly-once commit of every task: its buffered output, its changelog records and its input offsets in one
   * transaction; then, once committed, its state and checkpoint. Returns the number of changelog records written.
   */
  async commitTransactions(offsetsOf: (partition: number) => TopicPartitionOffset[]): Promise<number> {
    let changelogRecords = 0;
    for (const [partition, { state, collector, producer }] of this.ready) {
      if (state?.torn) continue;
      const changelog = state?.prepareCommit() ?? [];
      const records = [...collector.drain(), ...changelog];
      const offsets = offsetsOf(partition);
      const written = await producer!.commitTransaction(records, this.deps.config.applicationId, offsets);
      await state?.completeCommit(written);
      changelogRecords += changelog.length;
    }
    return changelogRecords;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.creating.values()]);
    await Promise.all([...this.ready.keys()].map((p) => this.close(p)));
    await Promise.all(this.closing.values());
  }

  private close(partition: number): Promise<void> {
    const active = this.ready.get(partition);
    if (!active) return this.closing.get(partition) ?? Promise.resolve();
    this.ready.delete(partition);
    this.migrated.delete(partition);
    active.task.close();
    if (active.state) this.deps.onStateClosing?.(partition, active.state.changelogPartitions());
    const done = Promise.allSettled([active.state?.close(), active.producer?.close()])
      .then(() => undefined)
      .finally(() => this.closing.delete(partition));
    this.closing.set(partition, done);
    return done;
  }

  private async create(partition: number): Promise<ActiveTask> {
    await this.closing.get(partition);
    const { config, graph } = this.deps;
    const taskId = `0_${partition}`;
    let producer: TransactionalProducerPort | undefined;
    let collector = this.deps.collector;
    const exactlyOnce = config.processingGuarantee === 'exactly-once';
    if (exactlyOnce || hasLoggedStores(graph)) {
      // Connecting fences a previous owner of this task (a zombie) and aborts its open transaction; only then
      // does the changelog's committed end stop moving, so this comes before the restore.
      producer = this.deps.factory.transactionalProducer(`${config.applicationId}-${taskId}`);
      await producer.connect();
    }
    if (exactlyOnce) collector = new RecordCollector(DRAIN_ONLY);
    let state: TaskStateManager | undefined;
    let stores = new Map<string, unknown>();
    if (graph.stores.length > 0) {
      this.restoringCount++;
      try {
        ({ state, stores } = createTaskState(config, graph, partition));
        await openTaskState(state, config);
        const restored = await restoreTask(state, {
          admin: this.deps.admin,
          reader: this.deps.reader,
          logger: config.logger,
          listener: config.restoreListener,
        });
        config.logger.debug('task restored', {
          task: `0_${partition}`,
          records: Object.fromEntries(restored),
        });
      } catch (err) {
        await state?.close().catch(() => undefined);
        await producer?.close().catch(() => undefined);
        throw new StreamsError(
          'STATE_FAILED',
          `opening the state of task 0_${partition} failed: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      } finally {
        this.restoringCount--;
      }
    }
    const s = state;
    const task = new StreamTask({
      replayedUpTo: state ? replayedUpTo(state, partition) : undefined,
      applicationId: config.applicationId,
      partition,
      graph,
      collector,
      deserializationErrors: config.deserializationErrors,
      processingErrors: config.processingErrors,
      maxTaskIdleMs: config.maxTaskIdleMs,
      logger: config.logger,
      stores: s && {
        store: (name) => stores.get(name),
        setSourcePosition: (topic, p, offset) => s.setSourcePosition(topic, p, offset),
        completeSourceRecord: () => s.completeSourceRecord(),
      },
    });
    const active = { task, state, collector, producer };
    this.ready.set(partition, active);
    return active;
  }
}
