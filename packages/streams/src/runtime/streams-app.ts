// The streams app: configuration, lifecycle and listeners of one instance; the parts it runs do the work.

import { randomUUID } from 'node:crypto';
import { eddyGroupProtocol, loadOrCreateProcessId } from '@eddy/assignor';
import { type ResolvedConfig, resolveConfig, type StreamsConfig } from '../config.js';
import { errorMessage, StreamsError } from '../errors.js';
import { kafkajsClientFactory } from '../kafka/kafkajs/index.js';
import type {
  AdminPort,
  ChangelogReaderPort,
  ConsumerPort,
  KafkaClientFactory,
  ProducerPort,
} from '../kafka/port.js';
import type { Serializer } from '../serdes/serde.js';
import type { SealedTopology, Topology } from '../topology/topology.js';
import { AtLeastOnceCommit } from './commit/at-least-once-commit.js';
import type { CommitPhase, CommitProtocol } from './commit/commit-protocol.js';
import { ExactlyOnceCommit } from './commit/exactly-once-commit.js';
import { PendingOffsets } from './commit/pending-offsets.js';
import { deadLetterTopicOf } from './error-handling.js';
import type { KeyQueryMetadata, StreamsMetadata } from './query-metadata.js';
import { RebalanceHandler, type TaskAssignment } from './rebalance-handler.js';
import { RecordCollector } from './record-collector.js';
import { RepartitionPurger } from './repartition-purger.js';
import { ReplicaManager } from './replica-manager.js';
import { asStreamsError, StreamThread } from './stream-thread.js';
import type { TaskId } from './task-id.js';
import { scanLocalState, TaskLags } from './task-lags.js';
import { TaskManager } from './task-manager.js';
import { ensureInternalTopics, resolveTopicLayout, type TopicLayout } from './topic-layout.js';

export type { CommitPhase } from './commit/commit-protocol.js';
export type { TaskAssignment } from './rebalance-handler.js';

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

/** Told each time the group assigns this instance its tasks. */
export type AssignmentListener = (assignment: TaskAssignment) => void;
export type ErrorListener = (error: StreamsError) => void;

export interface StreamsAppOptions {
  /** Replaces the kafkajs clients (used by tests of the runtime itself). */
  clientFactory?: KafkaClientFactory;
  /** Called between the steps of each commit that writes state; for crash tests. */
  onCommitPhase?: (phase: CommitPhase) => void;
}

/** Counters for monitoring and tests. */
export interface StreamsMetrics {
  processed: number;
  sent: number;
  commits: number;
  /** Tasks still restoring their stores (the instance is not ready while this is above 0). */
  restoringTasks: number;
  /** Changelog records written. */
  changelogRecords: number;
  /** Assignments received (group joins), and the group generation of the last one. */
  rebalances: number;
  generationId: number;
  /** Standby and warm-up replicas this instance runs. */
  standbyTasks: number;
  warmupTasks: number;
  /** Rebalances this instance asked for because its warm-up replicas caught up or the probing interval passed. */
  probingRebalances: number;
}

export interface CloseOptions {
  /** Bound for the whole close; default `closeTimeoutMs`. */
  timeoutMs?: number;
  /**
   * Whether to leave the consumer group. Default: yes for a dynamic member; no for a static member (one with an
   * `instanceId`), whose restart should not move its tasks. Pass true when the instance goes away for good.
   */
  leaveGroup?: boolean;
}

/** Raised inside start when close() was called meanwhile: start stops at its next step. */
class StartAborted extends Error {}

/** Everything one start creates; released together. */
interface Parts {
  admin?: AdminPort;
  producer?: ProducerPort;
  collector?: RecordCollector;
  reader?: ChangelogReaderPort;
  replicaReader?: ChangelogReaderPort;
  replicas?: ReplicaManager;
  lags?: TaskLags;
  layout?: TopicLayout;
  tasks?: TaskManager;
  commit?: CommitProtocol;
  rebalance?: RebalanceHandler;
  consumer?: ConsumerPort;
  thread?: StreamThread;
}

export class StreamsApp {
  private readonly config: ResolvedConfig;
  private readonly graph: SealedTopology;
  private readonly factory: KafkaClientFactory;
  private readonly onCommitPhase: ((phase: CommitPhase) => void) | undefined;
  private readonly stateListeners = new Set<StateListener>();
  private readonly errorListeners = new Set<ErrorListener>();
  private readonly assignmentListeners = new Set<AssignmentListener>();
  private currentState: StreamsState = 'CREATED';
  private parts: Parts = {};
  private failure: StreamsError | undefined;
  /** Settles when start() has finished, including the clean-up of a failed or aborted start. */
  private starting: Promise<void> | undefined;
  private running = false;
  private closeOptions: CloseOptions | undefined;
  private closing: Promise<void> | undefined;
  private closeRequested: (() => void) | undefined;
  /** Set once start gave up (failed, timed out or closed): its remaining steps stop. */
  private aborted = false;

  constructor(
    private readonly topology: Topology,
    config: StreamsConfig,
    options: StreamsAppOptions = {},
  ) {
    this.onCommitPhase = options.onCommitPhase;
    this.config = resolveConfig(config);
    this.graph = topology.seal(this.config.applicationId);
    this.factory =
      options.clientFactory ??
      kafkajsClientFactory({
        clientId: this.config.clientId,
        brokers: this.config.brokers,
        connectionTimeoutMs: this.config.connectionTimeoutMs,
        requestTimeoutMs: this.config.requestTimeoutMs,
        retryBudgetMs: this.config.startTimeoutMs,
        logLevel: this.config.clientLogLevel,
        metadataMaxAgeMs: this.config.metadataMaxAgeMs,
        ...(this.config.ssl === undefined ? {} : { ssl: this.config.ssl }),
        ...(this.config.sasl === undefined ? {} : { sasl: this.config.sasl }),
      });
  }

  get state(): StreamsState {
    return this.currentState;
  }

  /** The error that moved the app to ERROR, if any. */
  get error(): StreamsError | undefined {
    return this.failure;
  }

  get metrics(): StreamsMetrics {
    const { collector, commit, tasks, rebalance, thread } = this.parts;
    return {
      processed: thread?.processed ?? 0,
      sent: collector?.sent ?? 0,
      commits: commit?.commits ?? 0,
      restoringTasks: tasks?.restoring ?? 0,
      rebalances: rebalance?.rebalances ?? 0,
      generationId: rebalance?.generationId ?? -1,
      changelogRecords: commit?.changelogRecords ?? 0,
      standbyTasks: rebalance?.assignment?.standby.length ?? 0,
      warmupTasks: rebalance?.assignment?.warmup.length ?? 0,
      probingRebalances: rebalance?.probingRebalances ?? 0,
    };
  }

  onStateChange(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Where key `key` of store `storeName` lives: its task, and the `applicationServer` endpoints of the instances
   * running it as active and as standby. `keySerializer` must produce the bytes the input topic is partitioned by
   * (default: the key is those bytes). Needs an assignment (ILLEGAL_STATE before); UNKNOWN_STORE for a store the
   * topology does not have.
   */
  queryMetadataForKey<K>(storeName: string, key: K, keySerializer?: Serializer<K>): KeyQueryMetadata {
    const bytes = keySerializer === undefined ? key : keySerializer.serialize(key);
    if (!(bytes instanceof Uint8Array)) {
      throw new StreamsError(
        'SERIALIZATION_FAILED',
        'queryMetadataForKey needs the key as bytes, or a keySerializer that turns it into bytes',
      );
    }
    return this.routing().forKey(storeName, bytes);
  }

  /** Every instance of the application that set `applicationServer`, with its active and standby tasks. */
  allMetadata(): StreamsMetadata[] {
    return this.routing().all();
  }

  private routing() {
    const routing = this.parts.rebalance?.queryMetadata;
    if (routing === undefined) {
      throw new StreamsError(
        'ILLEGAL_STATE',
        'no assignment yet: query metadata exists once the app has joined',
      );
    }
    return routing;
  }

  onAssignment(listener: AssignmentListener): () => void {
    this.assignmentListeners.add(listener);
    return () => this.assignmentListeners.delete(listener);
  }

  /** Called once when a failure stops the app: a failed start, or a failure while running (after it committed). */
  onError(listener: ErrorListener): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /**
   * Connects, checks the topics, joins the group and starts processing. Resolves once the first assignment
   * is received. Fails with BROKER_UNREACHABLE, TOPIC_MISSING or PARTITION_COUNT_MISMATCH (the app is then in ERROR
   * and onError listeners are told), or with CLOSED_DURING_START when close() was called meanwhile; either way the
   * app holds no connection and no group membership afterwards.
   */
  start(): Promise<void> {
    if (this.currentState !== 'CREATED') {
      return Promise.reject(
        new StreamsError('ILLEGAL_STATE', `start() needs state CREATED, the app is ${this.currentState}`),
      );
    }
    this.transition('REBALANCING');
    this.starting = this.startAndCleanUp();
    return this.starting;
  }

  private async startAndCleanUp(): Promise<void> {
    const closed = new Promise<never>((_, reject) => {
      this.closeRequested = () => reject(new StartAborted());
    });
    closed.catch(() => undefined);
    const work = this.connectAndRun();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StreamsError(
              'BROKER_UNREACHABLE',
              `start did not finish within ${this.config.startTimeoutMs} ms`,
            ),
          ),
        this.config.startTimeoutMs + 5_000,
      );
    });
    try {
      await Promise.race([work, timeout, closed]);
      if (this.closing !== undefined) throw new StartAborted();
      this.running = true;
    } catch (err) {
      // Release what start created so far (this also interrupts a call in progress), wait for start to notice, then
      // release what it created meanwhile.
      this.aborted = true;
      await this.release();
      await settleWithin(work, this.config.closeTimeoutMs);
      await this.release();
      // A failure reported while starting (e.g. the consumer crashed) closed the app: start fails with it.
      if (this.failure !== undefined) throw this.failure;
      if (err instanceof StartAborted || this.closing !== undefined) {
        throw new StreamsError('CLOSED_DURING_START', 'close() was called while start() was running');
      }
      const error =
        err instanceof StreamsError
          ? err
          : new StreamsError(
              'BROKER_UNREACHABLE',
              `could not reach Kafka at ${this.config.brokers.join(',')}: ${errorMessage(err)}`,
              { cause: err },
            );
      this.failure = error;
      this.transition('ERROR');
      this.notifyError(error);
      throw error;
    } finally {
      clearTimeout(timer);
      this.closeRequested = undefined;
    }
  }

  /** Throws StartAborted once start was given up; called after every step of start that awaited. */
  private checkStart(): void {
    if (this.aborted || this.closing !== undefined) throw new StartAborted();
  }

  /**
   * Stops fetching, finishes the running batch, sends its output, commits, and leaves the group.
   * Idempotent: later calls return the same promise, and the first call's options hold.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closeOptions ??= options;
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Closes the app on SIGTERM and SIGINT (with `options`), then exits the process: 0, or 1 after a failure. */
  closeOnSignals(options: CloseOptions = {}): () => void {
    const handler = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
      this.close(options).then(
        () => process.exit(this.failure ? 1 : 0),
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

  private get leaveGroup(): boolean {
    return this.closeOptions?.leaveGroup ?? (this.config.instanceId === undefined || !this.running);
  }

  private async connectAndRun(): Promise<void> {
    const { config, graph, parts } = this;
    const admin = this.factory.admin();
    parts.admin = admin;
    await admin.connect();
    this.checkStart();
    const layout = await this.checkTopics(admin);
    parts.layout = layout;
    this.checkStart();
    await ensureInternalTopics(admin, [...layout.repartitionTopics, ...layout.changelogTopics]);
    this.checkStart();
    const producer = this.factory.producer();
    parts.producer = producer;
    parts.collector = new RecordCollector(producer);
    await producer.connect();
    this.checkStart();
    // A private group per process run: the restore consumer must never share a group with another instance.
    parts.reader = this.factory.changelogReader(`${config.applicationId}.restore.${randomUUID()}`);
    if (layout.statefulTasks.length > 0) {
      // What this instance reports at its first join: the state already on its volume, against the changelog ends.
      const changelogsOf = new Map(
        layout.statefulTasks.map((id) => [
          id,
          layout.changelogTopics.filter((t) => t.subtopology === id.subtopology).map((t) => t.topic),
        ]),
      );
      const lags = new TaskLags(changelogsOf);
      await scanLocalState(lags, config, graph, layout.statefulTasks);
      this.checkStart();
      await lags.refreshEnds(admin);
      this.checkStart();
      parts.lags = lags;
      parts.replicaReader = this.factory.changelogReader(`${config.applicationId}.replicas.${randomUUID()}`);
      parts.replicas = new ReplicaManager({
        config,
        graph,
        admin,
        reader: parts.replicaReader,
        lags,
        onCaughtUp: () => parts.rebalance?.probeIfWarm(),
      });
    }
    const tasks = new TaskManager({
      config,
      graph,
      collector: parts.collector,
      admin,
      reader: parts.reader,
      factory: this.factory,
      onStateClosing: (id, positions) => parts.lags?.record(id, positions),
    });
    parts.tasks = tasks;
    // The process id lives on the state volume, so it follows the pod's state across restarts.
    const { processId } = await loadOrCreateProcessId(config.stateDir, { onCorrupt: 'regenerate' });
    this.checkStart();
    const rebalance = new RebalanceHandler({
      config,
      graph,
      layout,
      lags: parts.lags,
      identity: config.instanceId ?? processId,
      processId,
      onAssignment: (assignment) => {
        if (this.currentState === 'REBALANCING') this.transition('RUNNING');
        for (const l of this.assignmentListeners) l(assignment);
      },
      onFailure: (error) => this.fail(error),
    });
    parts.rebalance = rebalance;
    // Every source topic, internal ones included, with the partition count its subtopology was started with.
    const expectedPartitions = new Map(
      graph.subtopologies.flatMap((sub) =>
        sub.sourceTopics.map((t) => [t, layout.partitions.get(sub.id)!] as const),
      ),
    );
    const protocol = eddyGroupProtocol({
      topicGroups: graph.subtopologies.map((sub) => ({
        subtopology: sub.id,
        sourceTopics: sub.sourceTopics,
        stateful: sub.stores.length > 0,
      })),
      subscription: () => rebalance.subscription(),
      assignmentOptions: {
        numStandbyReplicas: config.numStandbyReplicas,
        acceptableRecoveryLag: config.acceptableRecoveryLag,
        maxWarmupReplicas: config.maxWarmupReplicas,
      },
      expectedPartitions,
      onAssignmentError: (code, reason) =>
        config.logger.error('as group leader, assigned no tasks', { code, reason }),
    });
    const consumer = this.factory.consumer({
      groupId: config.applicationId,
      protocol,
      sessionTimeoutMs: config.sessionTimeoutMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      readCommitted: config.processingGuarantee === 'exactly-once',
      fromBeginning: config.autoOffsetReset === 'earliest',
      onGroupJoin: (join) => rebalance.onGroupJoin(join),
      onCoordinatorWait: ({ reason, attempt, retryInMs }) =>
        config.logger.warn('waiting for the group coordinator before joining the group', {
          groupId: config.applicationId,
          reason,
          attempt,
          retryInMs,
          startTimeoutMs: config.startTimeoutMs,
        }),
      ...(config.instanceId === undefined ? {} : { groupInstanceId: config.instanceId }),
      onCrash: (error) =>
        this.fail(
          new StreamsError('BROKER_UNREACHABLE', `the Kafka consumer failed: ${errorMessage(error)}`, {
            cause: error,
          }),
        ),
    });
    parts.consumer = consumer;
    const offsets = new PendingOffsets();
    let thread: StreamThread | undefined;
    // A task a newer owner fenced: its records are ignored until the rejoin this asks for assigns the tasks again.
    const onTaskMigrated = (id: TaskId) => {
      thread?.suspend(id);
      consumer.requestRejoin();
    };
    const commit: CommitProtocol =
      config.processingGuarantee === 'exactly-once'
        ? new ExactlyOnceCommit({
            tasks,
            consumer,
            offsets,
            logger: config.logger,
            onTaskMigrated,
          })
        : new AtLeastOnceCommit({
            tasks,
            offsets,
            consumer,
            collector: parts.collector,
            logger: config.logger,
            onCommitPhase: this.onCommitPhase,
            onTaskMigrated,
          });
    parts.commit = commit;
    thread = new StreamThread({
      config,
      graph,
      tasks,
      offsets,
      commit,
      consumer,
      replicas: parts.replicas,
      purger: new RepartitionPurger(
        admin,
        new Set(layout.repartitionTopics.map((t) => t.topic)),
        config.logger,
        config.repartitionPurgeIntervalMs,
      ),
      onFailure: (error) => this.fail(error),
    });
    parts.thread = thread;
    rebalance.attach(consumer, thread);
    await consumer.connect();
    this.checkStart();
    await consumer.subscribe([...graph.subtopologyOfTopic.keys()]);
    this.checkStart();
    await thread.run();
    this.checkStart();
  }

  /**
   * Checks that every user topic exists and works out the partition count of every subtopology (throws
   * TOPIC_MISSING or PARTITION_COUNT_MISMATCH).
   */
  private async checkTopics(admin: AdminPort): Promise<TopicLayout> {
    const sources = this.topology.sourceTopics();
    const deadLetterTopics = [this.config.deserializationErrors, this.config.processingErrors].flatMap(
      (m) => deadLetterTopicOf(m) ?? [],
    );
    const sinks = [...this.topology.sinkTopics(), ...deadLetterTopics];
    const counts = await admin.partitionCounts([...new Set([...sources, ...sinks])]);
    const missing = [...sources, ...sinks].filter((t) => !counts.has(t));
    if (missing.length > 0) {
      throw new StreamsError(
        'TOPIC_MISSING',
        `topic(s) ${[...new Set(missing)].join(', ')} do not exist; create them before starting the app`,
      );
    }
    return resolveTopicLayout(this.graph, counts);
  }

  private fail(error: StreamsError): void {
    if (this.failure || this.closing) return;
    this.failure = error;
    this.parts.rebalance?.stop();
    this.notifyError(error);
    // Closing waits for the running batch, so it must not be awaited from inside it.
    setImmediate(() => {
      this.close().catch(() => undefined);
    });
  }

  private notifyError(error: StreamsError): void {
    for (const l of this.errorListeners) {
      try {
        l(error);
      } catch (err) {
        this.config.logger.error('an error listener threw', { error: errorMessage(err) });
      }
    }
  }

  private async shutdown(): Promise<void> {
    const timeoutMs = this.closeOptions?.timeoutMs ?? this.config.closeTimeoutMs;
    if (this.currentState === 'NOT_RUNNING' || this.currentState === 'ERROR') return;
    this.transition('PENDING_SHUTDOWN');
    if (!this.running) {
      // start() is under way (or never ran): it stops at its next step and releases what it created.
      this.closeRequested?.();
      await this.starting?.catch(() => undefined);
      if (this.currentState === 'PENDING_SHUTDOWN') this.transition(this.failure ? 'ERROR' : 'NOT_RUNNING');
      return;
    }
    this.parts.rebalance?.stop();
    const { thread, consumer } = this.parts;
    const work = (async () => {
      await thread?.stop({ bestEffort: this.failure !== undefined });
      await consumer?.stop({ leaveGroup: this.leaveGroup });
    })();
    let timedOut = false;
    try {
      await withTimeout(work, timeoutMs, () => {
        timedOut = true;
        return new StreamsError('CLOSE_TIMEOUT', `close did not finish within ${timeoutMs} ms`);
      });
    } catch (err) {
      // The final commit (or leaving the group) failed: what was processed since the last commit replays.
      if (this.failure === undefined) {
        this.failure = asStreamsError(err, 'COMMIT_FAILED');
        this.config.logger.error('closing failed; input since the last commit replays after a restart', {
          code: this.failure.code,
          error: this.failure.message,
        });
        this.notifyError(this.failure);
      }
    } finally {
      await this.release();
      this.transition(this.failure ? 'ERROR' : 'NOT_RUNNING');
    }
    if (timedOut) throw this.failure;
  }

  /** Closes replicas and tasks (releasing the task locks; uncommitted work is dropped) and every client. */
  private async release(): Promise<void> {
    const { replicas, tasks, consumer, producer, reader, replicaReader, admin } = this.parts;
    await replicas
      ?.close()
      .catch((err) => this.config.logger.error('closing replicas failed', { error: errorMessage(err) }));
    await tasks
      ?.closeAll()
      .catch((err) => this.config.logger.error('closing tasks failed', { error: errorMessage(err) }));
    await Promise.allSettled([
      consumer?.close({ leaveGroup: this.leaveGroup }),
      producer?.close(),
      reader?.close(),
      replicaReader?.close(),
      admin?.close(),
    ]);
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

/** Waits for `work` to settle, at most `ms`. */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
