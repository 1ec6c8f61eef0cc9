// Creates, restores, commits and closes the active tasks this instance is assigned.
import type { ChangelogPartition, TaskStateManager } from '@eddy/state';
import type { ResolvedConfig } from '../config.js';
import { errorMessage, StreamsError } from '../errors.js';
import type {
  AdminPort,
  ChangelogReaderPort,
  KafkaClientFactory,
  TransactionalProducerPort,
} from '../kafka/port.js';
import type { DropReason } from '../topology/processor.js';
import type { SealedTopology } from '../topology/topology.js';
import type { TaskInFlight } from './crash-guard.js';
import { type CreateTaskOptions, createTask } from './create-task.js';
import { DRAIN_ONLY, RecordCollector } from './record-collector.js';
import { restoreTask } from './state-restorer.js';
import type { StreamTask } from './stream-task.js';
import type { TaskId } from './task-id.js';
import { createTaskState, openTaskState } from './task-state.js';

/**
 * A task and, for a stateful subtopology, the manager of its stores. Its transactional producer writes, with
 * exactly-once, its output, changelog records and offsets; with at-least-once (when it has logged stores), its
 * changelog records: one transaction per commit, so its stores never end at different marks. Under at-least-once,
 * tasks share the app's collector for their output.
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
  onStateClosing?: (id: TaskId, positions: ChangelogPartition[]) => void;
  /** Told of each record a processor dropped on purpose. */
  onDropped?: (reason: DropReason) => void;
  /** The instance's global stores by name, which every task's processors may read. */
  globalStores?: ReadonlyMap<string, unknown>;
  /** Crash-loop protection: marks each task's input in flight on the state volume. */
  inFlight?: (id: TaskId) => TaskInFlight;
  /** Where each task observes the end-to-end latency of its output (metrics). */
  outputLatency?: (id: TaskId) => NonNullable<CreateTaskOptions['outputLatency']>;
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
  id: TaskId,
): Promise<Map<string, number>> {
  const topics = graph.subtopologies[id.subtopology]?.sourceTopics ?? [];
  const committed = await admin.committedOffsets(groupId, topics);
  const out = new Map<string, number>();
  for (const topic of topics) {
    const next = committed.get(`${topic}:${id.partition}`);
    if (next !== undefined && next > 0n) out.set(topic, Number(next) - 1);
  }
  return out;
}

/** Why a task's creation ended without a task: an assignment took the task away meanwhile. Not a failure. */
export class TaskRevoked extends Error {
  constructor(readonly taskId: TaskId) {
    super(`task ${taskId} was revoked while it was being created`);
    this.name = 'TaskRevoked';
  }
}

export class TaskManager {
  private readonly ready = new Map<TaskId, ActiveTask>();
  private readonly creating = new Map<TaskId, Promise<ActiveTask>>();
  /** Tasks an assignment took away while they were being created: their creation closes what it opened. */
  private readonly revoked = new Set<TaskId>();
  private readonly closing = new Map<TaskId, Promise<void>>();
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

  /** Tasks assigned but not ready yet: opening, connecting their producer, or restoring. */
  get pending(): number {
    return this.creating.size;
  }

  /** The ids of the tasks assigned but not ready yet. */
  pendingIds(): IterableIterator<TaskId> {
    return this.creating.keys();
  }

  /** The task `id` if it is ready. */
  get(id: TaskId): ActiveTask | undefined {
    return this.ready.get(id);
  }

  /** The task `id`, created (and its stores restored) on first use. */
  ensure(id: TaskId): Promise<ActiveTask> {
    this.revoked.delete(id);
    const ready = this.ready.get(id);
    if (ready) return Promise.resolve(ready);
    let pending = this.creating.get(id);
    if (!pending) {
      pending = this.create(id).finally(() => this.creating.delete(id));
      this.creating.set(id, pending);
    }
    return pending;
  }

  /**
   * Closes the tasks no longer assigned. Their uncommitted changes are dropped, not logged. One still being created
   * (connecting, opening, restoring) closes itself when that step ends and rejects with TaskRevoked: left to become
   * ready, it would hold its state directory's lock, e.g. against a standby replica of it here.
   */
  async retainOnly(ids: ReadonlySet<TaskId>): Promise<void> {
    for (const id of this.creating.keys()) if (!ids.has(id)) this.revoked.add(id);
    const lost = [...this.ready.keys()].filter((id) => !ids.has(id));
    await Promise.all(lost.map((id) => this.close(id)));
  }

  /**
   * False for a task whose stores hold part of a record that failed: neither its state nor its input offsets may be
   * committed (its input since the last commit replays against its last committed state).
   */
  committable(id: TaskId): boolean {
    // A task closed meanwhile (a revocation, a reconnect) is not: its pending offsets may cover input whose state it
    // never wrote.
    const active = this.ready.get(id);
    return active !== undefined && active.state?.torn !== true;
  }

  /** True when a task's stores hold more unflushed data than their bound. */
  needsCommit(): boolean {
    for (const { state } of this.ready.values()) if (state?.needsCommit()) return true;
    return false;
  }

  /**
   * Closes a task without committing (its output and state changes since the last commit are dropped), e.g. after
   * its producer was fenced by a newer owner.
   */
  closeDirty(id: TaskId): Promise<void> {
    return this.close(id);
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.creating.values()]);
    await Promise.all([...this.ready.keys()].map((p) => this.close(p)));
    await Promise.all(this.closing.values());
  }

  private close(id: TaskId): Promise<void> {
    const active = this.ready.get(id);
    if (!active) return this.closing.get(id) ?? Promise.resolve();
    this.ready.delete(id);
    active.task.close();
    if (active.state) this.deps.onStateClosing?.(id, active.state.changelogPartitions());
    const done = Promise.allSettled([active.state?.close(), active.producer?.close()])
      .then(() => undefined)
      .finally(() => this.closing.delete(id));
    this.closing.set(id, done);
    return done;
  }

  /** Closes what a task's creation opened and rejects with TaskRevoked when an assignment took the task away. */
  private async giveUpIfRevoked(
    id: TaskId,
    producer: TransactionalProducerPort | undefined,
    state?: TaskStateManager,
  ): Promise<void> {
    if (!this.revoked.delete(id)) return;
    await Promise.allSettled([state?.close(), producer?.close()]);
    throw new TaskRevoked(id);
  }

  private async create(id: TaskId): Promise<ActiveTask> {
    await this.closing.get(id);
    const { config, graph } = this.deps;
    let producer: TransactionalProducerPort | undefined;
    let collector = this.deps.collector;
    const exactlyOnce = config.processingGuarantee === 'exactly-once';
    const logged = (graph.subtopologies[id.subtopology]?.stores ?? []).some(
      (s) => s.builder.options.logging ?? true,
    );
    let committed = new Map<string, number>();
    if (exactlyOnce || logged) {
      // Connecting fences a previous owner of this task (a zombie) and aborts its open transaction; only then
      // does the changelog's committed end stop moving, so this comes before the restore.
      producer = this.deps.factory.transactionalProducer(`${config.applicationId}-${id}`);
      await producer.connect();
      await this.giveUpIfRevoked(id, producer);
      if (exactlyOnce) committed = await committedUpTo(this.deps.admin, config.applicationId, graph, id);
    }
    if (exactlyOnce) collector = new RecordCollector(DRAIN_ONLY);
    const taskState = createTaskState(config, graph, id);
    if (taskState !== undefined) {
      this.restoringCount++;
      try {
        await openTaskState(taskState.state, config);
        const restored = await restoreTask(taskState.state, {
          admin: this.deps.admin,
          reader: this.deps.reader,
          logger: config.logger,
          listener: config.restoreListener,
        });
        config.logger.debug('task restored', { task: id.toString(), records: Object.fromEntries(restored) });
      } catch (err) {
        await taskState.state.close().catch(() => undefined);
        await producer?.close().catch(() => undefined);
        throw new StreamsError(
          'STATE_FAILED',
          `opening the state of task ${id} failed: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      } finally {
        this.restoringCount--;
      }
    }
    await this.giveUpIfRevoked(id, producer, taskState?.state);
    const task = createTask({
      id,
      graph,
      config,
      collector,
      state: taskState,
      committedUpTo: committed,
      ...(this.deps.onDropped === undefined ? {} : { onDropped: this.deps.onDropped }),
      ...(this.deps.globalStores === undefined ? {} : { globalStores: this.deps.globalStores }),
      ...(this.deps.inFlight === undefined ? {} : { inFlight: this.deps.inFlight(id) }),
      ...(this.deps.outputLatency === undefined ? {} : { outputLatency: this.deps.outputLatency(id) }),
    });
    const state = taskState?.state;
    const active = { task, state, collector, producer };
    this.ready.set(id, active);
    return active;
  }
}
