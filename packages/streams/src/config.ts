// The options of a streams app, their defaults, and their validation.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CACHE_MAX_BYTES, type RestoreListener } from '@eddy/state';
import { StreamsError } from './errors.js';
import type { ClientLogLevel, SaslOptions, TlsOptions } from './kafka/port.js';
import { jsonLogger, type Logger } from './logger.js';
import {
  type HttpOptions,
  type MetricsOptions,
  type ResolvedHttpOptions,
  type ResolvedMetricsOptions,
  resolveHttpOptions,
  resolveMetricsOptions,
} from './ops/ops-options.js';
import type { CrashLoopOptions, ResolvedCrashLoop } from './runtime/crash-loop.js';
import { deadLetterTopicOf, type ErrorMode, isErrorMode } from './runtime/error-handling.js';
import { resolveTracing, type TracingOptions } from './runtime/tracing.js';

export interface StreamsConfig {
  /** Names the consumer group and prefixes internal topics. Letters, digits, '.', '_' and '-'. */
  applicationId: string;
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  /** Client id prefix; defaults to the application id. */
  clientId?: string;
  /**
   * 'at-least-once' (default): after a crash, input since the last commit is processed again; outputs may repeat,
   * state does not double-count. 'exactly-once': each task writes its output, changelog and offsets in one Kafka
   * transaction (transactional id `<applicationId>-<taskId>`) and reads input `read_committed`.
   */
  processingGuarantee?: 'at-least-once' | 'exactly-once';
  /**
   * The longest time between commits (ms); a cache that passes its bound commits sooner. Default 10000, or 100
   * with exactly-once. Output is sent after every fetched batch either way; a longer interval lets the caches fold
   * more updates of a key into one changelog record, and replays more input after a crash.
   */
  commitIntervalMs?: number;
  /**
   * How long a task with several input partitions waits (ms) for an input that has no buffered records before it
   * processes the others, possibly out of timestamp order; Kafka Streams' `max.task.idle.ms`. 0 (default): wait
   * for an input whose lag is not known yet (no fetch has reported where its log ends) or above zero (records in
   * its log are not fetched yet), but not for one known to be caught up; these waits end with the input's next
   * fetch, after 5 s at most. More: also wait that long for a caught-up input to receive new records. -1: never
   * wait, so the input fetched first may run ahead of the others.
   */
  maxTaskIdleMs?: number;
  /** Where a new group starts reading: 'earliest' (default) or 'latest'. */
  autoOffsetReset?: 'earliest' | 'latest';
  /**
   * How long one attempt of start() may take to reach the cluster before it fails with BROKER_UNREACHABLE (ms):
   * connecting retries at least this long, even when connections are refused at once. Once the group coordinator
   * has the attempt's join request, the attempt also gets the rebalance timeout (60 s) for the coordinator to answer
   * it. With `retryBackoff` (the default) that failure is retried; with `retryBackoff: false` start() fails with it.
   * Default 30000.
   */
  startTimeoutMs?: number;
  /** Default bound for close() (ms). Default 30000. */
  closeTimeoutMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Log level of the Kafka client. Default 'error'. */
  clientLogLevel?: ClientLogLevel;
  /**
   * Which Kafka client library the app uses: kafkajs (patched, see docs/kafkajs-patch.md) or @platformatic/kafka
   * (see docs/platformatic-kafka.md). Default: the `EDDY_KAFKA_CLIENT` environment variable when set, else 'kafkajs'.
   */
  client?: KafkaClientName;
  /** Connect to the brokers over TLS: `true` with the system's trusted roots, or with these certificates. */
  ssl?: boolean | TlsOptions;
  /** Authenticate with SASL (PLAIN, SCRAM-SHA-256/512 or OAUTHBEARER). */
  sasl?: SaslOptions;
  /**
   * How old the Kafka client's topic metadata may get before it is refreshed (ms). A partition added to a source
   * topic is noticed within this time, and every instance then stops with SOURCE_TOPIC_PARTITIONS_CHANGED.
   * Default 300000.
   */
  metadataMaxAgeMs?: number;
  /**
   * How often records of repartition topics below the committed offsets are deleted (ms): they are read once, by
   * this application, and never again. Default 30000.
   */
  repartitionPurgeIntervalMs?: number;
  /**
   * How much longer than its store's retention the changelog topic of a window or session store keeps records
   * (ms): its `retention.ms` is the store's retention plus this. Changelog records carry the wall-clock time they
   * were written, while a window stays in its store until stream time passes it; the margin keeps a window's last
   * write in the changelog while the store can still use it, e.g. when input pauses. Kafka Streams'
   * `windowstore.changelog.additional.retention.ms`. Default 86400000 (one day).
   */
  windowStoreChangelogAdditionalRetentionMs?: number;
  /**
   * The replication factor of the internal topics the app creates (changelog and repartition topics): an integer
   * from 1 to 32767, or -1 for the broker's `default.replication.factor`. Topics that already exist keep theirs.
   * Default -1.
   */
  replicationFactor?: number;
  /** What to do with a record whose key or value cannot be deserialized. Default 'fail'. */
  deserializationErrors?: ErrorMode;
  /** What to do with a record whose processing throws. Default 'fail'. */
  processingErrors?: ErrorMode;
  /** Where the runtime logs; default JSON lines on stderr at level info. */
  logger?: Logger;
  /**
   * Root of the local state (one folder per application and task); on Kubernetes, the pod's persistent volume.
   * Default `<tmpdir>/eddy-state`.
   */
  stateDir?: string;
  /** Told when stores start, progress and finish restoring from their changelogs. */
  restoreListener?: RestoreListener;
  /**
   * OpenTelemetry tracing of records (W3C trace context in headers, a process span per record): `true` with the
   * global tracer provider and propagator, or options. Default off.
   */
  tracing?: boolean | TracingOptions;
  /**
   * This instance's stable identity, e.g. the StatefulSet pod name `app-3`; default the `POD_NAME` environment
   * variable. With one, the instance is a static group member: a restart within `sessionTimeoutMs` under the same
   * identity gets its tasks back with no rebalance, and `close()` does not leave the group (pass
   * `close({ leaveGroup: true })` on a scale-down). Identities must be unique within the application.
   */
  instanceId?: string;
  /**
   * Standby replicas per stateful task, on other instances (and racks, when `rackId` is set): kept current from
   * the changelogs, so the instance that takes the task over restores only the tail. Default 0.
   */
  numStandbyReplicas?: number;
  /**
   * Stream threads this instance runs, each on a worker thread with its own consumer, producer and tasks, so that
   * processing uses more than one core: the group gives tasks to instances first, then to their threads. More than
   * 1 needs the app started from a module with `ThreadedStreamsApp.load`. Default 1.
   */
  numStreamThreads?: number;
  /**
   * An instance whose state for a task is at most this many changelog records behind counts as caught up: it may
   * take the task over at once. A task whose state is further behind everywhere but on an overloaded instance gets
   * a warm-up replica first. Default 10000.
   */
  acceptableRecoveryLag?: number;
  /** Warm-up replicas the group runs at once. Default 2. */
  maxWarmupReplicas?: number;
  /**
   * The most bytes one fetch from a broker returns (the consumer holds one fetch per broker until the runtime has taken
   * its records). Default 4194304 (4 MiB).
   */
  fetchMaxBytes?: number;
  /**
   * The most bytes one fetch returns of one partition; a record batch larger than this is still returned whole.
   * Default 1048576 (1 MiB).
   */
  fetchMaxBytesPerPartition?: number;
  /**
   * How many fetched records of one input partition a task may hold unprocessed (while it waits for another of its
   * inputs, see `maxTaskIdleMs`) before that partition's fetching pauses; it resumes once the task has processed
   * below this. One fetch may pass it. Default 1000.
   */
  bufferedRecordsPerPartition?: number;
  /**
   * The bound of each store's cache, and of the writes a store stages and the changelog records it logs between
   * commits (passing it makes the task commit early), for stores that set no `cacheMaxBytes` of their own; bytes.
   * Default 10485760 (10 MiB).
   */
  storeCacheMaxBytes?: number;
  /**
   * The largest record (key, value, header names and values, in bytes) the app writes: a larger output record is a
   * RECORD_TOO_LARGE processing error, a larger changelog record stops the app with RECORD_TOO_LARGE, either before
   * anything is sent. Set it to the output and changelog topics' `max.message.bytes` less some framing. Default
   * 1048576 - 1024 (Kafka's default `message.max.bytes` is 1048588).
   */
  maxRecordBytes?: number;
  /**
   * While warm-up replicas are not caught up, the longest wait before an instance asks for a rebalance anyway to
   * report its progress (ms). A warm-up that catches up asks at once. Default 60000.
   */
  probingRebalanceIntervalMs?: number;
  /** How often standby and warm-up replicas read the new tail of their changelogs (ms). Default 1000. */
  replicaPollIntervalMs?: number;
  /** This instance's interactive-query endpoint, `host:port`, shared with the group for query routing. */
  applicationServer?: string;
  /** Rack or zone of this instance; standbys go to other racks where possible. */
  rackId?: string;
  /**
   * Prometheus metrics (prom-client): `true` for the default registry, `{ registry }` for one of yours, `false`
   * for none. Default: on when `http` is set, off otherwise.
   */
  metrics?: boolean | MetricsOptions;
  /** The operations HTTP server: `/metrics`, `/healthz`, `/readyz` and interactive queries. Default: none. */
  http?: HttpOptions;
  /**
   * Crash-loop protection (see "Crash-loop protection" in the README): the input in flight is marked on the state
   * volume, a record that crashed the process `maxCrashes` times in a row is dead-lettered or stops the app with
   * POISON_RECORD, and a start after recent unclean restarts waits before joining the group. `true` for the
   * defaults. Needs a state directory of this instance's own. Default off.
   */
  crashLoop?: boolean | CrashLoopOptions;
  /**
   * Retry in-process when Kafka is unreachable or too slow (at start, or a running app's client gave up): release the
   * clients, wait `initialMs`, doubling up to `maxMs` (half of it fixed, half random), and connect and join again,
   * not ready meanwhile; stop with BROKER_UNREACHABLE once failures have gone on for `giveUpAfterMs`. A serde that
   * could not prepare at start for a transient reason (its schema registry unreachable: SERDE_PREPARE_FAILED) is
   * retried the same way; serdes are prepared once, so a reconnect needs no registry. Default (and `true`):
   * `{ initialMs: 500, maxMs: 30000, giveUpAfterMs: 600000 }`. `false`: the first such failure stops the app, and
   * start() fails once `startTimeoutMs` has passed.
   */
  retryBackoff?: boolean | { initialMs?: number; maxMs?: number; giveUpAfterMs?: number };
}

export const DEFAULT_FETCH_MAX_BYTES = 4 * 1024 * 1024;
export const DEFAULT_FETCH_MAX_BYTES_PER_PARTITION = 1024 * 1024;

/** The Kafka client libraries the app can run on. */
export type KafkaClientName = 'kafkajs' | 'platformatic';
const KAFKA_CLIENTS: readonly string[] = ['kafkajs', 'platformatic'];

/** The client of apps that choose none: `EDDY_KAFKA_CLIENT` when set (e.g. to run a test suite on each), else kafkajs. */
function defaultClient(): KafkaClientName {
  const fromEnv = process.env.EDDY_KAFKA_CLIENT;
  if (fromEnv === undefined || fromEnv === '') return 'kafkajs';
  if (!KAFKA_CLIENTS.includes(fromEnv)) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `EDDY_KAFKA_CLIENT must be 'kafkajs' or 'platformatic', got ${JSON.stringify(fromEnv)}`,
    );
  }
  return fromEnv as KafkaClientName;
}

/** Kafka's default `message.max.bytes` (1 MiB and 12 bytes) less room for the record batch's framing. */
export const DEFAULT_MAX_RECORD_BYTES = 1_048_576 - 1024;

export type ResolvedConfig = Required<
  Omit<
    StreamsConfig,
    | 'restoreListener'
    | 'instanceId'
    | 'applicationServer'
    | 'rackId'
    | 'ssl'
    | 'sasl'
    | 'tracing'
    | 'metrics'
    | 'http'
    | 'crashLoop'
    | 'retryBackoff'
  >
> & {
  retryBackoff: ResolvedRetryBackoff | undefined;
  crashLoop: ResolvedCrashLoop | undefined;
  tracing: TracingOptions | undefined;
  metrics: ResolvedMetricsOptions | undefined;
  http: ResolvedHttpOptions | undefined;
  ssl: boolean | TlsOptions | undefined;
  sasl: SaslOptions | undefined;
  restoreListener: RestoreListener | undefined;
  instanceId: string | undefined;
  applicationServer: string | undefined;
  rackId: string | undefined;
  /**
   * Set on stream thread k > 1 of a threaded app: `.t<k>`, appended to its group identity, client id and the files
   * of its own in the state directory (global stores, crash-loop record). Empty otherwise.
   */
  threadSuffix: string;
};

/** The most stream threads one instance runs. */
export const MAX_STREAM_THREADS = 64;

const ID = /^[A-Za-z0-9._-]{1,200}$/;
const BROKER = /^[^\s:]+:\d{1,5}$/;

function count(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new StreamsError('INVALID_CONFIG', `${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function streamThreads(value: unknown): number {
  const threads = count('numStreamThreads', value, 1, 1);
  if (threads > MAX_STREAM_THREADS) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `numStreamThreads must be at most ${MAX_STREAM_THREADS}, got ${threads}`,
    );
  }
  return threads;
}

/** -1 (the broker's default) or a replication factor Kafka accepts (an int16 of at least 1). */
function replicationFactor(value: unknown): number {
  if (value === undefined || value === -1) return -1;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 32_767) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `replicationFactor must be -1 (the broker's default) or an integer from 1 to 32767, got ${String(value)}`,
    );
  }
  return value;
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `${name} must be a positive number of milliseconds, got ${String(value)}`,
    );
  }
  return value;
}

const TLS_TEXT = ['cert', 'key'] as const;
const TLS_STRINGS = ['passphrase', 'servername'] as const;

function isPem(value: unknown): boolean {
  return typeof value === 'string' || Buffer.isBuffer(value);
}

function invalid(message: string): StreamsError {
  return new StreamsError('INVALID_CONFIG', message);
}

function checkSsl(ssl: unknown): boolean | TlsOptions | undefined {
  if (ssl === undefined || typeof ssl === 'boolean') return ssl;
  if (typeof ssl !== 'object' || ssl === null || Array.isArray(ssl)) {
    throw invalid(`ssl must be true, false or an object of TLS options, got ${JSON.stringify(ssl)}`);
  }
  const o = ssl as Record<string, unknown>;
  const known = new Set(['ca', ...TLS_TEXT, ...TLS_STRINGS, 'rejectUnauthorized']);
  for (const name of Object.keys(o)) {
    if (!known.has(name))
      throw invalid(
        `ssl.${name} is not a TLS option (ca, cert, key, passphrase, rejectUnauthorized, servername)`,
      );
  }
  if (o.ca !== undefined && !(isPem(o.ca) || (Array.isArray(o.ca) && o.ca.length > 0 && o.ca.every(isPem)))) {
    throw invalid('ssl.ca must be a PEM string or Buffer, or a non-empty array of them');
  }
  for (const name of TLS_TEXT) {
    if (o[name] !== undefined && !isPem(o[name])) throw invalid(`ssl.${name} must be a PEM string or Buffer`);
  }
  for (const name of TLS_STRINGS) {
    if (o[name] !== undefined && (typeof o[name] !== 'string' || o[name] === '')) {
      throw invalid(`ssl.${name} must be a non-empty string`);
    }
  }
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw invalid('ssl.cert and ssl.key go together: give both for a client certificate, or neither');
  }
  if (o.rejectUnauthorized !== undefined && typeof o.rejectUnauthorized !== 'boolean') {
    throw invalid('ssl.rejectUnauthorized must be a boolean');
  }
  const tls = o as TlsOptions;
  for (const ca of [tls.ca ?? []].flat()) certificate('ssl.ca', ca);
  if (tls.cert !== undefined && tls.key !== undefined) {
    const cert = certificate('ssl.cert', tls.cert);
    if (!cert.checkPrivateKey(privateKey(tls.key, tls.passphrase))) {
      throw invalid('ssl.key is not the private key of the certificate in ssl.cert');
    }
  }
  return { ...tls };
}

/** Parses a PEM certificate (the first of a bundle), or throws INVALID_CONFIG naming `option`. */
function certificate(option: string, pem: string | Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw invalid(`${option} is not a PEM certificate: ${(err as Error).message}`);
  }
}

const ENCRYPTED_KEY = 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED';

/** Parses (and decrypts, with `passphrase`) a PEM private key, or throws INVALID_CONFIG naming the bad option. */
function privateKey(pem: string | Buffer, passphrase: string | undefined): KeyObject {
  try {
    return createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase });
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    // OpenSSL asks for a passphrase it was not given through a callback that cancels.
    if (code === 'ERR_MISSING_PASSPHRASE' || (passphrase === undefined && code === ENCRYPTED_KEY)) {
      throw invalid('ssl.passphrase is needed: ssl.key is encrypted');
    }
    if (code === 'ERR_OSSL_BAD_DECRYPT') throw invalid('ssl.passphrase does not decrypt ssl.key');
    throw invalid(`ssl.key is not a PEM private key: ${message}`);
  }
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'];

function checkSasl(sasl: unknown): SaslOptions | undefined {
  if (sasl === undefined) return undefined;
  if (typeof sasl !== 'object' || sasl === null) throw invalid('sasl must be an object with a mechanism');
  const o = sasl as Record<string, unknown>;
  if (typeof o.mechanism !== 'string' || !SASL_MECHANISMS.includes(o.mechanism)) {
    throw invalid(
      `sasl.mechanism must be one of ${SASL_MECHANISMS.join(', ')}, got ${JSON.stringify(o.mechanism)}`,
    );
  }
  if (o.mechanism === 'oauthbearer') {
    if (typeof o.token !== 'function') {
      throw invalid('sasl.token must be a function that resolves to { value: <token> } with oauthbearer');
    }
    return { mechanism: 'oauthbearer', token: o.token as () => Promise<{ value: string }> };
  }
  for (const name of ['username', 'password'] as const) {
    if (typeof o[name] !== 'string' || o[name] === '') {
      throw invalid(`sasl.${name} must be a non-empty string with ${o.mechanism}`);
    }
  }
  return {
    mechanism: o.mechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512',
    username: o.username as string,
    password: o.password as string,
  };
}

function taskIdle(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < -1) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `maxTaskIdleMs must be -1 (never wait) or an integer >= 0, got ${String(value)}`,
    );
  }
  return value;
}

export interface ResolvedRetryBackoff {
  initialMs: number;
  maxMs: number;
  giveUpAfterMs: number;
}

function checkRetryBackoff(value: unknown): ResolvedRetryBackoff | undefined {
  if (value === false) return undefined;
  if (
    value !== true &&
    value !== undefined &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  ) {
    throw invalid(
      `retryBackoff must be true, false or { initialMs, maxMs, giveUpAfterMs }, got ${JSON.stringify(value)}`,
    );
  }
  const o = (value === true || value === undefined ? {} : value) as NonNullable<
    Exclude<StreamsConfig['retryBackoff'], boolean>
  >;
  const initialMs = positive('retryBackoff.initialMs', o.initialMs, 500);
  const maxMs = positive('retryBackoff.maxMs', o.maxMs, Math.max(30_000, initialMs));
  if (maxMs < initialMs) throw invalid('retryBackoff.maxMs must be >= initialMs');
  return {
    initialMs,
    maxMs,
    giveUpAfterMs: positive('retryBackoff.giveUpAfterMs', o.giveUpAfterMs, 600_000),
  };
}

function checkCrashLoop(value: unknown, processingErrors: ErrorMode): ResolvedCrashLoop | undefined {
  if (value === undefined || value === false) return undefined;
  if (value !== true && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw invalid(`crashLoop must be true, false or an object of options, got ${JSON.stringify(value)}`);
  }
  const o = (value === true || value === undefined ? {} : value) as CrashLoopOptions;
  const action = o.action ?? 'fail';
  if (action !== 'fail' && action !== 'dead-letter') {
    throw invalid(`crashLoop.action must be 'fail' or 'dead-letter', got ${JSON.stringify(action)}`);
  }
  if (
    o.deadLetterTopic !== undefined &&
    (typeof o.deadLetterTopic !== 'string' || o.deadLetterTopic === '')
  ) {
    throw invalid('crashLoop.deadLetterTopic must be a non-empty topic name');
  }
  const deadLetterTopic = o.deadLetterTopic ?? deadLetterTopicOf(processingErrors);
  if (action === 'dead-letter' && deadLetterTopic === undefined) {
    throw invalid(
      "crashLoop.action 'dead-letter' needs crashLoop.deadLetterTopic, or processingErrors: { deadLetterTopic }",
    );
  }
  const backoff = o.restartBackoff ?? {};
  if (typeof backoff !== 'object' || backoff === null) {
    throw invalid('crashLoop.restartBackoff must be an object { initialMs, maxMs }');
  }
  const initialMs = positive('crashLoop.restartBackoff.initialMs', backoff.initialMs, 1_000);
  const maxMs = positive('crashLoop.restartBackoff.maxMs', backoff.maxMs, Math.max(60_000, initialMs));
  if (maxMs < initialMs) throw invalid('crashLoop.restartBackoff.maxMs must be >= initialMs');
  return {
    maxCrashes: count('crashLoop.maxCrashes', o.maxCrashes, 3, 1),
    action,
    deadLetterTopic,
    restartBackoff: { initialMs, maxMs },
    restartWindowMs: positive('crashLoop.restartWindowMs', o.restartWindowMs, 600_000),
  };
}

/** Checks every option and fills in the defaults; throws INVALID_CONFIG naming the bad option. */
export function resolveConfig(config: StreamsConfig): ResolvedConfig {
  if (typeof config !== 'object' || config === null)
    throw new StreamsError('INVALID_CONFIG', 'config must be an object');
  if (typeof config.applicationId !== 'string' || !ID.test(config.applicationId)) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `applicationId must be 1-200 letters, digits, '.', '_' or '-', got ${JSON.stringify(config.applicationId)}`,
    );
  }
  if (!Array.isArray(config.brokers) || config.brokers.length === 0) {
    throw new StreamsError('INVALID_CONFIG', 'brokers must be a non-empty array of "host:port"');
  }
  for (const b of config.brokers) {
    if (typeof b !== 'string' || !BROKER.test(b)) {
      throw new StreamsError('INVALID_CONFIG', `broker ${JSON.stringify(b)} is not of the form "host:port"`);
    }
  }
  const guarantee = config.processingGuarantee ?? 'at-least-once';
  if (guarantee !== 'at-least-once' && guarantee !== 'exactly-once') {
    throw new StreamsError(
      'INVALID_CONFIG',
      `processingGuarantee must be 'at-least-once' or 'exactly-once', got ${JSON.stringify(guarantee)}`,
    );
  }
  if (
    config.stateDir !== undefined &&
    (typeof config.stateDir !== 'string' || config.stateDir.length === 0)
  ) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `stateDir must be a non-empty path, got ${JSON.stringify(config.stateDir)}`,
    );
  }
  const instanceId = config.instanceId ?? (process.env.POD_NAME || undefined);
  if (instanceId !== undefined && !ID.test(instanceId)) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `instanceId must be 1-200 letters, digits, '.', '_' or '-', got ${JSON.stringify(instanceId)}`,
    );
  }
  const reset = config.autoOffsetReset ?? 'earliest';
  if (reset !== 'earliest' && reset !== 'latest') {
    throw new StreamsError(
      'INVALID_CONFIG',
      `autoOffsetReset must be 'earliest' or 'latest', got ${String(reset)}`,
    );
  }
  const sessionTimeoutMs = positive('sessionTimeoutMs', config.sessionTimeoutMs, 30_000);
  const heartbeatIntervalMs = positive('heartbeatIntervalMs', config.heartbeatIntervalMs, 3_000);
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new StreamsError('INVALID_CONFIG', 'heartbeatIntervalMs must be lower than sessionTimeoutMs');
  }
  const client: KafkaClientName = config.client ?? defaultClient();
  if (!KAFKA_CLIENTS.includes(client)) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `client must be 'kafkajs' or 'platformatic', got ${String(client)}`,
    );
  }
  const level: ClientLogLevel = config.clientLogLevel ?? 'error';
  if (!['nothing', 'error', 'warn', 'info'].includes(level)) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `clientLogLevel must be nothing, error, warn or info, got ${String(level)}`,
    );
  }
  if (client === 'platformatic' && (level === 'warn' || level === 'info')) {
    // Its failures reach the app as errors; it has no logger of its own to tell warnings or more (see
    // docs/platformatic-kafka.md).
    throw new StreamsError(
      'INVALID_CONFIG',
      `clientLogLevel '${level}' is not supported with client 'platformatic': @platformatic/kafka has no logger`,
    );
  }
  for (const option of ['deserializationErrors', 'processingErrors'] as const) {
    const mode = config[option];
    if (mode !== undefined && !isErrorMode(mode)) {
      throw new StreamsError(
        'INVALID_CONFIG',
        `${option} must be 'fail', 'log-and-continue' or { deadLetterTopic: '<topic>' }, got ${JSON.stringify(mode)}`,
      );
    }
  }
  if (config.applicationServer !== undefined && !BROKER.test(String(config.applicationServer))) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `applicationServer must be of the form "host:port", got ${JSON.stringify(config.applicationServer)}`,
    );
  }
  if (config.rackId !== undefined && (typeof config.rackId !== 'string' || config.rackId.length === 0)) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `rackId must be a non-empty string, got ${JSON.stringify(config.rackId)}`,
    );
  }
  return {
    applicationId: config.applicationId,
    brokers: [...config.brokers],
    clientId: config.clientId ?? config.applicationId,
    processingGuarantee: guarantee,
    commitIntervalMs: positive(
      'commitIntervalMs',
      config.commitIntervalMs,
      guarantee === 'exactly-once' ? 100 : 10_000,
    ),
    maxTaskIdleMs: taskIdle(config.maxTaskIdleMs),
    autoOffsetReset: reset,
    startTimeoutMs: positive('startTimeoutMs', config.startTimeoutMs, 30_000),
    closeTimeoutMs: positive('closeTimeoutMs', config.closeTimeoutMs, 30_000),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    connectionTimeoutMs: positive('connectionTimeoutMs', config.connectionTimeoutMs, 3_000),
    requestTimeoutMs: positive('requestTimeoutMs', config.requestTimeoutMs, 30_000),
    clientLogLevel: level,
    client,
    ssl: checkSsl(config.ssl),
    metrics: resolveMetricsOptions(config.metrics, config.http),
    http: resolveHttpOptions(config.http),
    sasl: checkSasl(config.sasl),
    metadataMaxAgeMs: positive('metadataMaxAgeMs', config.metadataMaxAgeMs, 300_000),
    repartitionPurgeIntervalMs: positive(
      'repartitionPurgeIntervalMs',
      config.repartitionPurgeIntervalMs,
      30_000,
    ),
    windowStoreChangelogAdditionalRetentionMs: count(
      'windowStoreChangelogAdditionalRetentionMs',
      config.windowStoreChangelogAdditionalRetentionMs,
      86_400_000,
      0,
    ),
    replicationFactor: replicationFactor(config.replicationFactor),
    deserializationErrors: config.deserializationErrors ?? 'fail',
    processingErrors: config.processingErrors ?? 'fail',
    logger: config.logger ?? jsonLogger(),
    stateDir: config.stateDir ?? join(tmpdir(), 'eddy-state'),
    restoreListener: config.restoreListener,
    tracing: resolveTracing(config.tracing),
    instanceId,
    numStandbyReplicas: count('numStandbyReplicas', config.numStandbyReplicas, 0, 0),
    numStreamThreads: streamThreads(config.numStreamThreads),
    threadSuffix: '',
    acceptableRecoveryLag: count('acceptableRecoveryLag', config.acceptableRecoveryLag, 10_000, 0),
    maxWarmupReplicas: count('maxWarmupReplicas', config.maxWarmupReplicas, 2, 1),
    maxRecordBytes: count('maxRecordBytes', config.maxRecordBytes, DEFAULT_MAX_RECORD_BYTES, 1),
    fetchMaxBytes: count('fetchMaxBytes', config.fetchMaxBytes, DEFAULT_FETCH_MAX_BYTES, 1),
    fetchMaxBytesPerPartition: count(
      'fetchMaxBytesPerPartition',
      config.fetchMaxBytesPerPartition,
      DEFAULT_FETCH_MAX_BYTES_PER_PARTITION,
      1,
    ),
    bufferedRecordsPerPartition: count(
      'bufferedRecordsPerPartition',
      config.bufferedRecordsPerPartition,
      1000,
      1,
    ),
    storeCacheMaxBytes: count('storeCacheMaxBytes', config.storeCacheMaxBytes, DEFAULT_CACHE_MAX_BYTES, 1),
    probingRebalanceIntervalMs: positive(
      'probingRebalanceIntervalMs',
      config.probingRebalanceIntervalMs,
      60_000,
    ),
    replicaPollIntervalMs: positive('replicaPollIntervalMs', config.replicaPollIntervalMs, 1_000),
    applicationServer: config.applicationServer,
    rackId: config.rackId,
    crashLoop: checkCrashLoop(config.crashLoop, config.processingErrors ?? 'fail'),
    retryBackoff: checkRetryBackoff(config.retryBackoff),
  };
}
