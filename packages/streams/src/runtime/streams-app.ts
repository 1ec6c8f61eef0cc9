// The streams app: one processing loop per process that consumes in a group, runs tasks, sends output and commits.
import { type ResolvedConfig, resolveConfig, type StreamsConfig } from '../config.js';
import { errorMessage, StreamsError } from '../errors.js';
import { kafkajsClientFactory } from '../kafka/kafkajs-adapter.js';
import type {
  BatchControl,
  ConsumerPort,
  FetchedBatch,
  KafkaClientFactory,
  ProducerPort,
  TopicPartitionOffset,
} from '../kafka/port.js';
import type { Topology } from '../topology/topology.js';
import { deadLetterTopicOf } from './error-handling.js';
import { RecordCollector } from './record-collector.js';
import { StreamTask, type TaskGraph } from './stream-task.js';

/** How often idle tasks are checked for due wall-clock punctuators. */
const WALL_CLOCK_TICK_MS = 50;

/** The app's lifecycle. ERROR is terminal like NOT_RUNNING, but says a failure stopped it. */
export type StreamsState =
  | 'CREATED'
  | 'REBALANCING'
  | 'RUNNING'
  | 'PENDING_SHUTDOWN'
  | 'NOT_RUNNING'
  | 'ERROR';

const TRANSITIONS: Record<StreamsState, StreamsState[]> = {
  CREATED: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  REBALANCING: ['RUNNING', 'PENDING_SHUTDOWN', 'ERROR'],
  RUNNING: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  PENDING_SHUTDOWN: ['NOT_RUNNING', 'ERROR'],
  NOT_RUNNING: [],
  ERROR: [],
};

export type StateListener = (next: StreamsState, previous: StreamsState) => void;
export type ErrorListener = (error: StreamsError) => void;

export interface StreamsAppOptions {
  /** Replaces the kafkajs clients (used by tests of the runtime itself). */
  clientFactory?: KafkaClientFactory;
}

/** Counters for monitoring and tests. */
export interface StreamsMetrics {
  processed: number;
  sent: number;
  commits: number;
}

export class StreamsApp {
  private readonly config: ResolvedConfig;
  private readonly graph: TaskGraph;
  private readonly factory: KafkaClientFactory;
  private readonly tasks = new Map<number, StreamTask>();
  private readonly pendingOffsets = new Map<string, TopicPartitionOffset>();
  private readonly stateListeners = new Set<StateListener>();
  private readonly errorListeners = new Set<ErrorListener>();
  private currentState: StreamsState = 'CREATED';
  private producer: ProducerPort | undefined;
  private consumer: ConsumerPort | undefined;
  private collector: RecordCollector | undefined;
  private lastCommit = Date.now();
  private processed = 0;
  private commits = 0;
  private stopping = false;
  private failure: StreamsError | undefined;
  private closing: Promise<void> | undefined;
  private batchInFlight: Promise<void> | undefined;
  /** Serializes batch processing and timer-driven punctuation: only one of them touches the tasks at a time. */
  private exclusive: Promise<void> = Promise.resolve();
  private wallClockTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly topology: Topology,
    config: StreamsConfig,
    options: StreamsAppOptions = {},
  ) {
    this.config = resolveConfig(config);
    this.graph = topology.seal();
    this.factory =
      options.clientFactory ??
      kafkajsClientFactory(
        {
          clientId: this.config.clientId,
          brokers: this.config.brokers,
          connectionTimeoutMs: this.config.connectionTimeoutMs,
          requestTimeoutMs: this.config.requestTimeoutMs,
          retryBudgetMs: this.config.startTimeoutMs,
        },
        this.config.clientLogLevel,
      );
  }

  get state(): StreamsState {
    return this.currentState;
  }

  /** The error that moved the app to ERROR, if any. */
  get error(): StreamsError | undefined {
    return this.failure;
  }

  get metrics(): StreamsMetrics {
    return { processed: this.processed, sent: this.collector?.sent ?? 0, commits: this.commits };
  }

  onStateChange(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Called once when a failure stops the app (after it has committed what was processed before it). */
  onError(listener: ErrorListener): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /**
   * Connects, checks the topics, joins the group and starts processing. Resolves once the first assignment
   * is received. Fails with BROKER_UNREACHABLE, TOPIC_MISSING or PARTITION_COUNT_MISMATCH, after which the
   * app is in ERROR and holds no connections.
   */
  async start(): Promise<void> {
    if (this.currentState !== 'CREATED') {
      throw new StreamsError('ILLEGAL_STATE', `start() needs state CREATED, the app is ${this.currentState}`);
    }
    this.transition('REBALANCING');
    try {
      await withTimeout(
        this.connectAndRun(),
        this.config.startTimeoutMs + 5_000,
        () =>
          new StreamsError(
            'BROKER_UNREACHABLE',
            `start did not finish within ${this.config.startTimeoutMs} ms`,
          ),
      );
    } catch (err) {
      const error =
        err instanceof StreamsError
          ? err
          : new StreamsError(
              'BROKER_UNREACHABLE',
              `could not reach Kafka at ${this.config.brokers.join(',')}: ${errorMessage(err)}`,
              { cause: err },
            );
      this.failure = error;
      await this.disconnectAll();
      this.transition('ERROR');
      throw error;
    }
  }

  /**
   * Stops fetching, finishes the running batch, sends its output, commits, and leaves the group.
   * Idempotent: later calls return the same promise.
   */
  close(timeoutMs = this.config.closeTimeoutMs): Promise<void> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  /** Closes the app on SIGTERM and SIGINT, then lets the process exit with `exitCode`. */
  closeOnSignals(exitCode = 0): () => void {
    const handler = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
      this.close().then(
        () => process.exit(this.failure ? 1 : exitCode),
        (err) => {
          process.stderr.write(`close after ${signal} failed: ${errorMessage(err)}\n`);
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
    return () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    };
  }

  private async connectAndRun(): Promise<void> {
    const admin = this.factory.admin();
    try {
      await admin.connect();
      await this.checkTopics(admin.partitionCounts.bind(admin));
    } finally {
      await admin.close().catch(() => undefined);
    }
    this.producer = this.factory.producer();
    this.collector = new RecordCollector(this.producer);
    await this.producer.connect();
    this.consumer = this.factory.consumer({
      groupId: this.config.applicationId,
      sessionTimeoutMs: this.config.sessionTimeoutMs,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      readCommitted: false,
      fromBeginning: this.config.autoOffsetReset === 'earliest',
      onGroupJoin: (assigned) => this.onAssignment(assigned),
      onCrash: (error) =>
        this.fail(
          new StreamsError('BROKER_UNREACHABLE', `the Kafka consumer failed: ${errorMessage(error)}`, {
            cause: error,
          }),
        ),
    });
    await this.consumer.connect();
    await this.consumer.subscribe(this.topology.sourceTopics());
    await this.consumer.run((batch, control) => this.trackBatch(batch, control));
    this.startWallClock();
  }

  private async checkTopics(
    partitionCounts: (topics: string[]) => Promise<Map<string, number>>,
  ): Promise<void> {
    const sources = this.topology.sourceTopics();
    const deadLetterTopics = [this.config.deserializationErrors, this.config.processingErrors].flatMap(
      (m) => deadLetterTopicOf(m) ?? [],
    );
    const sinks = [...this.topology.sinkTopics(), ...deadLetterTopics];
    const counts = await partitionCounts([...new Set([...sources, ...sinks])]);
    const missing = [...sources, ...sinks].filter((t) => !counts.has(t));
    if (missing.length > 0) {
      throw new StreamsError(
        'TOPIC_MISSING',
        `topic(s) ${[...new Set(missing)].join(', ')} do not exist; create them before starting the app`,
      );
    }
    const sourceCounts = sources.map((t) => [t, counts.get(t)!] as const);
    const first = sourceCounts[0]!;
    const mismatch = sourceCounts.find(([, n]) => n !== first[1]);
    if (mismatch) {
      throw new StreamsError(
        'PARTITION_COUNT_MISMATCH',
        `co-partitioned source topics must have the same partition count: ${sourceCounts
          .map(([t, n]) => `${t}=${n}`)
          .join(', ')}`,
      );
    }
  }

  private onAssignment(assigned: { topic: string; partition: number }[]): void {
    const owned = new Set(assigned.map((a) => `${a.topic}:${a.partition}`));
    const partitions = new Set(assigned.map((a) => a.partition));
    for (const [partition, task] of this.tasks) {
      if (!partitions.has(partition)) {
        task.close();
        this.tasks.delete(partition);
        continue;
      }
      for (const topic of this.topology.sourceTopics())
        if (!owned.has(`${topic}:${partition}`)) task.revoke(topic);
    }
    // Offsets of partitions we no longer own cannot be committed by us any more: the new owner replays them.
    for (const [key, o] of this.pendingOffsets)
      if (!partitions.has(o.partition)) this.pendingOffsets.delete(key);
    if (this.currentState === 'REBALANCING') this.transition('RUNNING');
  }

  private taskFor(partition: number): StreamTask {
    let task = this.tasks.get(partition);
    if (!task) {
      task = new StreamTask({
        applicationId: this.config.applicationId,
        partition,
        graph: this.graph,
        collector: this.collector!,
        deserializationErrors: this.config.deserializationErrors,
        processingErrors: this.config.processingErrors,
        logger: this.config.logger,
      });
      this.tasks.set(partition, task);
    }
    return task;
  }

  private runExclusive(work: () => Promise<void>): Promise<void> {
    const run = this.exclusive.then(work);
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  /** Wall-clock punctuators must fire while no input arrives too. */
  private startWallClock(): void {
    this.wallClockTimer = setInterval(() => {
      if (this.stopping || this.failure || this.batchInFlight) return;
      void this.runExclusive(async () => {
        let fired = 0;
        try {
          for (const task of this.tasks.values()) fired += task.punctuateWallClock();
          if (fired > 0) await this.collector!.flush();
        } catch (err) {
          this.fail(
            err instanceof StreamsError
              ? err
              : new StreamsError('PROCESSING_FAILED', errorMessage(err), { cause: err }),
          );
        }
      });
    }, WALL_CLOCK_TICK_MS);
    this.wallClockTimer.unref();
  }

  private trackBatch(batch: FetchedBatch, control: BatchControl): Promise<void> {
    const run = this.runExclusive(() => this.processBatch(batch, control));
    this.batchInFlight = run;
    return run.finally(() => {
      if (this.batchInFlight === run) this.batchInFlight = undefined;
    });
  }

  /** Processes a fetched batch synchronously, sends its output in one request, and commits when due. */
  private async processBatch(batch: FetchedBatch, control: BatchControl): Promise<void> {
    if (this.stopping || this.failure || batch.records.length === 0) return;
    const task = this.taskFor(batch.partition);
    task.addRecords(batch.topic, batch.records);
    // Fetching continues after the buffered records; offsets are committed only up to processed ones.
    control.markConsumed(batch.records[batch.records.length - 1]!.offset);
    let failed: StreamsError | undefined;
    try {
      this.processed += task.process(() => !this.stopping && control.isActive());
      task.punctuateWallClock();
    } catch (err) {
      failed =
        err instanceof StreamsError
          ? err
          : new StreamsError('PROCESSING_FAILED', errorMessage(err), { cause: err });
    }
    this.recordPositions(task);
    try {
      const due =
        failed !== undefined ||
        this.stopping ||
        task.takeCommitRequest() ||
        Date.now() - this.lastCommit >= this.config.commitIntervalMs;
      if (due) await this.commit();
      else await this.collector!.flush();
      await control.heartbeat().catch(() => undefined);
    } catch (err) {
      failed ??=
        err instanceof StreamsError
          ? err
          : new StreamsError('COMMIT_FAILED', errorMessage(err), { cause: err });
    }
    // Never throw into the client: it would restart the consumer and refetch the same record in a hot loop.
    if (failed) this.fail(failed);
  }

  /** Offsets to commit for a task: one past the last record it consumed, per source partition. */
  private recordPositions(task: StreamTask): void {
    for (const [topic, offset] of task.consumedPositions) {
      this.pendingOffsets.set(`${topic}:${task.partition}`, {
        topic,
        partition: task.partition,
        offset: (BigInt(offset) + 1n).toString(),
      });
    }
  }

  /** Output first, then offsets: an offset is only committed once every output it covers is acknowledged. */
  private async commit(): Promise<void> {
    await this.collector!.flush();
    const offsets = [...this.pendingOffsets.values()];
    if (offsets.length > 0) {
      try {
        await this.consumer!.commit(offsets);
      } catch (cause) {
        throw new StreamsError('COMMIT_FAILED', `committing offsets failed: ${errorMessage(cause)}`, {
          cause,
        });
      }
      for (const o of offsets) {
        const key = `${o.topic}:${o.partition}`;
        if (this.pendingOffsets.get(key) === o) this.pendingOffsets.delete(key);
      }
      this.commits++;
    }
    this.lastCommit = Date.now();
  }

  private fail(error: StreamsError): void {
    if (this.failure || this.closing) return;
    this.failure = error;
    for (const l of this.errorListeners) l(error);
    // Closing waits for the running batch, so it must not be awaited from inside it.
    setImmediate(() => {
      this.close().catch(() => undefined);
    });
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    if (this.currentState === 'NOT_RUNNING' || this.currentState === 'ERROR') return;
    this.transition('PENDING_SHUTDOWN');
    this.stopping = true;
    clearInterval(this.wallClockTimer);
    const work = (async () => {
      await this.batchInFlight?.catch(() => undefined);
      await this.exclusive;
      if (this.consumer && this.collector && !this.failure) await this.commit();
      else if (this.consumer && this.collector) await this.commit().catch(() => undefined);
      await this.consumer?.stop();
    })();
    let timedOut = false;
    try {
      await withTimeout(work, timeoutMs, () => {
        timedOut = true;
        return new StreamsError('CLOSE_TIMEOUT', `close did not finish within ${timeoutMs} ms`);
      });
    } catch (err) {
      this.failure ??=
        err instanceof StreamsError
          ? err
          : new StreamsError('COMMIT_FAILED', errorMessage(err), { cause: err });
    } finally {
      for (const task of this.tasks.values()) task.close();
      this.tasks.clear();
      await this.disconnectAll();
      this.transition(this.failure ? 'ERROR' : 'NOT_RUNNING');
    }
    if (timedOut) throw this.failure;
  }

  private async disconnectAll(): Promise<void> {
    await Promise.allSettled([this.consumer?.close(), this.producer?.close()]);
  }

  private transition(next: StreamsState): void {
    const previous = this.currentState;
    if (previous === next) return;
    if (!TRANSITIONS[previous].includes(next)) {
      throw new StreamsError('ILLEGAL_STATE', `illegal state transition ${previous} -> ${next}`);
    }
    this.currentState = next;
    for (const l of this.stateListeners) l(next, previous);
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
