// Public API of @eddy/state.
export * from './api/key-value-store.js';
export * from './api/key-value-store-builder.js';
export * from './api/metrics.js';
export * from './api/read-only-views.js';
export * from './api/restore-listener.js';
export * from './api/serde.js';
export * from './api/session-store.js';
export type { StoreBuilder, StoreOptions, StoreParts, StreamTimeCell } from './api/store-builder.js';
export { DEFAULT_CACHE_MAX_BYTES } from './api/store-builder.js';
export * from './api/window-store.js';
export * from './api/window-store-builder.js';
export * from './errors.js';
export * from './task/changelog.js';
export {
  decodeSourceMarks,
  encodeSourceMarks,
  SOURCE_MARKS_HEADER,
  type SourceMark,
} from './task/source-marks.js';
export {
  type CacheStats,
  TaskStateManager,
  type TaskStateManagerOptions,
} from './task/task-state-manager.js';
