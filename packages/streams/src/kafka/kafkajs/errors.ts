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

/** Kafka protocol error types that say the brokers' ACLs deny this principal the operation. */
const AUTHORIZATION_ERRORS = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED',
]);

/** Kafka protocol error types and kafkajs error names of a refused SASL authentication. */
const AUTHENTICATION_ERRORS = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
  'KafkaJSSASLAuthenticationError',
]);

/** Node's codes of a broker certificate that does not verify (the TLS alerts a broker sends are `ERR_SSL_*`). */
const CERTIFICATE_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** True for a Node TLS error of a handshake the broker refused or whose broker certificate did not verify. */
export function isTlsHandshakeError(code: unknown): boolean {
  return typeof code === 'string' && (code.startsWith('ERR_SSL_') || CERTIFICATE_ERRORS.has(code));
}

/** The errors `err` wraps, itself first: kafkajs nests them in `cause`, `originalError` and `errors`. */
function* errorChain(err: unknown, depth = 0): Generator<Record<string, unknown>> {
  if (typeof err !== 'object' || err === null || depth > 6) return;
  const e = err as Record<string, unknown>;
  yield e;
  yield* errorChain(e.cause, depth + 1);
  yield* errorChain(e.originalError, depth + 1);
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* errorChain(inner, depth + 1);
}

/**
 * A failure no retry can fix because the brokers refused who this client is or what it asked for, as the
 * StreamsError to stop with: AUTHENTICATION_FAILED or AUTHORIZATION_FAILED. Undefined for any other failure.
 */
export function securityFailure(err: unknown): StreamsError | undefined {
  for (const e of errorChain(err)) {
    if (
      e instanceof StreamsError &&
      (e.code === 'AUTHENTICATION_FAILED' || e.code === 'AUTHORIZATION_FAILED')
    ) {
      return e;
    }
    const type = typeof e.type === 'string' ? e.type : undefined;
    if (type !== undefined && AUTHORIZATION_ERRORS.has(type)) {
      return new StreamsError('AUTHORIZATION_FAILED', `the brokers' ACLs deny this principal: ${type}`, {
        cause: err,
      });
    }
    if (AUTHENTICATION_ERRORS.has(type ?? '') || AUTHENTICATION_ERRORS.has(String(e.name))) {
      return new StreamsError('AUTHENTICATION_FAILED', `SASL authentication failed: ${String(e.message)}`, {
        cause: err,
      });
    }
    if (isTlsHandshakeError(e.code)) {
      return new StreamsError(
        'AUTHENTICATION_FAILED',
        `the TLS handshake with the broker failed (${String(e.code)}): ${String(e.message)}`,
        { cause: err },
      );
    }
  }
  return undefined;
}
