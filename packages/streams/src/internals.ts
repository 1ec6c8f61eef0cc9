// Runtime internals shared with sibling packages (@eddy/test-utils, @eddy/cli) and the benchmarks. Not public API: no stability promise.
export { type ResolvedConfig, resolveConfig } from './config.js';
export { kafkaConfigOf } from './kafka/kafkajs/client-config.js';
export { rangesWithData } from './kafka/kafkajs/data-probe.js';
export { kafkajsClientFactory } from './kafka/kafkajs/index.js';
export * from './kafka/memory/index.js';
export { platformaticClientFactory } from './kafka/platformatic/index.js';
export type {
  BatchHandler,
  ClientOptions,
  ConsumedRecord,
  ConsumerPort,
  FetchedBatch,
  GroupJoin,
  GroupProtocol,
  KafkaClientFactory,
  MemberPlan,
  OutgoingRecord,
  ProducerPort,
} from './kafka/port.js';
export type { Logger } from './logger.js';
export { AppMetrics, type MetricsSource, RestoreProgress } from './ops/app-metrics.js';
export { changelogTopicSpecs } from './runtime/changelog-topics.js';
export { CrashGuard } from './runtime/crash-guard.js';
export { type CreateTaskOptions, createTask } from './runtime/create-task.js';
export type { ErrorMode } from './runtime/error-handling.js';
export { GlobalState, type GlobalStateConfig } from './runtime/global-state.js';
export { DRAIN_ONLY, RecordCollector } from './runtime/record-collector.js';
export { prepareSerdes, serdeUses } from './runtime/serde-uses.js';
export { StreamTask, type TaskOptions, type TaskStores } from './runtime/stream-task.js';
export { TaskId } from './runtime/task-id.js';
export { createTaskState, type TaskState } from './runtime/task-state.js';
export { resolveTracing } from './runtime/tracing.js';
export { userView } from './topology/dsl/timestamped-key-value-store.js';
export { valueAndTimestampSerde } from './topology/dsl/value-and-timestamp.js';
export type { GlobalStoreSpec, SealedTopology } from './topology/topology.js';
