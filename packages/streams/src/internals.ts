// Runtime internals shared with sibling packages (@eddy/test-utils) and the benchmarks. Not public API: no stability promise.
export { type ResolvedConfig, resolveConfig } from './config.js';
export { kafkajsClientFactory } from './kafka/kafkajs/index.js';
export * from './kafka/memory/index.js';
export type {
  ConsumedRecord,
  ConsumerPort,
  KafkaClientFactory,
  OutgoingRecord,
  ProducerPort,
} from './kafka/port.js';
export type { Logger } from './logger.js';
export { type CreateTaskOptions, createTask } from './runtime/create-task.js';
export type { ErrorMode } from './runtime/error-handling.js';
export { DRAIN_ONLY, RecordCollector } from './runtime/record-collector.js';
export { StreamTask, type TaskOptions, type TaskStores } from './runtime/stream-task.js';
export { TaskId } from './runtime/task-id.js';
export { createTaskState, type TaskState } from './runtime/task-state.js';
export type { SealedTopology } from './topology/topology.js';
