// Errors of the in-memory Kafka: Kafka protocol error names in `type`, as the kafkajs client reports them.
import { StreamsError } from '../../errors.js';

/** Kafka protocol errors the in-memory cluster raises, and whether a client may retry the request. */
const RETRIABLE = {
  REBALANCE_IN_PROGRESS: false,
  UNKNOWN_MEMBER_ID: false,
  ILLEGAL_GENERATION: false,
  FENCED_INSTANCE_ID: false,
  INCONSISTENT_GROUP_PROTOCOL: false,
  PRODUCER_FENCED: false,
  INVALID_PRODUCER_EPOCH: false,
  INVALID_TXN_STATE: false,
  TRANSACTION_TIMED_OUT: false,
  OFFSET_OUT_OF_RANGE: false,
  INVALID_TOPIC_EXCEPTION: false,
  INVALID_PARTITIONS: false,
  INVALID_REPLICATION_FACTOR: false,
  INVALID_CONFIG: false,
  INVALID_REQUEST: false,
  UNKNOWN_TOPIC_OR_PARTITION: true,
  NOT_LEADER_FOR_PARTITION: true,
  LEADER_NOT_AVAILABLE: true,
  REQUEST_TIMED_OUT: true,
  NETWORK_EXCEPTION: true,
  COORDINATOR_LOAD_IN_PROGRESS: true,
  COORDINATOR_NOT_AVAILABLE: true,
  NOT_COORDINATOR: true,
  CONCURRENT_TRANSACTIONS: true,
  KAFKA_STORAGE_ERROR: true,
} as const;

export type KafkaErrorType = keyof typeof RETRIABLE;

/**
 * A Kafka protocol error. It has the shape of a kafkajs protocol error (`type`, `retriable`), so code that reads
 * the error type of a kafkajs failure reads this one the same way.
 */
export class MemoryKafkaError extends Error {
  readonly type: KafkaErrorType;
  readonly retriable: boolean;

  constructor(type: KafkaErrorType, message: string) {
    super(`${message} (${type})`);
    this.name = 'MemoryKafkaError';
    this.type = type;
    this.retriable = RETRIABLE[type];
  }
}

export function kafkaError(type: KafkaErrorType, message: string): MemoryKafkaError {
  return new MemoryKafkaError(type, message);
}

/** Errors of an offset commit that a rebalance refused (the kafkajs adapter maps these to TASK_MIGRATED). */
export const REBALANCE_ERROR_TYPES: ReadonlySet<string> = new Set<KafkaErrorType>([
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'FENCED_INSTANCE_ID',
]);

export function isRebalanceError(err: unknown): boolean {
  return err instanceof MemoryKafkaError && REBALANCE_ERROR_TYPES.has(err.type);
}

/** Errors of a transactional producer that a newer producer of its transactional id fenced. */
const FENCING_ERROR_TYPES: ReadonlySet<string> = new Set<KafkaErrorType>([
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
]);

/**
 * A transaction's failure as the port reports it: TASK_MIGRATED when the producer was fenced or the group refused
 * the offsets of a generation that is over (as the kafkajs adapter maps them), else the error itself.
 */
export function transactionFailure(err: unknown): unknown {
  if (
    err instanceof MemoryKafkaError &&
    (FENCING_ERROR_TYPES.has(err.type) || REBALANCE_ERROR_TYPES.has(err.type))
  ) {
    return new StreamsError('TASK_MIGRATED', `the task's transaction was refused (${err.type})`, {
      cause: err,
    });
  }
  return err;
}
