// How far this instance's local state for each task is behind its changelogs: the lags it reports to the group.
import { existsSync } from 'node:fs';
import type { ChangelogPartition } from '@eddy/state';
import type { ResolvedConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import type { AdminPort, PartitionOffsets } from '../kafka/port.js';
import type { SealedTopology } from '../topology/topology.js';
import { createTaskState } from './task-state.js';

/**
 * Tracks, per task, the next changelog offset each store's local state needs (from checkpoints), and the changelog
 * ends. A task without local state is as far behind as its whole changelog: a member with no state still counts as
 * caught up for a task whose changelog is short.
 */
export class TaskLags {
  /** `topic:partition` → the changelog partition's start and end. */
  private readonly ends = new Map<string, PartitionOffsets>();
  /** partition → changelog topic → next offset the local state needs (undefined: none, start over). */
  private readonly positions = new Map<number, Map<string, bigint | undefined>>();

  constructor(
    private readonly changelogTopics: readonly string[],
    private readonly partitions: number,
  ) {}

  /** Reads the current start and end of every changelog partition. */
  async refreshEnds(admin: AdminPort): Promise<void> {
    for (const topic of this.changelogTopics) {
      for (const o of await admin.partitionOffsets(topic)) this.ends.set(`${topic}:${o.partition}`, o);
    }
  }

  /** Records where the local stores of a task stand (from `TaskStateManager.changelogPartitions()`). */
  record(partition: number, stores: readonly ChangelogPartition[]): void {
    const topics = new Map<string, bigint | undefined>();
    for (const s of stores) {
      topics.set(s.topic, s.checkpointOffset === undefined ? undefined : s.checkpointOffset + 1n);
    }
    this.positions.set(partition, topics);
  }

  /** Changelog records task `0_<partition>` is behind on this instance. */
  lagOf(partition: number): number {
    const local = this.positions.get(partition);
    let lag = 0n;
    for (const topic of this.changelogTopics) {
      const end = this.ends.get(`${topic}:${partition}`);
      if (end === undefined) continue;
      const next = local?.get(topic);
      const from = next === undefined || next < end.low || next > end.high ? end.low : next;
      lag += end.high - from;
    }
    return Number(lag);
  }

  /** The lags to report: every task, 0 for those running here as active. */
  lags(active: ReadonlySet<number>): Map<string, number> {
    const out = new Map<string, number>();
    for (let p = 0; p < this.partitions; p++) out.set(`0_${p}`, active.has(p) ? 0 : this.lagOf(p));
    return out;
  }
}

/**
 * Reads the checkpoints of the task directories already on the state volume (a restarted pod's state) into `lags`.
 * A directory that cannot be opened now (locked, corrupted) counts as no state; the task opens it properly later.
 */
export async function scanLocalState(
  lags: TaskLags,
  config: ResolvedConfig,
  graph: SealedTopology,
  partitions: number,
): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    const { state } = createTaskState(config, graph, p);
    if (state.taskDir === undefined || !existsSync(state.taskDir)) continue;
    try {
      await state.open();
      lags.record(p, state.changelogPartitions());
    } catch (err) {
      config.logger.info('local state of a task is unreadable before joining; reporting it as absent', {
        task: `0_${p}`,
        error: errorMessage(err),
      });
    } finally {
      await state.close().catch(() => undefined);
    }
  }
}
