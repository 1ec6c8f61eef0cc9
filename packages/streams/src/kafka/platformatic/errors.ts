// What @platformatic/kafka errors mean to the runtime: one error per failure, with the Kafka protocol error's name as
// `type` and a lost connection recognizable by its `code`, then the same meanings as the kafkajs adapter.

import { StreamsError } from '../../errors.js';
import {
  commitError,
  isTlsHandshakeError,
  securityFailure as kafkajsSecurityFailure,
  transactionError,
} from '../kafkajs/errors.js';

/** The `code` of the library's network and timeout errors (both use it), which the runtime counts as transient. */
export const NETWORK_CODE = 'PLT_KFK_NETWORK';
const AUTHENTICATION_CODE = 'PLT_KFK_AUTHENTICATION';

/** The name of a converted error whose cause is a refused TLS handshake or SASL login. */
export const REFUSED_IDENTITY = 'PlatformaticKafkaAuthenticationError';

/** A failure of the client library, as the runtime reads it. */
export class PlatformaticKafkaError extends Error {
  /** The Kafka protocol error name (e.g. `NOT_COORDINATOR`), when the broker answered with one. */
  readonly type: string | undefined;
  /** `PLT_KFK_NETWORK` for a lost, refused or timed-out connection; else the library's code. */
  readonly code: string | undefined;

  constructor(cause: unknown) {
    const found = inspect(cause);
    super(found.message ?? (cause instanceof Error ? cause.message : String(cause)), { cause });
    // The library reports a refused TLS handshake or SASL login as a failed connection, which it retries: the
    // identity is what was refused, and no retry helps.
    const refused = found.authentication || found.tls !== undefined;
    this.name = refused ? REFUSED_IDENTITY : 'PlatformaticKafkaError';
    this.type = found.type ?? (found.authentication ? 'SASL_AUTHENTICATION_FAILED' : undefined);
    this.code = found.tls ?? (refused ? AUTHENTICATION_CODE : found.network ? NETWORK_CODE : found.code);
  }
}

interface Found {
  type?: string;
  code?: string;
  /** Node's code of a TLS handshake that failed or a certificate that did not verify. */
  tls?: string;
  /** The message of the innermost refusal, when there is one. */
  message?: string;
  network: boolean;
  authentication: boolean;
}

const SASL_REFUSED = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
]);

/** The first protocol error name, and whether a network or authentication error is among the nested ones. */
function inspect(err: unknown): Found {
  const found: Found = { network: false, authentication: false };
  const visit = (e: unknown, depth: number): void => {
    if (typeof e !== 'object' || e === null || depth > 6) return;
    const r = e as { apiId?: unknown; code?: unknown; cause?: unknown; errors?: unknown; message?: unknown };
    if (found.type === undefined && typeof r.apiId === 'string') found.type = r.apiId;
    if (r.code === NETWORK_CODE) found.network = true;
    if (r.code === AUTHENTICATION_CODE || SASL_REFUSED.has(String(r.apiId))) {
      found.authentication = true;
      if (typeof r.message === 'string') found.message = r.message;
    }
    if (found.tls === undefined && isTlsHandshakeError(r.code)) {
      found.tls = String(r.code);
      if (typeof r.message === 'string') found.message = r.message;
    }
    if (found.code === undefined && typeof r.code === 'string') found.code = r.code;
    visit(r.cause, depth + 1);
    if (Array.isArray(r.errors)) for (const inner of r.errors) visit(inner, depth + 1);
  };
  visit(err, 0);
  return found;
}

/** `err` as the adapter throws it: StreamsErrors and already converted errors unchanged. */
export function portError(err: unknown): unknown {
  if (err instanceof StreamsError || err instanceof PlatformaticKafkaError) return err;
  return new PlatformaticKafkaError(err);
}

/** The Kafka protocol error name of a (converted or raw) library error. */
export function errorType(err: unknown): string | undefined {
  return err instanceof PlatformaticKafkaError ? err.type : inspect(err).type;
}

/** An offset commit's error: TASK_MIGRATED when the group rebalanced, else the converted error. */
export function offsetCommitError(err: unknown): unknown {
  return commitError(portError(err));
}

/** A transaction's error: TASK_MIGRATED when the producer was fenced or its offsets refused, else converted. */
export function transactionFailure(err: unknown, generationId?: number): unknown {
  return transactionError(portError(err), generationId);
}

/** AUTHENTICATION_FAILED or AUTHORIZATION_FAILED for a refused identity or right; undefined otherwise. */
export function securityFailure(err: unknown): StreamsError | undefined {
  return kafkajsSecurityFailure(portError(err));
}
