// What kafkajs errors mean to the runtime: rebalances under a commit, and leaders not yet known.

import { StreamsError } from '../../errors.js';

/** kafkajs error types of an offset commit that a rebalance refused. */
const REBALANCE_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'FENCED_INSTANCE_ID',
]);

/** The Kafka protocol error type of a kafkajs error, looking through the errors that wrap it. */
export function protocolErrorType(err: unknown): string | undefined {
  let e = err as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.type === 'string') return e.type;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return undefined;
}

/** An offset commit's error as the runtime sees it: TASK_MIGRATED when the group rebalanced, else unchanged. */
export function commitError(err: unknown): unknown {
  const type = protocolErrorType(err);
  if (type !== undefined && REBALANCE_ERRORS.has(type)) {
    return new StreamsError('TASK_MIGRATED', `the group rebalanced during an offset commit (${type})`, {
      cause: err,
    });
  }
  return err;
}

/**
 * kafkajs error types of a transactional producer that a newer producer of its transactional id fenced: the task has
 * a new owner.
 */
const FENCING_ERRORS = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

/**
 * A transaction's error as the runtime sees it: TASK_MIGRATED when a newer owner fenced the producer, or when the
 * group coordinator refused its offsets as from a generation that is over (the transaction was aborted); else
 * unchanged.
 */
export function transactionError(err: unknown, generationId?: number): unknown {
  const type = protocolErrorType(err);
  if (type !== undefined && FENCING_ERRORS.has(type)) {
    return new StreamsError(
      'TASK_MIGRATED',
      `the transaction was fenced by a newer owner of the task (${type})`,
      {
        cause: err,
      },
    );
  }
  if (type !== undefined && REBALANCE_ERRORS.has(type)) {
    return new StreamsError(
      'TASK_MIGRATED',
      `the group coordinator refused the transaction's offsets of generation ${generationId} (${type}); ` +
        'the transaction was aborted',
      { cause: err },
    );
  }
  return err;
}

/** A partition whose leader this client does not know yet (a topic just created, or a leader moving). */
export function isLeadershipError(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return (
    type === 'NOT_LEADER_FOR_PARTITION' ||
    type === 'LEADER_NOT_AVAILABLE' ||
    type === 'UNKNOWN_TOPIC_OR_PARTITION'
  );
}
