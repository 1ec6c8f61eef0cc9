// Public API of @eddy/streams.
export type { StreamsConfig } from './config.js';
export { type RecordPosition, STREAMS_ERROR_CODES, StreamsError, type StreamsErrorCode } from './errors.js';
export type { ClientLogLevel, RecordHeaders, SaslOptions, TlsOptions } from './kafka/port.js';
export { jsonLogger, type LogFields, type Logger } from './logger.js';
export type { HttpOptions, MetricsOptions, StoreQueryOptions } from './ops/ops-options.js';
export type { CrashLoopOptions } from './runtime/crash-loop.js';
export { DEAD_LETTER_HEADERS, type ErrorMode } from './runtime/error-handling.js';
export type { Cancellable, PunctuationType, Punctuator } from './runtime/punctuation.js';
export type { KeyQueryMetadata, StreamsMetadata } from './runtime/query-metadata.js';
export { dryRunSerdes } from './runtime/serde-uses.js';
export {
  type AssignmentListener,
  type CloseOptions,
  type CommitPhase,
  type ErrorListener,
  type StateListener,
  StreamsApp,
  type StreamsAppOptions,
  type StreamsMetrics,
  type StreamsState,
  type TaskAssignment,
} from './runtime/streams-app.js';
export {
  type AppDefinition,
  type AppDefinitionContext,
  type AppDefinitionResult,
  defineStreamsApp,
} from './runtime/threads/app-module.js';
export {
  type StreamThreadView,
  ThreadedStreamsApp,
  type ThreadedStreamsAppOptions,
} from './runtime/threads/threaded-streams-app.js';
export type { TracingOptions } from './runtime/tracing.js';
export {
  type BuiltinSerde,
  type Deserializer,
  type Preparable,
  type Serde,
  type SerdeDecision,
  Serdes,
  type SerdeUse,
  type Serializer,
  type StoreSerde,
} from './serdes/serde.js';
export type { BranchedKStream } from './topology/dsl/branched-kstream.js';
export type { Change } from './topology/dsl/change.js';
export type { ForeignKeyJoined } from './topology/dsl/foreign-key-join/foreign-key-join.js';
export { GlobalKTable } from './topology/dsl/global-ktable.js';
export type { Joined, StreamJoined, ValueJoiner } from './topology/dsl/joins/join-options.js';
export { JoinWindows } from './topology/dsl/joins/join-windows.js';
export { KGroupedStream } from './topology/dsl/kgrouped-stream.js';
export { KGroupedTable } from './topology/dsl/kgrouped-table.js';
export {
  type Branch,
  type Grouped,
  KStream,
  type Produced,
  type Repartitioned,
} from './topology/dsl/kstream.js';
export { KTable } from './topology/dsl/ktable.js';
export type { Materialized } from './topology/dsl/materialized.js';
export type { Named } from './topology/dsl/naming.js';
export type { DslSerde } from './topology/dsl/serdes.js';
export { SessionWindowedKStream } from './topology/dsl/session-windowed-kstream.js';
export { SessionWindows } from './topology/dsl/session-windows.js';
export { SlidingWindows } from './topology/dsl/sliding-windows.js';
export {
  type Consumed,
  StreamsBuilder,
  type StreamsBuilderOptions,
  type TableMaterialized,
} from './topology/dsl/streams-builder.js';
export { BufferConfig, type BufferFullPolicy, Suppressed } from './topology/dsl/suppressed.js';
export { TimeWindowedKStream } from './topology/dsl/time-windowed-kstream.js';
export { TimeWindows } from './topology/dsl/time-windows.js';
export type { ValueAndTimestamp } from './topology/dsl/value-and-timestamp.js';
export type { Window, Windowed } from './topology/dsl/windowed.js';
export { WindowedSerdes } from './topology/dsl/windowed-serdes.js';
export {
  DROP_REASONS,
  type DropReason,
  type Processor,
  type ProcessorContext,
  type ProcessorSupplier,
  type StreamRecord,
  type TimestampExtractor,
  type TopicNameExtractor,
} from './topology/processor.js';
export {
  type GlobalSourceOptions,
  type SinkOptions,
  type SourceOptions,
  Topology,
} from './topology/topology.js';
