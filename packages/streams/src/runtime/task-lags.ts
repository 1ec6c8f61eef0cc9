// How far this instance's local state for each task is behind its changelogs: the lags it reports to the group.
import { existsSync } from 'node:fs';
import type { ChangelogPartition } from '@eddy/state';
import type { ResolvedConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import type { AdminPort, PartitionOffsets } from '../kafka/port.js';
import type { SealedTopology } from '../topology/topology.js';
import type { TaskId } from './task-id.js';
import { createTaskState } from './task-state.js';

/**
 * Tracks, per task, the next changelog offset each store's local state needs (from checkpoints), and the changelog
 * ends. A task without local state is as far behind as its whole changelog: a member with no state still counts as
 * caught up for a task whose changelog is short.
 */
export class TaskLags {
  /** `topic:partition` → the changelog partition's start and end. */
  private readonly ends = new Map<string, PartitionOffsets>();
  /** task → changelog topic → next offset the local state needs (undefined: none, start over). */
  private readonly positions = new Map<TaskId, Map<string, bigint | undefined>>();
  private readonly topics: string[];

  /** `changelogs`: every stateful task of the app with the changelog topics of its stores. */
  constructor(private readonly changelogs: ReadonlyMap<TaskId, readonly string[]>) {
    this.topics = [...new Set([...changelogs.values()].flat())];
  }

  /** Reads the current start and end of every changelog partition. */
  async refreshEnds(admin: AdminPort): Promise<void> {
    for (const topic of this.topics) {
      for (const o of await admin.partitionOffsets(topic)) this.ends.set(`${topic}:${o.partition}`, o);
    }
  }

  /** Records where the local stores of a task stand (from `TaskStateManager.changelogPartitions()`). */
  record(id: TaskId, stores: readonly ChangelogPartition[]): void {
    const topics = new Map<string, bigint | undefined>();
    for (const s of stores) {
      topics.set(s.topic, s.checkpointOffset === undefined ? undefined : s.checkpointOffset + 1n);
    }
    this.positions.set(id, topics);
  }

  /**
   * Records that the local stores of task `id` have read `topics` (changelogs, not source topics) through the ends
   * last refreshed: a replica's completed round. Their checkpoints name the last record, and a transaction's commit
   * marker after it would otherwise count as one record of lag forever.
   */
  readThrough(id: TaskId, topics: readonly string[]): void {
    const positions = this.positions.get(id) ?? new Map<string, bigint | undefined>();
    for (const topic of topics) {
      const end = this.ends.get(`${topic}:${id.partition}`);
      if (end === undefined) continue;
      const next = positions.get(topic);
      if (next === undefined || next < end.high) positions.set(topic, end.high);
    }
    this.positions.set(id, positions);
  }

  /** Changelog records task `id` is behind on this instance. */
  lagOf(id: TaskId): number {
    const local = this.positions.get(id);
    let lag = 0n;
    for (const topic of this.changelogs.get(id) ?? []) {
      const end = this.ends.get(`${topic}:${id.partition}`);
      if (end === undefined) continue;
      const next = local?.get(topic);
      const from = next === undefined || next < end.low || next > end.high ? end.low : next;
      lag += end.high - from;
    }
    return Number(lag);
  }

  /** The lags to report: every stateful task, 0 for those running here as active. */
  lags(active: ReadonlySet<TaskId>): Map<string, number> {
    const out = new Map<string, number>();
    for (const id of this.changelogs.keys()) out.set(id.toString(), active.has(id) ? 0 : this.lagOf(id));
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
  tasks: readonly TaskId[],
): Promise<void> {
  for (const id of tasks) {
    const state = createTaskState(config, graph, id)?.state;
    if (state?.taskDir === undefined || !existsSync(state.taskDir)) continue;
    try {
      await state.open();
      lags.record(id, state.changelogPartitions());
    } catch (err) {
      config.logger.info('local state of a task is unreadable before joining; reporting it as absent', {
        task: id.toString(),
        error: errorMessage(err),
      });
    } finally {
      await state.close().catch(() => undefined);
    }
  }
}
