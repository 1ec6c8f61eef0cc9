// Owns the stores of one task: the task lock, open/close, source position, the commit contract and restore.
import { join } from 'node:path';
import { DEFAULT_CACHE_MAX_BYTES, type StoreBuilder, type StreamTimeCell } from '../api/store-builder.js';
import type { Checkpoint } from '../engine/checkpoint.js';
import { LevelEngine } from '../engine/level-engine.js';
import { MemoryEngine } from '../engine/memory-engine.js';
import type { StoreEngine } from '../engine/store-engine.js';
import { TaskLock } from '../engine/task-lock.js';
import { StateStoreError } from '../errors.js';
import type { PendingEntry } from '../internal/merge-overlay.js';
import type { BytesStore } from '../layers/bytes-store.js';
import { CachingStore } from '../layers/caching-store.js';
import { ChangeLoggingStore } from '../layers/change-logging-store.js';
import { StoreStatus } from '../layers/store-status.js';
import {
  type ChangelogPartition,
  type ChangelogRecord,
  changelogTopic,
  type RestoreRecord,
} from './changelog.js';
import { type CurrentSource, ReplayGuard } from './replay-guard.js';
import {
  decodeSourceMarks,
  encodeSourceMarks,
  SOURCE_MARKS_HEADER,
  type SourceMark,
  SourcePositions,
} from './source-marks.js';

export interface TaskStateManagerOptions {
  applicationId: string;
  /** Directory name of the task, e.g. `0_3`. */
  taskId: string;
  /** The changelog partition of this task (its input partition number). */
  partition: number;
  /** Root of persistent state; required when any registered store is persistent. */
  stateDir?: string;
  /** Wall clock in milliseconds, for the checkpoints' `coveredAt` (default `Date.now`). */
  clock?: () => number;
  /** The cache bound of stores whose builder sets none (default DEFAULT_CACHE_MAX_BYTES). */
  cacheMaxBytes?: number;
}

/** Counts of a store's cache, since its task opened. */
export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
}

interface ManagedStore {
  readonly name: string;
  readonly engine: StoreEngine;
  readonly caching: CachingStore | undefined;
  readonly logging: ChangeLoggingStore | undefined;
  readonly status: StoreStatus;
  readonly marks: SourcePositions;
  readonly cacheMaxBytes: number;
  readonly changelogTopic: string;
  /** Set when the store is restored from this input topic instead of a changelog of its own. */
  readonly sourceTopic: string | undefined;
  /** With `sourceTopic`: what the store keeps for a source record (`StoreOptions.fromSourceRecord`). */
  readonly fromSourceRecord: ((value: Uint8Array, timestamp: number) => Uint8Array) | undefined;
  readonly streamTime: StreamTimeCell;
  readonly timeOfKey: ((key: Uint8Array) => number) | undefined;
  readonly checkRestored: ((key: Uint8Array, value: Uint8Array | null) => string | undefined) | undefined;
  checkpoint: Checkpoint | undefined;
  opened: boolean;
}

/** The timestamp of a restored record that carries none (as Kafka Streams' NO_TIMESTAMP). */
const NO_TIMESTAMP = -1;

interface PreparedStore {
  store: ManagedStore;
  marks: SourceMark[];
  logged: boolean;
}

const STORE_NAME = /^[A-Za-z0-9._-]+$/;

export class TaskStateManager {
  private readonly stores = new Map<string, ManagedStore>();
  private readonly facades = new Map<string, unknown>();
  private readonly current: CurrentSource = { topic: undefined, partition: 0, offset: 0, wrote: false };
  private readonly position = new SourcePositions();
  private lock: TaskLock | undefined;
  private state: 'created' | 'open' | 'closed' = 'created';
  private prepared: PreparedStore[] | undefined;
  /** The wall-clock time of the prepared commit: its changelog records and all later ones are written after it. */
  private preparedAt = 0;
  private readonly clock: () => number;

  constructor(readonly options: TaskStateManagerOptions) {
    this.clock = options.clock ?? Date.now;
    for (const field of ['applicationId', 'taskId'] as const) {
      if (!STORE_NAME.test(options[field])) {
        throw new StateStoreError('INVALID_ARGUMENT', `${field} "${options[field]}" is not a valid name`);
      }
    }
  }

  /** `<stateDir>/<applicationId>/<taskId>`, or undefined without a state directory. */
  get taskDir(): string | undefined {
    const { stateDir, applicationId, taskId } = this.options;
    return stateDir === undefined ? undefined : join(stateDir, applicationId, taskId);
  }

  /** Assembles a store from its builder and returns its typed face; call before open(). */
  register<S>(builder: StoreBuilder<S>): S {
    const o = builder.options;
    if (this.state !== 'created') {
      throw new StateStoreError('INVALID_STATE', `cannot register store "${o.name}" after open()`);
    }
    if (!STORE_NAME.test(o.name)) {
      throw new StateStoreError('INVALID_ARGUMENT', `store name "${o.name}" is not a valid name`);
    }
    if (this.stores.has(o.name)) {
      throw new StateStoreError('DUPLICATE_STORE', `store "${o.name}" is already registered`, {
        store: o.name,
      });
    }
    const cacheMaxBytes = o.cacheMaxBytes ?? this.options.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES;
    if (!(cacheMaxBytes > 0)) {
      throw new StateStoreError('INVALID_ARGUMENT', `cacheMaxBytes must be positive`, { store: o.name });
    }
    let engine: StoreEngine;
    if (o.persistent ?? true) {
      const taskDir = this.taskDir;
      if (taskDir === undefined) {
        throw new StateStoreError('INVALID_ARGUMENT', `persistent store "${o.name}" needs a stateDir`, {
          store: o.name,
        });
      }
      engine = new LevelEngine(o.name, join(taskDir, o.name));
    } else {
      engine = new MemoryEngine(o.name);
    }
    if (o.sourceTopic !== undefined && o.logging === true) {
      throw new StateStoreError(
        'INVALID_ARGUMENT',
        `store "${o.name}" is restored from its source topic and cannot also write a changelog`,
        { store: o.name },
      );
    }
    let top: BytesStore = engine;
    const logging = (o.logging ?? o.sourceTopic === undefined) ? new ChangeLoggingStore(top) : undefined;
    if (logging !== undefined) top = logging;
    const caching = (o.caching ?? true) ? new CachingStore(top, cacheMaxBytes, o.metrics) : undefined;
    if (caching !== undefined) top = caching;
    const store: ManagedStore = {
      name: o.name,
      engine,
      caching,
      logging,
      status: new StoreStatus(o.name),
      marks: new SourcePositions(),
      cacheMaxBytes,
      changelogTopic: o.sourceTopic ?? changelogTopic(this.options.applicationId, o.name),
      sourceTopic: o.sourceTopic,
      fromSourceRecord: o.fromSourceRecord,
      streamTime: { value: -1 },
      timeOfKey: builder.timeOfKey?.bind(builder),
      checkRestored: builder.checkRestored?.bind(builder),
      checkpoint: undefined,
      opened: false,
    };
    this.stores.set(o.name, store);
    const facade = builder.build({
      top,
      cache: caching,
      status: store.status,
      guard: new ReplayGuard(this.current, store.marks),
      streamTime: store.streamTime,
      flush: () => caching?.flush(),
      close: () => this.closeStore(store),
    });
    this.facades.set(o.name, facade);
    return facade;
  }

  /** The typed store registered under `name`. */
  store<S = unknown>(name: string): S {
    this.managed(name);
    return this.facades.get(name) as S;
  }

  storeNames(): string[] {
    return [...this.stores.keys()];
  }

  /**
   * Takes the task lock and opens every store, reading its checkpoint. If a store fails (e.g. STORE_CORRUPTED,
   * with `err.store` set), the others stay open: `wipe(err.store)` then `open()` again continues.
   */
  async open(): Promise<void> {
    if (this.state === 'closed') throw new StateStoreError('STORE_CLOSED', 'task state manager is closed');
    const taskDir = this.taskDir;
    if (this.lock === undefined && taskDir !== undefined) this.lock = TaskLock.acquire(taskDir);
    for (const store of this.stores.values()) {
      if (store.opened) continue;
      const checkpoint = await store.engine.open();
      this.adoptCheckpoint(store, checkpoint);
      store.streamTime.value = checkpoint?.streamTime ?? -1;
      store.opened = true;
      store.status.value = 'open';
    }
    this.state = 'open';
  }

  /**
   * Called before each input record is processed; until `completeSourceRecord()`, writes at or below a store's
   * mark for it are dropped (they replay input the store already holds).
   */
  setSourcePosition(topic: string, partition: number, offset: number): void {
    this.current.topic = topic;
    this.current.partition = partition;
    this.current.offset = offset;
    this.current.wrote = false;
  }

  /**
   * Called when the record given to `setSourcePosition` is done: the task's input position (the source marks of
   * the next commit) now covers it. Writes made outside a record (punctuators) are never replays.
   */
  completeSourceRecord(): void {
    const c = this.current;
    if (c.topic === undefined) return;
    this.position.set(c.topic, c.partition, c.offset);
    c.topic = undefined;
    c.wrote = false;
  }

  /**
   * Raises the task's input position for `topic`/`partition` to `offset` (the source marks of the next commit), for
   * a position the runtime tracks besides its own input records (an upstream input seen through a repartition topic).
   */
  advancePosition(topic: string, partition: number, offset: number): void {
    this.position.advance(topic, partition, offset);
  }

  /**
   * True when a record was begun, wrote to a store and never completed (its processing threw): the stores hold part
   * of its effect, so this state must not be committed; the task is closed without a commit and replays it.
   */
  get torn(): boolean {
    return this.current.topic !== undefined && this.current.wrote;
  }

  /**
   * True when some cache, staged write buffer or changelog buffer passed its byte bound: commit at the end of this
   * batch.
   */
  needsCommit(): boolean {
    for (const store of this.stores.values()) {
      if (
        store.caching !== undefined
          ? store.caching.overBound()
          : store.engine.pendingBytes() > store.cacheMaxBytes
      ) {
        return true;
      }
      // Without a cache each written key is logged (once per commit, with its latest value): the changelog buffer
      // grows with the keys written since the last commit.
      if ((store.logging?.pendingBytes() ?? 0) > store.cacheMaxBytes) return true;
    }
    return false;
  }

  /** The source marks of a store: its checkpoint's, raised by each completed commit or restore batch. */
  sourceMarks(name: string): SourceMark[] {
    return this.managed(name).marks.toArray();
  }

  /**
   * The task's replay point: per source partition, the highest mark among its logged stores. Restored to the end
   * of changelogs whose flushes are written atomically per task, every logged store holds the effect of input up
   * to there (a store without records in the last flushes did not change since). Unlogged stores are left out:
   * they keep no durable position.
   */
  replayPoint(): SourceMark[] {
    const point = new SourcePositions();
    for (const store of this.stores.values()) {
      if (store.logging !== undefined) point.advanceAll(store.marks.toArray());
    }
    return point.toArray();
  }

  /** Bytes a store's cache holds (0 without caching), for metrics and bound checks. */
  cacheSizeBytes(name: string): number {
    return this.managed(name).caching?.sizeBytes() ?? 0;
  }

  /** A store's cache lookups (hits, misses) and evictions so far; undefined for a store without a cache. */
  cacheStats(name: string): CacheStats | undefined {
    const c = this.managed(name).caching;
    return c === undefined ? undefined : { hits: c.hits, misses: c.misses, evictions: c.evictions };
  }

  /** The checkpointed changelog offset of a store, if any. */
  changelogOffset(name: string): bigint | undefined {
    return this.managed(name).checkpoint?.changelogOffset;
  }

  /** The checkpoint of a store as last written or read (undefined: none). */
  checkpoint(name: string): Readonly<Checkpoint> | undefined {
    return this.managed(name).checkpoint;
  }

  /**
   * Flushes every cache and returns the changelog records to send, each key once per store with its latest value.
   * Every record of a store carries the same `eddy.src` header: the task's input position merged with the
   * store's marks.
   */
  prepareCommit(): ChangelogRecord[] {
    this.assertOpen();
    if (this.prepared !== undefined) {
      throw new StateStoreError('INVALID_STATE', 'prepareCommit() called twice without completeCommit()');
    }
    const records: ChangelogRecord[] = [];
    const prepared: PreparedStore[] = [];
    const partition = this.options.partition;
    this.preparedAt = this.clock();
    for (const store of this.stores.values()) {
      if (!store.opened || store.status.value !== 'open') continue;
      store.caching?.flush();
      const marks = new SourcePositions();
      marks.advanceAll(store.marks.toArray());
      marks.advanceAll(this.position.toArray());
      const markList = marks.toArray();
      const logged = store.logging?.drain();
      const count = logged?.keys.length ?? 0;
      if (logged !== undefined && count > 0) {
        const headers = { [SOURCE_MARKS_HEADER]: encodeSourceMarks(markList) };
        const { keys, values } = logged;
        for (let i = 0; i < count; i++) {
          records.push({
            store: store.name,
            topic: store.changelogTopic,
            partition,
            key: keys[i]!,
            value: values[i]!,
            headers,
          });
        }
      }
      prepared.push({ store, marks: markList, logged: count > 0 });
    }
    this.prepared = prepared;
    return records;
  }

  /**
   * After the changelog records were acknowledged: writes each store's staged data with its checkpoint (changelog
   * offset from `changelogOffsets`, keyed `topic:partition`, and source marks) in one atomic batch per store.
   */
  async completeCommit(changelogOffsets: ReadonlyMap<string, bigint | string> = new Map()): Promise<void> {
    this.assertOpen();
    const prepared = this.prepared;
    if (prepared === undefined) {
      throw new StateStoreError('INVALID_STATE', 'completeCommit() called without prepareCommit()');
    }
    const checkpoints = prepared.map(({ store, marks, logged }) => {
      const acked = changelogOffsets.get(`${store.changelogTopic}:${this.options.partition}`);
      if (logged && acked === undefined) {
        throw new StateStoreError('INVALID_ARGUMENT', `no changelog offset given for store "${store.name}"`, {
          store: store.name,
        });
      }
      if (store.sourceTopic !== undefined) return this.sourceCheckpoint(store, marks);
      const checkpoint: Checkpoint = {
        changelogOffset: acked === undefined ? store.checkpoint?.changelogOffset : BigInt(acked),
        marks,
        // This task is the changelog's writer: what follows the acknowledged offset is written after this commit.
        coveredAt: this.preparedAt,
      };
      return checkpoint;
    });
    this.prepared = undefined;
    for (let i = 0; i < prepared.length; i++) {
      const { store } = prepared[i]!;
      const checkpoint = checkpoints[i]!;
      // Read now, not at prepare: range deletes of expired segments reach the engine as they happen.
      if (store.streamTime.value >= 0) checkpoint.streamTime = store.streamTime.value;
      await store.engine.commit(checkpoint);
      this.adoptCheckpoint(store, checkpoint);
    }
  }

  /** The changelog partitions of the logged stores and the offsets their local state covers. */
  changelogPartitions(): ChangelogPartition[] {
    const out: ChangelogPartition[] = [];
    for (const store of this.stores.values()) {
      if (store.sourceTopic !== undefined) {
        out.push({
          store: store.name,
          topic: store.sourceTopic,
          partition: this.options.partition,
          checkpointOffset: store.checkpoint?.changelogOffset,
          fromSource: true,
        });
        continue;
      }
      if (store.logging === undefined) continue;
      out.push({
        store: store.name,
        topic: store.changelogTopic,
        partition: this.options.partition,
        checkpointOffset: store.checkpoint?.changelogOffset,
        coveredAt: store.checkpoint?.coveredAt,
      });
    }
    return out;
  }

  /**
   * Applies changelog records in one atomic write that also advances the store's changelog offset (to the last
   * record's), its source marks (from each record's `eddy.src` header), its stream time (time-bounded stores) and
   * its `coveredAt` (from the last record's timestamp, the time it was written).
   */
  async applyRestoreBatch(name: string, records: readonly RestoreRecord[]): Promise<void> {
    this.assertOpen();
    const store = this.managed(name);
    if (records.length === 0) return;
    const marks = new SourcePositions();
    marks.advanceAll(store.marks.toArray());
    const entries: PendingEntry[] = [];
    let lastOffset = -1n;
    let lastWritten: number | undefined;
    let streamTime = store.streamTime.value;
    const timeOfKey = store.timeOfKey;
    const fromSource = store.sourceTopic !== undefined;
    const convert = fromSource ? store.fromSourceRecord : undefined;
    const check = fromSource ? undefined : store.checkRestored;
    // The records of one commit carry the same marks: a header equal to the previous one is not decoded again.
    let lastHeader: Buffer | undefined;
    for (const record of records) {
      try {
        const wrong = check?.(record.key, record.value);
        if (wrong !== undefined) throw new Error(wrong);
        // A source topic's headers are its producers', not marks of this store.
        const header = fromSource ? undefined : record.headers?.[SOURCE_MARKS_HEADER];
        if (header !== undefined) {
          const bytes =
            typeof header === 'string'
              ? Buffer.from(header, 'latin1')
              : Buffer.isBuffer(header)
                ? header
                : Buffer.from(header.buffer, header.byteOffset, header.byteLength);
          if (lastHeader === undefined || !bytes.equals(lastHeader)) {
            marks.advanceAll(decodeSourceMarks(bytes));
            lastHeader = bytes;
          }
        }
        if (timeOfKey !== undefined) streamTime = Math.max(streamTime, timeOfKey(record.key));
      } catch (cause) {
        const topic = store.sourceTopic ?? store.changelogTopic;
        throw new StateStoreError(
          'INVALID_CHANGELOG_RECORD',
          `store "${name}" cannot restore record ${topic}-${this.options.partition}@${record.offset}, which it did ` +
            `not write: ${cause instanceof Error ? cause.message : String(cause)}`,
          { store: name, cause },
        );
      }
      const offset = BigInt(record.offset);
      if (offset > lastOffset) {
        lastOffset = offset;
        lastWritten = record.timestamp;
      }
      entries.push([
        record.key,
        convert === undefined || record.value === null
          ? record.value
          : convert(record.value, record.timestamp ?? NO_TIMESTAMP),
      ]);
    }
    let checkpoint: Checkpoint;
    if (fromSource) {
      // The records up to here are input the store holds: its writes when they are processed again are dropped.
      marks.advance(store.sourceTopic!, this.options.partition, Number(lastOffset));
      checkpoint = this.sourceCheckpoint(store, marks.toArray());
    } else {
      checkpoint = {
        changelogOffset: lastOffset,
        marks: marks.toArray(),
        streamTime: streamTime >= 0 ? streamTime : undefined,
        coveredAt: laterOf(
          store.checkpoint?.coveredAt,
          // Records after the last one were written after it; a timestamp ahead of this clock counts as now.
          lastWritten === undefined ? undefined : Math.min(lastWritten, this.clock()),
        ),
      };
    }
    store.caching?.clear();
    await store.engine.writeBatch(entries, checkpoint);
    this.adoptCheckpoint(store, checkpoint);
    store.streamTime.value = streamTime;
  }

  /**
   * Records that a store's data covered its whole changelog at wall-clock time `at` (the log end was read then and
   * the checkpoint is at it): raises the checkpoint's `coveredAt`, so an idle changelog does not make the
   * checkpoint look old. For restore, when the store has no uncommitted writes.
   */
  async markCovered(name: string, at: number): Promise<void> {
    this.assertOpen();
    const store = this.managed(name);
    const current = store.checkpoint;
    if (current === undefined || (current.coveredAt !== undefined && current.coveredAt >= at)) return;
    const checkpoint: Checkpoint = { ...current, coveredAt: at };
    await store.engine.writeBatch([], checkpoint);
    this.adoptCheckpoint(store, checkpoint);
  }

  /** Deletes a store's data and checkpoint (full rebuild); works on a store whose open failed. */
  async wipe(name: string): Promise<void> {
    if (this.state === 'closed') throw new StateStoreError('STORE_CLOSED', 'task state manager is closed');
    const store = this.managed(name);
    store.caching?.clear();
    store.logging?.clear();
    if (store.opened) {
      await store.engine.wipe();
    } else {
      await store.engine.wipe();
      store.opened = true;
      store.status.value = 'open';
    }
    this.adoptCheckpoint(store, undefined);
    store.streamTime.value = -1;
  }

  /** Closes every store and releases the task lock; idempotent. Uncommitted writes are dropped. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.prepared = undefined;
    try {
      for (const store of this.stores.values()) await this.closeStore(store);
    } finally {
      this.lock?.release();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async closeStore(store: ManagedStore): Promise<void> {
    if (store.status.value === 'closed') return;
    store.status.value = 'closed';
    store.caching?.clear();
    store.logging?.clear();
    await store.engine.close();
  }

  private adoptCheckpoint(store: ManagedStore, checkpoint: Checkpoint | undefined): void {
    store.checkpoint = checkpoint;
    store.marks.clear();
    if (checkpoint !== undefined) store.marks.advanceAll(checkpoint.marks);
  }

  /**
   * The checkpoint of a store restored from its source topic: its position in that topic is its mark for it (the
   * last input record applied). No `coveredAt`: the topic's records are written whenever its producers write, so
   * their age says nothing about what compaction may have removed after the position (which the task's own reading
   * would miss as well).
   */
  private sourceCheckpoint(store: ManagedStore, marks: SourceMark[]): Checkpoint {
    const partition = this.options.partition;
    const mark = marks.find((m) => m.topic === store.sourceTopic && m.partition === partition);
    return {
      changelogOffset:
        mark !== undefined && mark.offset >= 0 ? BigInt(mark.offset) : store.checkpoint?.changelogOffset,
      marks,
    };
  }

  private managed(name: string): ManagedStore {
    const store = this.stores.get(name);
    if (store === undefined) {
      throw new StateStoreError('UNKNOWN_STORE', `no store named "${name}" is registered`, { store: name });
    }
    return store;
  }

  private assertOpen(): void {
    if (this.state !== 'open') {
      const code = this.state === 'closed' ? 'STORE_CLOSED' : 'STORE_NOT_OPEN';
      throw new StateStoreError(code, `task state manager is ${this.state}`);
    }
  }
}

function laterOf(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.max(a, b);
}
