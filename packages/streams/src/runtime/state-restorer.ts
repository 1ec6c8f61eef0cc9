// Restores a task's stores from their changelog partitions: from the checkpoint to the end, in large batches.
import type { ChangelogPartition, RestoreListener, TaskStateManager } from '@eddy/state';
import type { AdminPort, ChangelogRange, ChangelogReaderPort } from '../kafka/port.js';
import type { Logger } from '../logger.js';

export interface RestoreContext {
  admin: AdminPort;
  reader: ChangelogReaderPort;
  logger: Logger;
  listener: RestoreListener | undefined;
  /** Polled before each batch; when it returns true the restore stops early with RestoreStopped. */
  shouldStop?: () => boolean;
}

/** A restore given up because its task or replica is going away; what was applied is checkpointed. */
export class RestoreStopped extends Error {
  constructor() {
    super('restore stopped');
    this.name = 'RestoreStopped';
  }
}

/** Records restored per store of one task. */
export type RestoreSummary = Map<string, number>;

/**
 * Decides where each store starts reading: after its checkpoint; at the start of the changelog when there is no
 * checkpoint, or when the checkpoint is below the log start or beyond the log end (then the store is wiped first,
 * with a log line that says why).
 */
async function plan(
  state: TaskStateManager,
  partitions: ChangelogPartition[],
  ctx: RestoreContext,
  offsetsByTopic: Map<string, Awaited<ReturnType<AdminPort['partitionOffsets']>>>,
): Promise<{ range: ChangelogRange; store: string }[]> {
  const out: { range: ChangelogRange; store: string }[] = [];
  for (const p of partitions) {
    let offsets = offsetsByTopic.get(p.topic);
    if (!offsets) {
      offsets = await ctx.admin.partitionOffsets(p.topic);
      offsetsByTopic.set(p.topic, offsets);
    }
    const o = offsets.find((x) => x.partition === p.partition);
    if (!o) throw new Error(`changelog ${p.topic} has no partition ${p.partition}`);
    let start = o.low;
    if (p.checkpointOffset !== undefined) {
      const next = p.checkpointOffset + 1n;
      if (next < o.low) {
        ctx.logger.warn('checkpoint is below the changelog start; rebuilding the store from the changelog', {
          store: p.store,
          changelog: `${p.topic}-${p.partition}`,
          checkpoint: String(p.checkpointOffset),
          logStart: String(o.low),
        });
        await state.wipe(p.store);
      } else if (next > o.high + 1n) {
        // (One past the end is a checkpoint at a transaction's commit marker that the log does not show yet.)
        ctx.logger.warn(
          'checkpoint is beyond the changelog end (was the topic recreated?); rebuilding the store',
          {
            store: p.store,
            changelog: `${p.topic}-${p.partition}`,
            checkpoint: String(p.checkpointOffset),
            logEnd: String(o.high),
          },
        );
        await state.wipe(p.store);
      } else {
        start = next;
      }
    } else if (o.high > o.low) {
      ctx.logger.info('no checkpoint; restoring the store from the start of its changelog', {
        store: p.store,
        changelog: `${p.topic}-${p.partition}`,
      });
    }
    out.push({
      store: p.store,
      range: { topic: p.topic, partition: p.partition, startOffset: start, endOffset: o.high },
    });
  }
  return out;
}

/** Brings every logged store of a task up to the end of its changelog. */
export async function restoreTask(state: TaskStateManager, ctx: RestoreContext): Promise<RestoreSummary> {
  return (await restoreTasks([state], ctx)).get(state)!;
}

/**
 * Brings the stores of several tasks up to the ends of their changelogs, in one read (one reader group) for all of
 * them. The tasks have different partitions, so each changelog partition belongs to one store of one task.
 */
export async function restoreTasks(
  states: readonly TaskStateManager[],
  ctx: RestoreContext,
): Promise<Map<TaskStateManager, RestoreSummary>> {
  const offsetsByTopic = new Map<string, Awaited<ReturnType<AdminPort['partitionOffsets']>>>();
  const summaries = new Map<TaskStateManager, RestoreSummary>();
  const owners = new Map<string, { state: TaskStateManager; store: string }>();
  const todo: { range: ChangelogRange; store: string; state: TaskStateManager }[] = [];
  for (const state of states) {
    const planned = await plan(state, state.changelogPartitions(), ctx, offsetsByTopic);
    summaries.set(state, new Map(planned.map((p) => [p.store, 0])));
    for (const p of planned) {
      owners.set(`${p.range.topic}:${p.range.partition}`, { state, store: p.store });
      if (p.range.startOffset < p.range.endOffset) todo.push({ ...p, state });
    }
  }
  for (const p of todo) {
    ctx.listener?.onRestoreStart?.(
      { store: p.store, topic: p.range.topic, partition: p.range.partition },
      p.range.startOffset,
      p.range.endOffset,
    );
  }
  if (todo.length === 0) return summaries;
  await ctx.reader.read(
    todo.map((p) => p.range),
    async (range, records) => {
      if (ctx.shouldStop?.()) throw new RestoreStopped();
      const { state, store } = owners.get(`${range.topic}:${range.partition}`)!;
      // A changelog record always has a key; anything else in the topic was not written by a store.
      await state.applyRestoreBatch(
        store,
        records.flatMap((r) =>
          r.key === null ? [] : [{ offset: r.offset, key: r.key, value: r.value, headers: r.headers }],
        ),
      );
      const summary = summaries.get(state)!;
      summary.set(store, (summary.get(store) ?? 0) + records.length);
      ctx.listener?.onBatchRestored?.(
        { store, topic: range.topic, partition: range.partition },
        BigInt(records[records.length - 1]!.offset),
        records.length,
      );
    },
  );
  for (const p of todo) {
    ctx.listener?.onRestoreEnd?.(
      { store: p.store, topic: p.range.topic, partition: p.range.partition },
      summaries.get(p.state)!.get(p.store) ?? 0,
    );
  }
  return summaries;
}
