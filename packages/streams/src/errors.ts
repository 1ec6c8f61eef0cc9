// The one error class of @eddy/streams: stable codes, a cause, and the context needed to act on it.

export const STREAMS_ERROR_CODES = [
  /** An option is missing or has a value the runtime cannot use. */
  'INVALID_CONFIG',
  /** The topology is not well formed (unknown parent, duplicate name, no source, ...). */
  'INVALID_TOPOLOGY',
  /** No broker answered within the start timeout. */
  'BROKER_UNREACHABLE',
  /**
   * The brokers refused this client's identity: the TLS handshake failed (no or an untrusted client certificate, a
   * broker certificate that does not verify against `ssl.ca`) or SASL authentication failed (wrong user or password,
   * a mechanism the listener does not enable). Retrying cannot help: fix `ssl`/`sasl` or the broker's users.
   */
  'AUTHENTICATION_FAILED',
  /**
   * The brokers' ACLs deny this application's principal an operation it needs (read an input topic, write an
   * output topic, create or manage its internal topics, join its group, use its transactional ids). Retrying cannot
   * help: grant the ACLs listed under "Security" in the README, then start the app again; nothing was committed by
   * the denied operation.
   */
  'AUTHORIZATION_FAILED',
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
  /**
   * A serde could not prepare for its use at start (e.g. a schema registry refused its schema, or did not answer);
   * names the topic or store, and carries the serde's own error as the cause. The app did not join its group.
   */
  'SERDE_PREPARE_FAILED',
  /** A key or value could not be serialized for a sink. */
  'SERIALIZATION_FAILED',
  /** A processor threw while processing a record. */
  'PROCESSING_FAILED',
  /** Output records could not be written to Kafka. */
  'PRODUCE_FAILED',
  /**
   * A record the app would write is larger than `maxRecordBytes` (key, value and headers), or the broker refused it as
   * larger than the topic's `max.message.bytes`. An output record of a processed input record goes through
   * `processingErrors` (with `'fail'` the app stops; nothing of that input was written); a changelog record, or a
   * record the broker refused, stops the app: raise the topic's `max.message.bytes` and `maxRecordBytes` together,
   * or keep values smaller.
   */
  'RECORD_TOO_LARGE',
  /** Consumer offsets could not be committed. */
  'COMMIT_FAILED',
  /**
   * The group rebalanced under a commit: this instance may no longer own the partitions. Recovery: nothing to do;
   * the consumer rejoins, and whoever owns them replays from the last committed offset.
   */
  'TASK_MIGRATED',
  /** A task's state stores could not be opened or restored. */
  'STATE_FAILED',
  /**
   * After Kafka was lost while running, the old tasks' state stores were still not released `closeTimeoutMs` after
   * their clients were closed (a batch kept waiting), so the app could not reconnect in-process without finding them
   * locked. Recovery: restart the process; input since the last commit replays.
   */
  'STATE_RELEASE_TIMEOUT',
  /** The app is in a state that does not allow the call (e.g. start after close). */
  'ILLEGAL_STATE',
  /** A query named a state store the topology does not have. */
  'UNKNOWN_STORE',
  /** close() did not finish within its timeout. */
  'CLOSE_TIMEOUT',
  /** close() was called while start() was running: start gave up and released everything it had created. */
  'CLOSED_DURING_START',
  /**
   * A suppression buffer bounded with `maxRecords`/`maxBytes` and `shutDownWhenFull()` passed its bound. Raise
   * `BufferConfig.maxRecords`/`maxBytes`, or choose `emitEarlyWhenFull()` where early results are acceptable; the
   * buffer is in a logged store, so the application resumes from its last commit once restarted with a larger bound.
   */
  'SUPPRESSION_BUFFER_FULL',
  /**
   * An input record crashed the process (an exit, an out-of-memory kill, a native crash) `crashLoop.maxCrashes` times
   * in a row, and `crashLoop.action` is 'fail'; `position` names it. Fix the cause and restart, or set
   * `crashLoop.action: 'dead-letter'` to write it to the dead-letter topic and skip it. The count stays on the state
   * volume: deleting `<stateDir>/<applicationId>/crash-loop.json` resets it.
   */
  'POISON_RECORD',
  /**
   * `ThreadedStreamsApp.load` could not use its module: it does not load, its export is not a function, or the
   * function did not return `{ topology, config }`.
   */
  'INVALID_APP_MODULE',
  /** A stream thread of a threaded app stopped outside the app's own lifecycle (its worker thread exited or threw). */
  'STREAM_THREAD_FAILED',
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
