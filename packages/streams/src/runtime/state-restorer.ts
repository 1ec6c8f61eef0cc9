// Restores a task's stores from their changelog partitions: from the checkpoint to the end, in large batches.
import {
  type ChangelogPartition,
  type RestoreListener,
  StateStoreError,
  type TaskStateManager,
} from '@eddy/state';
import { errorMessage } from '../errors.js';
import {
  type AdminPort,
  type ChangelogRange,
  type ChangelogReaderPort,
  ChangelogTruncated,
  type PartitionOffsets,
} from '../kafka/port.js';
import type { Logger } from '../logger.js';

export interface RestoreContext {
  admin: AdminPort;
  reader: ChangelogReaderPort;
  logger: Logger;
  listener: RestoreListener | undefined;
  /** Polled before each batch; when it returns true the restore stops early with RestoreStopped. */
  shouldStop?: () => boolean;
  /** Wall clock in milliseconds, to tell a checkpoint's age (default `Date.now`). */
  now?: () => number;
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

/** Kafka's default `delete.retention.ms` (one day), used when the broker does not say. */
const DEFAULT_DELETE_RETENTION_MS = 86_400_000;
/** A caught-up store's `coveredAt` is rewritten at most this often (older is only more cautious). */
const COVERED_REFRESH_MS = 60_000;
/** Topic configs change rarely: one DescribeConfigs per topic and admin client in this time is enough. */
const CONFIG_TTL_MS = 60_000;
const RETENTION_CONFIGS = ['cleanup.policy', 'delete.retention.ms'];

interface TopicOffsets {
  offsets: PartitionOffsets[];
  /** Wall-clock time before the offsets were asked for: records at or past `high` were written after it. */
  listedAt: number;
}

/** Offsets read once per restore: each topic's partition starts and ends, and a group's committed offsets. */
interface ListedOffsets {
  ends: Map<string, TopicOffsets>;
  /** `<groupId>\0<topic>` → the group's committed offsets on the topic, keyed `topic:partition`. */
  committed: Map<string, Map<string, bigint>>;
}

const configCache = new WeakMap<AdminPort, Map<string, { config: Record<string, string>; at: number }>>();

async function retentionConfig(
  ctx: RestoreContext,
  topic: string,
  now: number,
): Promise<Record<string, string>> {
  const { admin } = ctx;
  let cache = configCache.get(admin);
  if (cache === undefined) {
    cache = new Map();
    configCache.set(admin, cache);
  }
  const cached = cache.get(topic);
  if (cached !== undefined && now - cached.at < CONFIG_TTL_MS) return cached.config;
  let config: Record<string, string>;
  try {
    config = (await admin.topicConfigs([topic], RETENTION_CONFIGS)).get(topic) ?? {};
  } catch (err) {
    // E.g. no DESCRIBE_CONFIGS permission: the defaults still catch checkpoints older than a day.
    ctx.logger.warn(
      "cannot read the changelog topic's config; assuming Kafka's default delete.retention.ms",
      {
        changelog: topic,
        error: errorMessage(err),
      },
    );
    config = {};
  }
  cache.set(topic, { config, at: now });
  return config;
}

/**
 * Why a checkpoint followed by changelog records cannot be trusted, or undefined when it can. Compaction removes a
 * tombstone once it is older than the topic's `delete.retention.ms`; the records after the checkpoint were all
 * written after its `coveredAt`, so while the checkpoint is younger than that, every deletion after it is still
 * in the log. A checkpoint without `coveredAt` (written by an earlier version) is trusted.
 */
export function staleCheckpointReason(
  coveredAt: number | undefined,
  now: number,
  config: Readonly<Record<string, string>>,
): { ageMs: number; deleteRetentionMs: number } | undefined {
  if (coveredAt === undefined) return undefined;
  // Without compaction tombstones leave with whole segments, which moves the log start (checked separately).
  const policy = config['cleanup.policy'];
  if (policy !== undefined && !policy.split(',').some((p) => p.trim() === 'compact')) return undefined;
  const configured = Number(config['delete.retention.ms']);
  const deleteRetentionMs = Number.isFinite(configured) ? configured : DEFAULT_DELETE_RETENTION_MS;
  const ageMs = now - coveredAt;
  return ageMs >= deleteRetentionMs ? { ageMs, deleteRetentionMs } : undefined;
}

/**
 * Decides where each store starts reading: after its checkpoint; at the start of the changelog when there is no
 * checkpoint, or when the checkpoint is below the log start, beyond the log end, or older than the topic's
 * `delete.retention.ms` with records after it (then the store is wiped first, with a log line that says why).
 */
async function plan(
  state: TaskStateManager,
  partitions: ChangelogPartition[],
  ctx: RestoreContext,
  known: ListedOffsets,
): Promise<Planned[]> {
  const offsetsByTopic = known.ends;
  const out: Planned[] = [];
  const now = ctx.now ?? Date.now;
  for (const p of partitions) {
    let listed = offsetsByTopic.get(p.topic);
    if (!listed) {
      const listedAt = now();
      listed = { offsets: await ctx.admin.partitionOffsets(p.topic), listedAt };
      offsetsByTopic.set(p.topic, listed);
    }
    const o = listed.offsets.find((x) => x.partition === p.partition);
    if (!o) throw new Error(`changelog ${p.topic} has no partition ${p.partition}`);
    const changelog = `${p.topic}-${p.partition}`;
    let start = o.low;
    if (p.checkpointOffset !== undefined) {
      const next = p.checkpointOffset + 1n;
      const stale =
        next >= o.low && next < o.high
          ? staleCheckpointReason(p.coveredAt, now(), await retentionConfig(ctx, p.topic, now()))
          : undefined;
      if (next < o.low) {
        ctx.logger.warn('checkpoint is below the changelog start; rebuilding the store from the changelog', {
          store: p.store,
          changelog,
          checkpoint: String(p.checkpointOffset),
          logStart: String(o.low),
        });
        await state.wipe(p.store);
      } else if (next > o.high + 1n) {
        // (One past the end is a checkpoint at a transaction's commit marker that the log does not show yet.)
        ctx.logger.warn(
          'checkpoint is beyond the changelog end (was the topic recreated?); rebuilding the store',
          { store: p.store, changelog, checkpoint: String(p.checkpointOffset), logEnd: String(o.high) },
        );
        await state.wipe(p.store);
      } else if (stale !== undefined) {
        ctx.logger.warn(
          "checkpoint is older than the changelog's delete.retention.ms, so compaction may have removed " +
            'deletions after it (deleted keys would come back); rebuilding the store from the changelog',
          {
            store: p.store,
            changelog,
            checkpoint: String(p.checkpointOffset),
            checkpointAgeMs: stale.ageMs,
            deleteRetentionMs: stale.deleteRetentionMs,
          },
        );
        await state.wipe(p.store);
      } else {
        start = next;
        // Nothing follows the checkpoint: the store covered the whole log when its end was read.
        if (
          !p.fromSource &&
          next === o.high &&
          (p.coveredAt === undefined || listed.listedAt - p.coveredAt >= COVERED_REFRESH_MS)
        ) {
          await state.markCovered(p.store, listed.listedAt);
        }
      }
    } else if (o.high > o.low) {
      ctx.logger.info('no checkpoint; restoring the store from the start of its changelog', {
        store: p.store,
        changelog,
      });
    }
    const end = p.fromSource ? await sourceEnd(state, p, o, ctx, known) : o.high;
    // A store ahead of its source topic's end (it holds input not committed yet) has nothing to read.
    if (start > end) start = end;
    out.push({
      store: p.store,
      fromSource: p.fromSource === true,
      range: { topic: p.topic, partition: p.partition, startOffset: start, endOffset: end },
    });
  }
  return out;
}

/**
 * Where restoring a store from its source topic stops: at the task's committed input offset (the task processes
 * what follows), or past the task's replay point if that is higher, since the task skips input up to there (the
 * effect of which its logged stores, restored first, already hold).
 */
async function sourceEnd(
  state: TaskStateManager,
  p: ChangelogPartition,
  o: PartitionOffsets,
  ctx: RestoreContext,
  known: ListedOffsets,
): Promise<bigint> {
  const groupId = state.options.applicationId;
  let committedOffsets = known.committed.get(`${groupId}\u0000${p.topic}`);
  if (committedOffsets === undefined) {
    committedOffsets = await ctx.admin.committedOffsets(groupId, [p.topic]);
    known.committed.set(`${groupId}\u0000${p.topic}`, committedOffsets);
  }
  let end = committedOffsets.get(`${p.topic}:${p.partition}`) ?? o.low;
  for (const mark of state.replayPoint()) {
    if (mark.topic === p.topic && mark.partition === p.partition && BigInt(mark.offset) + 1n > end) {
      end = BigInt(mark.offset) + 1n;
    }
  }
  if (end < o.low) return o.low;
  if (end > o.high) return o.high;
  return end;
}

/** Brings every logged store of a task up to the end of its changelog, and every store copied from a source topic up to the task's input position. */
export async function restoreTask(state: TaskStateManager, ctx: RestoreContext): Promise<RestoreSummary> {
  return (await restoreTasks([state], ctx)).get(state)!;
}

/**
 * Brings the stores of several tasks up to the ends of their changelogs, in one read (one reader group) for all of
 * them. The tasks have different partitions, so each changelog partition belongs to one store of one task. Stores
 * copied from their source topic are read afterwards: where they stop depends on the other stores' restored marks.
 */
export async function restoreTasks(
  states: readonly TaskStateManager[],
  ctx: RestoreContext,
): Promise<Map<TaskStateManager, RestoreSummary>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await restoreOnce(states, ctx);
    } catch (err) {
      if (!(err instanceof ChangelogTruncated) || attempt >= MAX_TRUNCATED_ATTEMPTS) throw err;
      // What was applied is checkpointed; planning again finds the checkpoint below the new log start and
      // rebuilds that store from there, as a restart would.
      ctx.logger.warn(
        'changelog records were deleted while the store restored from them; planning the restore again',
        { changelog: `${err.topic}-${err.partition}`, attempt },
      );
    }
  }
}

/** Restores retried after a changelog was truncated under them, before the error is given up to the caller. */
const MAX_TRUNCATED_ATTEMPTS = 5;

async function restoreOnce(
  states: readonly TaskStateManager[],
  ctx: RestoreContext,
): Promise<Map<TaskStateManager, RestoreSummary>> {
  const known: ListedOffsets = { ends: new Map(), committed: new Map() };
  const summaries = new Map<TaskStateManager, RestoreSummary>(states.map((s) => [s, new Map()]));
  for (const fromSource of [false, true]) {
    await readPlanned(states, ctx, summaries, (state) =>
      plan(
        state,
        state.changelogPartitions().filter((p) => (p.fromSource === true) === fromSource),
        ctx,
        known,
      ),
    );
  }
  return summaries;
}

interface Planned {
  range: ChangelogRange;
  store: string;
  /** Read from the store's source topic, whose records are the application's input, not the store's writes. */
  fromSource: boolean;
}

/** Plans every task's ranges with `planOf` and reads them in one read, applying each batch to its store. */
async function readPlanned(
  states: readonly TaskStateManager[],
  ctx: RestoreContext,
  summaries: Map<TaskStateManager, RestoreSummary>,
  planOf: (state: TaskStateManager) => Promise<Planned[]>,
): Promise<void> {
  const owners = new Map<string, { state: TaskStateManager; store: string; fromSource: boolean }>();
  const todo: (Planned & { state: TaskStateManager })[] = [];
  for (const state of states) {
    const summary = summaries.get(state)!;
    for (const p of await planOf(state)) {
      summary.set(p.store, 0);
      owners.set(`${p.range.topic}:${p.range.partition}`, {
        state,
        store: p.store,
        fromSource: p.fromSource,
      });
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
  if (todo.length === 0) return;
  await ctx.reader.read(
    todo.map((p) => p.range),
    async (range, records) => {
      if (ctx.shouldStop?.()) throw new RestoreStopped();
      const { state, store, fromSource } = owners.get(`${range.topic}:${range.partition}`)!;
      // A store's changelog record always has a key: one without was not written by the store. A source topic's
      // records without a key are input that a table ignores.
      const keyless = fromSource ? undefined : records.find((r) => r.key === null);
      if (keyless !== undefined) {
        throw new StateStoreError(
          'INVALID_CHANGELOG_RECORD',
          `store "${store}" cannot restore record ${range.topic}-${range.partition}@${keyless.offset}, which it ` +
            'did not write: it has no key',
          { store },
        );
      }
      // A consumed record with a key is a restore record as it is: copied only when keyless ones must go.
      const keyed = (
        fromSource && records.some((r) => r.key === null) ? records.filter((r) => r.key !== null) : records
      ) as Parameters<TaskStateManager['applyRestoreBatch']>[1];
      await state.applyRestoreBatch(store, keyed);
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
}
