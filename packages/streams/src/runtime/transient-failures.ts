// Which failures are worth retrying in-process: Kafka (or a serde's registry) unreachable or too slow, as opposed to a
// misconfiguration.
import { StreamsError } from '../errors.js';

/**
 * Client errors of a connection lost, refused or too slow (kafkajs names them; Node names socket errors by code, and
 * so does the @platformatic/kafka adapter: `PLT_KFK_NETWORK`).
 */
const NETWORK_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSGroupCoordinatorNotFound',
]);
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'PLT_KFK_NETWORK',
]);
/**
 * Kafka protocol errors of a coordinator or leader moving or loading. kafkajs names codes 14-16 after the group
 * coordinator (GROUP_LOAD_IN_PROGRESS, GROUP_COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR_FOR_GROUP); the in-memory
 * backend and the @platformatic/kafka adapter use the protocol's names.
 */
const MOVING = new Set([
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'GROUP_LOAD_IN_PROGRESS',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
]);

interface Chained {
  name?: unknown;
  code?: unknown;
  type?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

/** The error and the errors it wraps (kafkajs: `originalError`; standard: `cause`), outermost first. */
function chain(err: unknown): Chained[] {
  const out: Chained[] = [];
  let e = err as Chained | undefined;
  for (let depth = 0; e !== null && typeof e === 'object' && depth < 6; depth++) {
    out.push(e);
    e = (e.originalError ?? e.cause) as Chained | undefined;
  }
  return out;
}

function isNetwork(err: unknown): boolean {
  return chain(err).some(
    (e) =>
      (typeof e.name === 'string' && NETWORK_ERRORS.has(e.name)) ||
      (typeof e.code === 'string' && SOCKET_CODES.has(e.code)) ||
      (typeof e.type === 'string' && MOVING.has(e.type)),
  );
}

/** Authentication and TLS failures also surface as failed connections, but retrying them cannot help. */
function isRefusedIdentity(err: unknown): boolean {
  return chain(err).some(
    (e) =>
      (typeof e.name === 'string' && /SASL|Authentication/i.test(e.name)) ||
      (typeof e.code === 'string' &&
        /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(e.code)),
  );
}

/** A serde's own error that says a later attempt may succeed (see `Preparable`). */
const isTransientPrepare = (err: StreamsError): boolean =>
  chain(err.cause).some((e) => (e as { transient?: unknown }).transient === true);

/**
 * True for a failure a later attempt may not have: Kafka unreachable (BROKER_UNREACHABLE, a start that timed out),
 * a coordinator or leader moving, a request that timed out, a commit, send or restore that lost its connection, a serde that could not prepare for a transient reason
 * (e.g. its schema registry unreachable); false for errors of configuration, topics, data and identity.
 */
export function isTransient(err: unknown): boolean {
  if (isRefusedIdentity(err)) return false;
  if (err instanceof StreamsError) {
    if (err.code === 'BROKER_UNREACHABLE') return true;
    // A restore reads the changelogs over the network: its lost connection is no fault of the state volume.
    if (err.code === 'COMMIT_FAILED' || err.code === 'PRODUCE_FAILED' || err.code === 'STATE_FAILED') {
      return isNetwork(err.cause);
    }
    if (err.code === 'SERDE_PREPARE_FAILED') return isTransientPrepare(err);
    return false;
  }
  return isNetwork(err);
}
