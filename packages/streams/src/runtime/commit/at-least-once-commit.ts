// At-least-once: output is sent in the background between commits; a commit waits for it, then writes each task's
// changelog records in one transaction of its own, then state and checkpoints, then offsets.
import type { ChangelogRecord } from '@eddy/state';
import { DEFAULT_MAX_RECORD_BYTES } from '../../config.js';
import { errorMessage, StreamsError } from '../../errors.js';
import type { ConsumerPort, TopicPartitionOffset } from '../../kafka/port.js';
import type { Logger } from '../../logger.js';
import type { RecordCollector } from '../record-collector.js';
import { checkChangelogSizes, refusedAsTooLarge } from '../record-size.js';
import type { TaskId } from '../task-id.js';
import type { ActiveTask, TaskManager } from '../task-manager.js';
import type { CommitPhase, CommitProtocol } from './commit-protocol.js';
import type { PendingOffsets } from './pending-offsets.js';

export interface AtLeastOnceDeps {
  tasks: TaskManager;
  offsets: PendingOffsets;
  consumer: ConsumerPort;
  collector: RecordCollector;
  logger: Logger;
  onCommitPhase: ((phase: CommitPhase) => void) | undefined;
  /** A task's changelog producer was fenced by its new owner; the task has been closed without committing. */
  onTaskMigrated: (id: TaskId) => void;
  /** See `StreamsConfig.maxRecordBytes`; default DEFAULT_MAX_RECORD_BYTES. */
  maxRecordBytes?: number;
}

/**
 * A crash anywhere replays from the last offset commit. Each task's flush is one transaction (all of its stores'
 * records or none), so its stores share one source mark, and replayed input at or below it is skipped; no changelog
 * record exists for input whose output was not acknowledged.
 */
export class AtLeastOnceCommit implements CommitProtocol {
  commits = 0;
  changelogRecords = 0;

  constructor(private readonly deps: AtLeastOnceDeps) {}

  /** Waits for the previous send (reporting its failure), then starts sending the output without waiting. */
  async flushOutput(): Promise<void> {
    await this.deps.collector.settle();
    this.deps.collector.startSend();
  }

  get outputWaiting(): boolean {
    return this.deps.collector.waiting;
  }

  async commit(): Promise<TopicPartitionOffset[]> {
    const { tasks, offsets: pending, consumer, logger, onCommitPhase } = this.deps;
    for (const { task } of tasks.active()) if (tasks.committable(task.id)) task.flush();
    // The offsets this commit may make durable: of input whose output the flush below acknowledges (the send under
    // way, then the rest). A failed send fails the commit before any offset.
    const candidates = pending.byTask((id) => tasks.committable(id));
    await this.deps.collector.flush();
    // Only the tasks flushed here are completed below: a task that became ready meanwhile has nothing of this commit,
    // and one closed meanwhile (a reconnect releasing the tasks while this commit runs) wrote no state for its input.
    const prepared: { active: ActiveTask; records: ChangelogRecord[] }[] = [];
    const included = new Set<TaskId>();
    let count = 0;
    for (const active of tasks.active()) {
      if (!tasks.committable(active.task.id)) continue;
      included.add(active.task.id);
      if (active.state === undefined) continue;
      const records = active.state.prepareCommit();
      checkChangelogSizes(
        records,
        active.task.id.toString(),
        this.deps.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      );
      count += records.length;
      prepared.push({ active, records });
    }
    if (count > 0) onCommitPhase?.('outputs-acked');
    const { offsets: changelogOffsets, migrated } = await this.sendChangelogs(prepared);
    this.changelogRecords += count;
    if (count > 0) onCommitPhase?.('changelog-acked');
    for (const id of migrated) {
      logger.warn(
        'a task moved to another instance during a commit; its input since the last commit replays there',
        {
          task: id.toString(),
        },
      );
      pending.forget(id);
      await tasks.closeDirty(id);
      this.deps.onTaskMigrated(id);
    }
    try {
      for (const { active } of prepared) {
        if (!migrated.has(active.task.id)) await active.state!.completeCommit(changelogOffsets);
      }
    } catch (cause) {
      throw new StreamsError('STATE_FAILED', `writing the state of a commit failed: ${errorMessage(cause)}`, {
        cause,
      });
    }
    if (count > 0) onCommitPhase?.('state-written');
    const offsets = [...candidates]
      .filter(([id]) => included.has(id) && !migrated.has(id))
      .flatMap(([, o]) => o);
    if (offsets.length === 0) return [];
    try {
      await consumer.commit(offsets);
    } catch (cause) {
      if (cause instanceof StreamsError && cause.code === 'TASK_MIGRATED') {
        // Output and state are durable; only the offsets are not. Whoever owns the partitions after the rebalance
        // replays from the last committed offset, and the source marks keep stores from counting it twice.
        logger.warn('offset commit refused by a rebalance; the input since the last commit replays', {
          error: cause.message,
        });
        return [];
      }
      throw new StreamsError('COMMIT_FAILED', `committing offsets failed: ${errorMessage(cause)}`, { cause });
    }
    pending.committed(offsets);
    this.commits++;
    return offsets;
  }

  /**
   * Writes each task's changelog records in one transaction of the task's producer, all tasks at once. Returns the
   * offsets the checkpoints take (one past each transaction's last record: only the task's producer writes its
   * changelog partitions, so that is the commit marker) and the tasks whose producer a new owner fenced.
   */
  private async sendChangelogs(
    prepared: readonly { active: ActiveTask; records: ChangelogRecord[] }[],
  ): Promise<{ offsets: Map<string, bigint>; migrated: Set<TaskId> }> {
    const offsets = new Map<string, bigint>();
    const migrated = new Set<TaskId>();
    await Promise.all(
      prepared.map(async ({ active, records }) => {
        if (records.length === 0) return;
        const id = active.task.id;
        if (active.producer === undefined) {
          throw new StreamsError('ILLEGAL_STATE', `task ${id} has no changelog producer`);
        }
        let written: Map<string, bigint>;
        try {
          // A transaction of changelog records only: no offsets, so the group metadata is not checked.
          written = await active.producer.commitTransaction(records, this.deps.consumer.groupMetadata(), []);
        } catch (cause) {
          if (cause instanceof StreamsError && cause.code === 'TASK_MIGRATED') {
            migrated.add(id);
            return;
          }
          throw new StreamsError(
            refusedAsTooLarge(cause) ? 'RECORD_TOO_LARGE' : 'PRODUCE_FAILED',
            `writing ${records.length} changelog records of task ${id} failed: ${errorMessage(cause)}`,
            { cause },
          );
        }
        for (const [key, offset] of written) offsets.set(key, offset + 1n);
      }),
    );
    return { offsets, migrated };
  }
}
