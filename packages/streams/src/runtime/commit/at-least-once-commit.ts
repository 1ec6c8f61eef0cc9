// At-least-once: outputs acknowledged, then changelog records acknowledged, then state and checkpoints, then offsets.
import type { TaskStateManager } from '@eddy/state';
import { errorMessage, StreamsError } from '../../errors.js';
import type { ConsumerPort, ProducerPort, TopicPartitionOffset } from '../../kafka/port.js';
import type { Logger } from '../../logger.js';
import type { RecordCollector } from '../record-collector.js';
import type { TaskManager } from '../task-manager.js';
import type { CommitPhase, CommitProtocol } from './commit-protocol.js';
import type { PendingOffsets } from './pending-offsets.js';

export interface AtLeastOnceDeps {
  tasks: TaskManager;
  offsets: PendingOffsets;
  consumer: ConsumerPort;
  /** The producer of the changelog records; the collector's producer sends the output. */
  producer: ProducerPort;
  collector: RecordCollector;
  logger: Logger;
  onCommitPhase: ((phase: CommitPhase) => void) | undefined;
}

/**
 * A crash anywhere replays from the last offset commit; the source marks in the changelog keep stores from counting
 * replayed input twice, and no changelog record exists for input whose output was not acknowledged.
 */
export class AtLeastOnceCommit implements CommitProtocol {
  commits = 0;
  changelogRecords = 0;

  constructor(private readonly deps: AtLeastOnceDeps) {}

  async flushOutput(): Promise<void> {
    await this.deps.collector.flush();
  }

  async commit(): Promise<TopicPartitionOffset[]> {
    const { tasks, offsets: pending, consumer, producer, logger, onCommitPhase } = this.deps;
    await this.deps.collector.flush();
    // Only the tasks flushed here are completed below: a task that became ready meanwhile has nothing of this commit.
    const prepared: TaskStateManager[] = [];
    const changelog = [];
    for (const { state } of tasks.active()) {
      if (state === undefined) continue;
      changelog.push(...state.prepareCommit());
      prepared.push(state);
    }
    if (changelog.length > 0) onCommitPhase?.('outputs-acked');
    let changelogOffsets = new Map<string, bigint>();
    if (changelog.length > 0) {
      try {
        changelogOffsets = await producer.send(changelog);
      } catch (cause) {
        throw new StreamsError(
          'PRODUCE_FAILED',
          `writing ${changelog.length} changelog records failed: ${errorMessage(cause)}`,
          { cause },
        );
      }
      this.changelogRecords += changelog.length;
      onCommitPhase?.('changelog-acked');
    }
    try {
      for (const state of prepared) await state.completeCommit(changelogOffsets);
    } catch (cause) {
      throw new StreamsError('STATE_FAILED', `writing the state of a commit failed: ${errorMessage(cause)}`, {
        cause,
      });
    }
    if (changelog.length > 0) onCommitPhase?.('state-written');
    const offsets = pending.all();
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
}
