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
  /** Change-logging to `<applicationId>-<name>-changelog` (default on). */
  logging?: boolean;
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
}
