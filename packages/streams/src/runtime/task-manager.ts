// Creates, restores, commits and closes the tasks of the partitions this instance is assigned.
import { type ChangelogRecord, StateStoreError, TaskStateManager } from '@eddy/state';
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
  const topics = graph.nodes.flatMap((n) => (n.kind === 'source' ? n.topics : []));
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

/** How long a task waits for another holder of its state directory lock to let go. */
const LOCK_WAIT_MS = 15_000;

export class TaskManager {
  private readonly ready = new Map<number, ActiveTask>();
  private readonly creating = new Map<number, Promise<ActiveTask>>();
  private readonly closing = new Map<number, Promise<void>>();
  private restoringCount = 0;

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
    for (const { state } of this.ready.values()) if (state) records.push(...state.prepareCommit());
    return records;
  }

  /** Writes each task's flushed state and checkpoint, now that its changelog records are acknowledged. */
  async completeCommit(changelogOffsets: ReadonlyMap<string, bigint>): Promise<void> {
    for (const { state } of this.ready.values()) await state?.completeCommit(changelogOffsets);
  }

  /**
   * Exactly-once commit of every task: its buffered output, its changelog records and its input offsets in one
   * transaction; then, once committed, its state and checkpoint. Returns the number of changelog records written.
   */
  async commitTransactions(offsetsOf: (partition: number) => TopicPartitionOffset[]): Promise<number> {
    let changelogRecords = 0;
    for (const [partition, { state, collector, producer }] of this.ready) {
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
    active.task.close();
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
    if (config.processingGuarantee === 'exactly-once') {
      // Connecting fences a previous owner of this task (a zombie) and aborts its open transaction; only then
      // does the changelog's committed end stop moving, so this comes before the restore.
      producer = this.deps.factory.transactionalProducer(`${config.applicationId}-${taskId}`);
      await producer.connect();
      collector = new RecordCollector(DRAIN_ONLY);
    }
    let state: TaskStateManager | undefined;
    const stores = new Map<string, unknown>();
    if (graph.stores.length > 0) {
      this.restoringCount++;
      try {
        state = new TaskStateManager({
          applicationId: config.applicationId,
          taskId: `0_${partition}`,
          partition,
          stateDir: config.stateDir,
        });
        for (const spec of graph.stores) stores.set(spec.name, state.register(spec.builder));
        await this.open(state);
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
      replayedUpTo: state ? replayedUpTo(state, graph, partition) : undefined,
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

  /**
   * Opens the stores: a corrupted store is wiped (it is rebuilt from its changelog), a lock still held by another
   * owner is waited for a bounded time.
   */
  private async open(state: TaskStateManager): Promise<void> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    let wiped = 0;
    let waitingLogged = false;
    for (;;) {
      try {
        await state.open();
        return;
      } catch (err) {
        if (!(err instanceof StateStoreError)) throw err;
        if (err.code === 'STORE_CORRUPTED' && err.store !== undefined && wiped < state.storeNames().length) {
          this.deps.config.logger.warn('store is corrupted; wiping it and rebuilding it from its changelog', {
            store: err.store,
            task: state.options.taskId,
            error: err.message,
          });
          await state.wipe(err.store);
          wiped++;
          continue;
        }
        if (err.code === 'STORE_LOCKED' && Date.now() < deadline) {
          if (!waitingLogged) {
            this.deps.config.logger.warn('task state is locked by another owner; waiting for it', {
              task: state.options.taskId,
              error: err.message,
            });
            waitingLogged = true;
          }
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        throw err;
      }
    }
  }
}
