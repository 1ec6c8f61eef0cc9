// Creates, restores, commits and closes the tasks of the partitions this instance is assigned.
import type { ChangelogPartition, ChangelogRecord, TaskStateManager } from '@eddy/state';
import type { ResolvedConfig } from '../config.js';
import { errorMessage, StreamsError } from '../errors.js';
import type {
  AdminPort,
  ChangelogReaderPort,
  ConsumerGroupMetadata,
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
 * A task and, for a stateful topology, the manager of its stores. With exactly-once, the task also has its own
 * output buffer and transactional producer; with at-least-once, tasks share the app's collector.
 */
export interface ActiveTask {
  task: StreamTask;
  state: TaskStateManager | undefined;
  collector: RecordCollector;
  producer: TransactionalProducerPort | undefined;
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
 * Per source topic, the offset up to which every store of the task already holds the input's effect (the lowest
 * source mark among the stores). Those records are skipped on replay: their state changes are in the stores and
 * their outputs were acknowledged before the changelog records that carry the marks were written.
 */
function replayedUpTo(
  state: TaskStateManager,
  graph: SealedTopology,
  partition: number,
): Map<string, number> {
  const out = new Map<string, number>();
  const topics = sourceTopicsOf(graph);
  for (const topic of topics) {
    let lowest = Number.POSITIVE_INFINITY;
    for (const name of state.storeNames()) {
      const mark = state.sourceMarks(name).find((m) => m.topic === topic && m.partition === partition);
      lowest = Math.min(lowest, mark?.offset ?? -1);
    }
    if (Number.isFinite(lowest) && lowest >= 0) out.set(topic, lowest);
  }
  return out;
}

function sourceTopicsOf(graph: SealedTopology): string[] {
  return graph.nodes.flatMap((n) => (n.kind === 'source' ? n.topics : []));
}

/**
 * Exactly-once: the consumer read the committed offsets when the group assigned the partition, possibly while the
 * previous owner (a member paused past its session, a zombie) still had a transaction open, whose offsets were not
 * visible yet. Initialising this task's producer has since fenced that owner and committed or aborted its
 * transaction, so the offsets read now are final: input below them is in a committed transaction and is skipped.
 */
async function committedUpTo(
  admin: AdminPort,
  groupId: string,
  graph: SealedTopology,
  partition: number,
): Promise<Map<string, number>> {
  const committed = await admin.committedOffsets(groupId, sourceTopicsOf(graph));
  const out = new Map<string, number>();
  for (const topic of sourceTopicsOf(graph)) {
    const next = committed.get(`${topic}:${partition}`);
    if (next !== undefined && next > 0n) out.set(topic, Number(next) - 1);
  }
  return out;
}

/** Per topic, the higher of two skip marks. */
function laterOf(a: Map<string, number> | undefined, b: Map<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [topic, offset] of b) out.set(topic, Math.max(offset, out.get(topic) ?? -1));
  return out;
}

export class TaskManager {
  private readonly ready = new Map<number, ActiveTask>();
  private readonly creating = new Map<number, Promise<ActiveTask>>();
  private readonly closing = new Map<number, Promise<void>>();
  private restoringCount = 0;
  private prepared: TaskStateManager[] = [];

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

  /** Flushes every task's caches and returns the changelog records to send before completeCommit. */
  prepareCommit(): ChangelogRecord[] {
    const records: ChangelogRecord[] = [];
    this.prepared = [];
    for (const { state } of this.ready.values()) {
      if (!state) continue;
      records.push(...state.prepareCommit());
      this.prepared.push(state);
    }
    return records;
  }

  /**
   * Writes the flushed state and checkpoint of each task prepared by prepareCommit, now that its changelog records
   * are acknowledged. A task that became ready in between has nothing of this commit.
   */
  async completeCommit(changelogOffsets: ReadonlyMap<string, bigint>): Promise<void> {
    const prepared = this.prepared;
    this.prepared = [];
    for (const state of prepared) await state.completeCommit(changelogOffsets);
  }

  /**
   * Exactly-once commit of every task: its buffered output, its changelog records and its input offsets in one
   * transaction; then, once committed, its state and checkpoint. Returns the number of changelog records written.
   * On TASK_MIGRATED (the group refused the offsets; the transaction is aborted) the tasks not committed by this
   * call are closed dirty, since their caches and buffers hold what the aborted transaction dropped, and the error
   * is rethrown; they are created again, from the committed offsets and changelogs, after the consumer rejoins.
   */
  async commitTransactions(
    offsetsOf: (partition: number) => TopicPartitionOffset[],
    group: ConsumerGroupMetadata,
  ): Promise<number> {
    let changelogRecords = 0;
    const tasks = [...this.ready];
    for (const [i, [partition, { state, collector, producer }]] of tasks.entries()) {
      const changelog = state?.prepareCommit() ?? [];
      const records = [...collector.drain(), ...changelog];
      const offsets = offsetsOf(partition);
      let written: Map<string, bigint>;
      try {
        written = await producer!.commitTransaction(records, group, offsets);
      } catch (err) {
        if (err instanceof StreamsError && err.code === 'TASK_MIGRATED') {
          await Promise.all(tasks.slice(i).map(([p]) => this.close(p)));
        }
        throw err;
      }
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
    let committed = new Map<string, number>();
    if (config.processingGuarantee === 'exactly-once') {
      // Connecting fences a previous owner of this task (a zombie) and aborts its open transaction; only then
      // does the changelog's committed end stop moving, so this comes before the restore.
      producer = this.deps.factory.transactionalProducer(`${config.applicationId}-${taskId}`);
      await producer.connect();
      committed = await committedUpTo(this.deps.admin, config.applicationId, graph, partition);
      collector = new RecordCollector(DRAIN_ONLY);
    }
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
      replayedUpTo: laterOf(state && replayedUpTo(state, graph, partition), committed),
      applicationId: config.applicationId,
      partition,
      graph,
      collector,
      deserializationErrors: config.deserializationErrors,
      processingErrors: config.processingErrors,
      logger: config.logger,
      stores: s && {
        store: (name) => stores.get(name),
        setSourcePosition: (topic, p, offset) => s.setSourcePosition(topic, p, offset),
      },
    });
    const active = { task, state, collector, producer };
    this.ready.set(partition, active);
    return active;
  }
}
