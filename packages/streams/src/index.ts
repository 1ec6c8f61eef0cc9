// Public API of @eddy/streams.
export type { StreamsConfig } from './config.js';
export { type RecordPosition, STREAMS_ERROR_CODES, StreamsError, type StreamsErrorCode } from './errors.js';
export type { ClientLogLevel, RecordHeaders, SaslOptions, TlsOptions } from './kafka/port.js';
export { jsonLogger, type LogFields, type Logger } from './logger.js';
export { DEAD_LETTER_HEADERS, type ErrorMode } from './runtime/error-handling.js';
export type { Cancellable, PunctuationType, Punctuator } from './runtime/punctuation.js';
export type { KeyQueryMetadata, StreamsMetadata } from './runtime/query-metadata.js';
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
  type BuiltinSerde,
  type Deserializer,
  type Serde,
  Serdes,
  type Serializer,
  type StoreSerde,
} from './serdes/serde.js';
export {
  type Consumed,
  KGroupedStream,
  KStream,
  KTable,
  type Materialized,
  type Named,
  type Produced,
  StreamsBuilder,
} from './topology/dsl.js';
export type {
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  StreamRecord,
  TimestampExtractor,
  TopicNameExtractor,
} from './topology/processor.js';
export { type SinkOptions, type SourceOptions, Topology } from './topology/topology.js';
