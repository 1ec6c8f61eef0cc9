// Global stores: every instance holds all partitions of each global store's source topic (the store's changelog),
// read to the end before the app processes anything, then kept up to date by following the topic while it runs.
// Offsets read are checkpointed with the stores (as source marks), so a restart reads only the tail.
import { type RestoreListener, TaskStateManager } from '@eddy/state';
import type { ResolvedConfig } from '../config.js';
import { describePosition, errorMessage, StreamsError } from '../errors.js';
import {
  type AdminPort,
  type ChangelogRange,
  type ChangelogReaderPort,
  ChangelogTruncated,
  type ConsumedRecord,
  type PartitionFollowerPort,
  type PartitionStart,
} from '../kafka/port.js';
import type { Logger } from '../logger.js';
import type { Processor, ProcessorContext } from '../topology/processor.js';
import type { GlobalStoreSpec, SealedTopology } from '../topology/topology.js';
import type { ErrorMode } from './error-handling.js';
import { staleCheckpointReason } from './state-restorer.js';
import { openTaskState } from './task-state.js';

/** The directory (and task id) of the global stores under `<stateDir>/<applicationId>/`. */
export const GLOBAL_TASK_ID = 'global';

export interface GlobalStateConfig {
  applicationId: string;
  stateDir: string;
  /** A thread k > 1 of a threaded app keeps its own copy of the global stores (`global.t<k>`). */
  threadSuffix?: string;
  deserializationErrors: ErrorMode;
  processingErrors: ErrorMode;
  logger: Logger;
}

export interface GlobalRestoreContext {
  admin: AdminPort;
  reader: ChangelogReaderPort;
  listener: RestoreListener | undefined;
  /** Told after each restored batch: restoring makes progress. */
  onProgress?: () => void;
}

/** Applies the records of one global topic to its store through the store's processor. */
class GlobalUpdater {
  private readonly processor: Processor<unknown, unknown, never, never>;
  private current: { partition: number; offset: string } | undefined;
  private streamTime = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly spec: GlobalStoreSpec,
    private readonly state: TaskStateManager,
    store: unknown,
    private readonly config: GlobalStateConfig,
    clock: () => number,
  ) {
    const updater = this;
    const unsupported = (what: string) =>
      new StreamsError('INVALID_TOPOLOGY', `the processor of global store "${spec.name}" cannot ${what}`);
    const context: ProcessorContext<never, never> = {
      applicationId: config.applicationId,
      taskId: GLOBAL_TASK_ID,
      topic: spec.topic,
      get partition() {
        return updater.current?.partition ?? -1;
      },
      get offset() {
        return updater.current?.offset ?? '-1';
      },
      get streamTime() {
        return updater.streamTime;
      },
      currentWallClockTime: clock,
      schedule() {
        throw unsupported('schedule punctuators');
      },
      forward() {
        throw unsupported('forward records');
      },
      getStateStore<S>(name: string): S {
        if (name !== spec.name) throw unsupported(`use store "${name}"`);
        return store as S;
      },
      requestCommit() {},
      recordDropped() {},
    };
    this.processor = spec.supplier();
    this.processor.init?.(context);
  }

  /** Applies records of one partition in order; a failure in `fail` mode is thrown (the record is not applied). */
  apply(partition: number, records: readonly ConsumedRecord[]): void {
    const { spec, state } = this;
    for (const record of records) {
      this.current = { partition, offset: record.offset };
      state.setSourcePosition(spec.topic, partition, Number(record.offset));
      try {
        this.applyOne(record);
      } finally {
        this.current = undefined;
      }
      state.completeSourceRecord();
    }
  }

  private applyOne(record: ConsumedRecord): void {
    const { source } = this.spec;
    let key: unknown;
    let value: unknown;
    try {
      key = source.keySerde.deserialize(record.key);
      value = source.valueSerde.deserialize(record.value);
    } catch (cause) {
      this.handle('DESERIALIZATION_FAILED', 'could not be deserialized', cause);
      return;
    }
    const timestamp = source.timestampExtractor
      ? source.timestampExtractor(record, this.spec.topic)
      : record.timestamp;
    if (timestamp > this.streamTime) this.streamTime = timestamp;
    try {
      this.processor.process({ key, value, timestamp, headers: record.headers });
    } catch (cause) {
      this.handle('PROCESSING_FAILED', 'failed to update the store', cause);
    }
  }

  /** `fail` mode throws; any other mode logs and skips the record (global records are not dead-lettered). */
  private handle(code: 'DESERIALIZATION_FAILED' | 'PROCESSING_FAILED', what: string, cause: unknown): void {
    const position = {
      topic: this.spec.topic,
      partition: this.current!.partition,
      offset: this.current!.offset,
    };
    const message = `record ${describePosition(position)} of global store "${this.spec.name}" ${what}: ${errorMessage(cause)}`;
    const mode =
      code === 'DESERIALIZATION_FAILED' ? this.config.deserializationErrors : this.config.processingErrors;
    if (mode === 'fail') throw new StreamsError(code, message, { cause, position });
    this.config.logger.warn('skipped a record of a global store after an error', { code, error: message });
  }

  close(): void {
    this.processor.close?.();
  }
}

/**
 * The global stores of one instance: one state manager (`<stateDir>/<applicationId>/global`) holding every global
 * store, each store's source marks being the offsets of its topic it has applied.
 */
export class GlobalState {
  readonly state: TaskStateManager;
  /** store name → its typed face, as processors see it. */
  readonly stores = new Map<string, unknown>();
  private readonly updaters = new Map<string, GlobalUpdater>();
  private follower: PartitionFollowerPort | undefined;
  private following: Promise<void> | undefined;
  private lastCommit = 0;
  private dirty = false;
  private closing: Promise<void> | undefined;
  private opening: Promise<void> | undefined;

  private constructor(
    private readonly specs: readonly GlobalStoreSpec[],
    private readonly config: GlobalStateConfig,
    private readonly clock: () => number,
  ) {
    this.state = new TaskStateManager({
      applicationId: config.applicationId,
      taskId: `${GLOBAL_TASK_ID}${config.threadSuffix ?? ''}`,
      partition: 0,
      stateDir: config.stateDir,
      clock,
    });
    for (const spec of specs) this.stores.set(spec.name, this.state.register(spec.builder));
    for (const spec of specs) {
      this.updaters.set(
        spec.topic,
        new GlobalUpdater(spec, this.state, this.stores.get(spec.name), config, clock),
      );
    }
  }

  /** The global stores of `graph` (not yet open), or undefined when it has none. */
  static create(
    config: GlobalStateConfig,
    graph: SealedTopology,
    clock: () => number = Date.now,
  ): GlobalState | undefined {
    if (graph.globalStores.length === 0) return undefined;
    return new GlobalState(graph.globalStores, config, clock);
  }

  /** True when `topic` is the source topic of a global store. */
  reads(topic: string): boolean {
    return this.updaters.has(topic);
  }

  /** Applies records of a global topic's partition to its store, synchronously. */
  apply(topic: string, partition: number, records: readonly ConsumedRecord[]): void {
    const updater = this.updaters.get(topic);
    if (updater === undefined) {
      throw new StreamsError('ILLEGAL_STATE', `no global store reads topic ${topic}`);
    }
    this.dirty = true;
    updater.apply(partition, records);
  }

  /** True when a store's cache passed its bound: commit soon. */
  needsCommit(): boolean {
    return this.state.needsCommit();
  }

  /**
   * Writes what was applied, with the offsets it covers, to the stores (nothing is logged: the source topics are the
   * changelogs). No `apply` may run until it resolves.
   */
  async commit(): Promise<void> {
    if (!this.dirty || this.state.torn) return;
    this.dirty = false;
    this.lastCommit = this.clock();
    this.state.prepareCommit();
    await this.state.completeCommit();
  }

  /** Opens the stores (wiping a corrupted one, waiting out a lock still held). */
  open(config: ResolvedConfig): Promise<void> {
    this.opening = openTaskState(this.state, config);
    return this.opening;
  }

  /**
   * Reads every partition of every global topic from where its store stands up to the end offsets listed now, and
   * returns where following must start. A store whose offsets are outside the topic's log (records deleted, topic
   * recreated) or too old to trust under compaction is rebuilt from the start of its topic.
   */
  async restore(ctx: GlobalRestoreContext): Promise<PartitionStart[]> {
    const ranges: { store: string; range: ChangelogRange }[] = [];
    for (const spec of this.specs) {
      const offsets = await ctx.admin.partitionOffsets(spec.topic);
      const marks = new Map<number, bigint>();
      for (const m of this.state.sourceMarks(spec.name)) {
        if (m.topic === spec.topic) marks.set(m.partition, BigInt(m.offset) + 1n);
      }
      const why = await this.distrust(spec, offsets, marks, ctx.admin);
      if (why !== undefined) {
        this.config.logger.warn(`${why}; rebuilding the global store from its topic`, {
          store: spec.name,
          topic: spec.topic,
        });
        await this.state.wipe(spec.name);
        marks.clear();
      }
      for (const o of offsets) {
        const start = marks.get(o.partition) ?? o.low;
        ranges.push({
          store: spec.name,
          range: { topic: spec.topic, partition: o.partition, startOffset: start, endOffset: o.high },
        });
      }
    }
    const todo = ranges.filter((r) => r.range.startOffset < r.range.endOffset);
    const storeOf = new Map(ranges.map((r) => [`${r.range.topic}:${r.range.partition}`, r.store]));
    const restored = new Map<string, number>();
    const position = (range: ChangelogRange) => ({
      store: storeOf.get(`${range.topic}:${range.partition}`)!,
      topic: range.topic,
      partition: range.partition,
    });
    for (const { range } of todo) {
      ctx.listener?.onRestoreStart?.(position(range), range.startOffset, range.endOffset);
    }
    await ctx.reader.read(
      todo.map((r) => r.range),
      async (range, records) => {
        this.apply(range.topic, range.partition, records);
        const key = `${range.topic}:${range.partition}`;
        restored.set(key, (restored.get(key) ?? 0) + records.length);
        if (this.needsCommit()) await this.commit();
        ctx.listener?.onBatchRestored?.(
          position(range),
          BigInt(records[records.length - 1]!.offset),
          records.length,
        );
        ctx.onProgress?.();
      },
    );
    await this.commit();
    for (const { range } of todo) {
      ctx.listener?.onRestoreEnd?.(position(range), restored.get(`${range.topic}:${range.partition}`) ?? 0);
    }
    return ranges.map(({ range }) => ({
      topic: range.topic,
      partition: range.partition,
      offset: range.endOffset,
    }));
  }

  /**
   * Keeps the stores up to date from `starts` on (what `restore` returned), committing at most every
   * `commitIntervalMs` (sooner when a cache passes its bound); `onFailure` is told if following fails.
   */
  follow(
    follower: PartitionFollowerPort,
    starts: PartitionStart[],
    commitIntervalMs: number,
    onFailure: (error: StreamsError) => void,
  ): void {
    this.follower = follower;
    this.lastCommit = this.clock();
    this.following = follower
      .follow(starts, async ({ topic, partition, records }) => {
        this.apply(topic, partition, records);
        if (this.needsCommit() || this.clock() - this.lastCommit >= commitIntervalMs) await this.commit();
      })
      .catch((err) => {
        if (this.closing !== undefined) return;
        if (err instanceof ChangelogTruncated) {
          onFailure(
            new StreamsError(
              'STATE_FAILED',
              `${err.message}: the global store can no longer follow its topic; a restart rebuilds it from the topic`,
              { cause: err },
            ),
          );
          return;
        }
        onFailure(
          err instanceof StreamsError
            ? err
            : new StreamsError(
                'STATE_FAILED',
                `keeping the global stores up to date failed: ${errorMessage(err)}`,
                { cause: err },
              ),
        );
      });
  }

  /** Stops following, writes what was applied (unless a record failed half-way), and closes the stores; idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    try {
      // Closing the stores while they open would leave them open behind a closed manager.
      await this.opening?.catch(() => undefined);
      await this.follower?.close();
      await this.following;
      await this.commit().catch((err) =>
        this.config.logger.warn('could not write the global stores at close; they catch up at restart', {
          error: errorMessage(err),
        }),
      );
    } finally {
      for (const updater of this.updaters.values()) updater.close();
      await this.state.close();
    }
  }

  /** Why the offsets a store holds cannot be continued from, or undefined when they can. */
  private async distrust(
    spec: GlobalStoreSpec,
    offsets: { partition: number; low: bigint; high: bigint }[],
    next: ReadonlyMap<number, bigint>,
    admin: AdminPort,
  ): Promise<string | undefined> {
    let behind = false;
    for (const o of offsets) {
      const n = next.get(o.partition);
      if (n === undefined) continue;
      if (n < o.low)
        return `partition ${o.partition} no longer holds offset ${n} (its log starts at ${o.low})`;
      if (n > o.high)
        return `partition ${o.partition} ends at ${o.high}, before offset ${n} (was the topic recreated?)`;
      if (n < o.high) behind = true;
    }
    const coveredAt = this.state.checkpoint(spec.name)?.coveredAt;
    if (!behind || coveredAt === undefined) return undefined;
    let config: Record<string, string> = {};
    try {
      config =
        (await admin.topicConfigs([spec.topic], ['cleanup.policy', 'delete.retention.ms'])).get(spec.topic) ??
        {};
    } catch {
      // Without DESCRIBE_CONFIGS the defaults still catch checkpoints older than a day.
    }
    const stale = staleCheckpointReason(coveredAt, this.clock(), config);
    return stale === undefined
      ? undefined
      : `the store was last written ${stale.ageMs} ms ago, longer than the topic's delete.retention.ms (${stale.deleteRetentionMs}), so compaction may have removed deletions it has not seen`;
  }
}
