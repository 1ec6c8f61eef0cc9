// Builders describe a store (name, serdes, layers); a TaskStateManager assembles and owns the stack they describe.
import type { BytesStore } from '../layers/bytes-store.js';
import type { CachingStore } from '../layers/caching-store.js';
import type { StoreStatus } from '../layers/store-status.js';
import type { ReplayGuard } from '../task/replay-guard.js';
import type { StoreMetricsHooks } from './metrics.js';

export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 * 1024;

export interface StoreOptions {
  /** Used in the directory and the changelog topic name: letters, digits, '.', '_' and '-'. */
  name: string;
  /** LevelDB when true (default), in-memory when false. */
  persistent?: boolean;
  /** Write-back cache (default on). */
  caching?: boolean;
  /** Change-logging to `<applicationId>-<name>-changelog` (default on; off for a store with `sourceTopic`). */
  logging?: boolean;
  /**
   * The input topic this store is a copy of (a source table): restore reads it, at the task's partition, instead of
   * a changelog of the store's own, which the store then does not write. Its records' keys and values must be the
   * bytes the store writes (the same serdes), a null value a delete.
   */
  sourceTopic?: string;
  /**
   * With `sourceTopic`: the bytes the store keeps for a source record's value bytes and timestamp, which restore
   * writes (e.g. a store that keeps each value with its timestamp); default: the value bytes as they are.
   */
  fromSourceRecord?: (value: Uint8Array, timestamp: number) => Uint8Array;
  /** Bound of the cache; also the bound of staged writes that makes the task ask for a commit. */
  cacheMaxBytes?: number;
  metrics?: StoreMetricsHooks;
}

/** The stream time of a time-bounded store (-1: nothing written yet), kept in the store's checkpoint. */
export interface StreamTimeCell {
  value: number;
}

/** The pieces a builder turns into its typed store; created by the task state manager. */
export interface StoreParts {
  top: BytesStore;
  /** The caching layer when it is the top, for typed layers that find cache entries by their own key ids. */
  cache: CachingStore | undefined;
  status: StoreStatus;
  guard: ReplayGuard;
  /** Read at open from the checkpoint, raised by restore, written with each commit; unused by key-value stores. */
  streamTime: StreamTimeCell;
  flush(): void;
  close(): Promise<void>;
}

export interface StoreBuilder<S> {
  readonly options: Readonly<StoreOptions>;
  /** Called by the task state manager; not for application code. */
  build(parts: StoreParts): S;
  /** Time-bounded stores: the time a stored key stands for, so that restoring changelog records sets stream time. */
  timeOfKey?(key: Uint8Array): number;
  /**
   * Why a changelog record cannot be one this store wrote (a key or value of the wrong shape), or undefined when it
   * can be; a null value is a deletion. Checked for every record restored from the store's own changelog.
   */
  checkRestored?(key: Uint8Array, value: Uint8Array | null): string | undefined;
}
