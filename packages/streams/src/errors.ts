// The one error class of @eddy/streams: stable codes, a cause, and the context needed to act on it.

export const STREAMS_ERROR_CODES = [
  /** An option is missing or has a value the runtime cannot use. */
  'INVALID_CONFIG',
  /** The topology is not well formed (unknown parent, duplicate name, no source, ...). */
  'INVALID_TOPOLOGY',
  /** No broker answered within the start timeout. */
  'BROKER_UNREACHABLE',
  /** A topic the topology reads or writes does not exist on the cluster. */
  'TOPIC_MISSING',
  /** Co-partitioned source topics have different partition counts. */
  'PARTITION_COUNT_MISMATCH',
  /**
   * A source topic's partition count changed while the application ran (partitions were added). Every instance
   * stops: tasks, changelog topics and local state are keyed by partition, so records of a key now land in another
   * task than its state. Restore the topic's previous count (recreate it), or reset the application (new
   * `applicationId`, or delete its changelog topics, group offsets and state directories) and start it again.
   */
  'SOURCE_TOPIC_PARTITIONS_CHANGED',
  /** A record's key or value could not be deserialized; names topic, partition and offset. */
  'DESERIALIZATION_FAILED',
  /** A key or value could not be serialized for a sink. */
  'SERIALIZATION_FAILED',
  /** A processor threw while processing a record. */
  'PROCESSING_FAILED',
  /** Output records could not be written to Kafka. */
  'PRODUCE_FAILED',
  /** Consumer offsets could not be committed. */
  'COMMIT_FAILED',
  /**
   * The group rebalanced under a commit: this instance may no longer own the partitions. Recovery: nothing to do;
   * the consumer rejoins, and whoever owns them replays from the last committed offset.
   */
  'TASK_MIGRATED',
  /** A task's state stores could not be opened or restored. */
  'STATE_FAILED',
  /** The app is in a state that does not allow the call (e.g. start after close). */
  'ILLEGAL_STATE',
  /** A query named a state store the topology does not have. */
  'UNKNOWN_STORE',
  /** close() did not finish within its timeout. */
  'CLOSE_TIMEOUT',
  /** close() was called while start() was running: start gave up and released everything it had created. */
  'CLOSED_DURING_START',
] as const;

export type StreamsErrorCode = (typeof STREAMS_ERROR_CODES)[number];

/** Where in the input a failure happened. */
export interface RecordPosition {
  topic: string;
  partition: number;
  offset: string;
}

export interface StreamsErrorOptions {
  cause?: unknown;
  position?: RecordPosition;
}

export class StreamsError extends Error {
  readonly code: StreamsErrorCode;
  readonly position: RecordPosition | undefined;

  constructor(code: StreamsErrorCode, message: string, options: StreamsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreamsError';
    this.code = code;
    this.position = options.position;
  }
}

/** Formats a record position the same way in every message: `topic-partition@offset`. */
export function describePosition(p: RecordPosition): string {
  return `${p.topic}-${p.partition}@${p.offset}`;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
