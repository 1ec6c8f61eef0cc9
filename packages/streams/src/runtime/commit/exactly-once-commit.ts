// Exactly-once: per task, one transaction with its output, its changelog records and its input offsets; the tasks'
// transactions of one commit run at the same time, each on its task's own producer.

import { DEFAULT_MAX_RECORD_BYTES } from '../../config.js';
import { errorMessage, StreamsError } from '../../errors.js';
import type { ConsumerGroupMetadata, ConsumerPort, TopicPartitionOffset } from '../../kafka/port.js';
import type { Logger } from '../../logger.js';
import { checkChangelogSizes, refusedAsTooLarge } from '../record-size.js';
import type { TaskId } from '../task-id.js';
import type { ActiveTask, TaskManager } from '../task-manager.js';
import type { CommitProtocol } from './commit-protocol.js';
import type { PendingOffsets } from './pending-offsets.js';

export interface ExactlyOnceDeps {
  tasks: TaskManager;
  /** Its group metadata goes with every transaction's offsets, so that a zombie's are refused (KIP-447). */
  consumer: ConsumerPort;
  offsets: PendingOffsets;
  logger: Logger;
  /**
   * A task's producer was fenced: another instance owns the task now (this one was too slow, or a rebalance raced
   * the commit). The task has been closed without committing; the instance should rejoin the group.
   */
  onTaskMigrated: (id: TaskId) => void;
  /** See `StreamsConfig.maxRecordBytes`; default DEFAULT_MAX_RECORD_BYTES. */
  maxRecordBytes?: number;
}

/**
 * Local state is written only after its task's transaction commits, so a failed or fenced transaction leaves the
 * stores at the last committed state. Tasks share nothing in a commit: each one's outcome (committed, fenced,
 * failed) decides only what happens to that task, and the commit waits for all of them before it reports the first
 * failure.
 */
export class ExactlyOnceCommit implements CommitProtocol {
  commits = 0;
  changelogRecords = 0;

  constructor(private readonly deps: ExactlyOnceDeps) {}

  async flushOutput(): Promise<void> {}

  readonly outputWaiting = false;

  async commit(): Promise<TopicPartitionOffset[]> {
    const { tasks } = this.deps;
    const group = this.deps.consumer.groupMetadata();
    // A task whose stores hold part of a failed record commits nothing: it replays from its last commit. The list is
    // taken first: a task closed during the commit leaves the manager's list.
    const committable = tasks.active().filter(({ task }) => tasks.committable(task.id));
    const outcomes = await Promise.allSettled(committable.map((active) => this.commitTask(active, group)));
    const committed: TopicPartitionOffset[] = [];
    let failure: unknown;
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') committed.push(...outcome.value);
      else failure ??= outcome.reason;
    }
    if (committed.length > 0) this.commits++;
    if (failure !== undefined) throw failure;
    return committed;
  }

  /**
   * One task's transaction, then its state. Resolves with the offsets it committed (none when its producer was
   * fenced: the task is closed); rejects when the transaction or the state write failed.
   */
  private async commitTask(
    { task, state, collector, producer }: ActiveTask,
    group: ConsumerGroupMetadata,
  ): Promise<TopicPartitionOffset[]> {
    const { tasks, offsets: pending, logger } = this.deps;
    const id = task.id;
    task.flush();
    const changelog = state?.prepareCommit() ?? [];
    checkChangelogSizes(changelog, id.toString(), this.deps.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
    const records = [...collector.drain(), ...changelog];
    const offsets = pending.of(id);
    let written: Map<string, bigint>;
    try {
      written = await producer!.commitTransaction(records, group, offsets);
    } catch (cause) {
      if (cause instanceof StreamsError && cause.code === 'TASK_MIGRATED') {
        logger.warn(
          'a task was fenced or its generation is over; closing it without committing and rejoining',
          {
            task: id.toString(),
            error: cause.message,
          },
        );
        pending.forget(id);
        await tasks.closeDirty(id);
        this.deps.onTaskMigrated(id);
        return [];
      }
      // The transaction took the task's output out of its buffer: no later commit (e.g. the last one of a shutdown)
      // may commit this input without it. It replays from the last committed offsets.
      pending.forget(id);
      throw new StreamsError(
        refusedAsTooLarge(cause) ? 'RECORD_TOO_LARGE' : 'COMMIT_FAILED',
        `the transaction of task ${id} failed: ${errorMessage(cause)}`,
        { cause },
      );
    }
    try {
      await state?.completeCommit(written);
    } catch (cause) {
      // The transaction is committed: its changelog records hold what the store could not write, and a restart
      // restores them. Stopping here keeps the store from going on with a commit it lacks.
      throw new StreamsError(
        'STATE_FAILED',
        `writing the state of task ${id} after its transaction failed: ${errorMessage(cause)}`,
        { cause },
      );
    }
    this.changelogRecords += changelog.length;
    pending.committed(offsets);
    return offsets;
  }
}
