// Runtime internals shared with sibling packages (@eddy/test-utils). Not public API: no stability promise.
export { type ResolvedConfig, resolveConfig } from './config.js';
export type { ConsumedRecord, OutgoingRecord, ProducerPort } from './kafka/port.js';
export type { Logger } from './logger.js';
export type { ErrorMode } from './runtime/error-handling.js';
export { DRAIN_ONLY, RecordCollector } from './runtime/record-collector.js';
export { StreamTask, type TaskOptions, type TaskStores } from './runtime/stream-task.js';
