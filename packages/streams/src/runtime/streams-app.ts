// The streams app: one processing loop per process that consumes in a group, runs tasks, sends output and commits.

import { randomUUID } from 'node:crypto';
import { type DecodedAssignment, loadOrCreateProcessId, parseTaskId, partitionsOf } from '@eddy/assignor';
import { type ResolvedConfig, resolveConfig, type StreamsConfig } from '../config.js';
import { errorMessage, StreamsError } from '../errors.js';
import { kafkajsClientFactory } from '../kafka/kafkajs-adapter.js';
import type {
  AdminPort,
  BatchControl,
  ChangelogReaderPort,
  ConsumerPort,
  FetchedBatch,
  GroupJoin,
  KafkaClientFactory,
  ProducerPort,
  TopicPartitionOffset,
} from '../kafka/port.js';
import type { Serializer } from '../serdes/serde.js';
import type { SealedTopology, Topology } from '../topology/topology.js';
import { changelogTopicSpecs, ensureChangelogTopics } from './changelog-topics.js';
import { deadLetterTopicOf } from './error-handling.js';
import { type KeyQueryMetadata, QueryMetadata, type StreamsMetadata } from './query-metadata.js';
import { RecordCollector } from './record-collector.js';
import { ReplicaManager } from './replica-manager.js';
import type { StreamTask } from './stream-task.js';
import { scanLocalState, TaskLags } from './task-lags.js';
import { TaskManager } from './task-manager.js';

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
/** What the group gave this instance in one generation. Task ids are `0_<partition>`, sorted. */
export interface TaskAssignment {
  generationId: number;
  /** Tasks this instance processes. */
  active: string[];
  /** Replicas kept current so that this instance can take the task over with only the tail to restore. */
  standby: string[];
  /** Replicas catching up before a later (probing) rebalance moves the task here. */
  warmup: string[];
}

/** Told each time the group assigns this instance its tasks. */
export type AssignmentListener = (assignment: TaskAssignment) => void;
export type ErrorListener = (error: StreamsError) => void;

/** The points between the steps of a commit, for fault-injection tests of the commit protocol. */
export type CommitPhase = 'outputs-acked' | 'changelog-acked' | 'state-written';

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

export class StreamsApp {
  private readonly config: ResolvedConfig;
  private readonly graph: SealedTopology;
  private readonly factory: KafkaClientFactory;
  private tasks: TaskManager | undefined;
  private admin: AdminPort | undefined;
  private reader: ChangelogReaderPort | undefined;
  private replicaReader: ChangelogReaderPort | undefined;
  private replicas: ReplicaManager | undefined;
  private lags: TaskLags | undefined;
  private partitionCount = 0;
  /** Partitions of the active tasks of the current generation; they report lag 0. */
  private activePartitions = new Set<number>();
  private ownAssignment: DecodedAssignment | undefined;
  private assignedAt = 0;
  private queryMetadata: QueryMetadata | undefined;
  /** The warm-up set a catch-up rejoin was asked for, so that the same set is not asked for again at once. */
  private probedWarmups: string | undefined;
  private probingRequestedAt = -1;
  private probingRebalances = 0;
  private changelogRecords = 0;
  private rebalances = 0;
  private generationId = -1;
  private leaveGroup = true;
  private readonly pendingOffsets = new Map<string, TopicPartitionOffset>();
  private readonly stateListeners = new Set<StateListener>();
  private readonly errorListeners = new Set<ErrorListener>();
  private readonly assignmentListeners = new Set<AssignmentListener>();
  private currentState: StreamsState = 'CREATED';
  private producer: ProducerPort | undefined;
  private consumer: ConsumerPort | undefined;
  private collector: RecordCollector | undefined;
  private lastCommit = Date.now();
  private processed = 0;
  private commits = 0;
  /** Exactly-once: a transaction was refused as from a stale generation; input waits for the next join. */
  private awaitingRejoin = false;
  private stopping = false;
  private failure: StreamsError | undefined;
  private closing: Promise<void> | undefined;
  private batchInFlight: Promise<void> | undefined;
  /** Serializes batch processing and timer-driven punctuation: only one of them touches the tasks at a time. */
  private exclusive: Promise<void> = Promise.resolve();
  private wallClockTimer: NodeJS.Timeout | undefined;

  private readonly onCommitPhase: ((phase: CommitPhase) => void) | undefined;

  constructor(
    private readonly topology: Topology,
    config: StreamsConfig,
    options: StreamsAppOptions = {},
  ) {
    this.onCommitPhase = options.onCommitPhase;
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
    return {
      processed: this.processed,
      sent: this.collector?.sent ?? 0,
      commits: this.commits,
      restoringTasks: this.tasks?.restoring ?? 0,
      rebalances: this.rebalances,
      generationId: this.generationId,
      changelogRecords: this.changelogRecords,
      standbyTasks: this.ownAssignment?.standby.length ?? 0,
      warmupTasks: this.ownAssignment?.warmup.length ?? 0,
      probingRebalances: this.probingRebalances,
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

  private routing(): QueryMetadata {
    if (this.queryMetadata === undefined) {
      throw new StreamsError(
        'ILLEGAL_STATE',
        'no assignment yet: query metadata exists once the app has joined',
      );
    }
    return this.queryMetadata;
  }

  onAssignment(listener: AssignmentListener): () => void {
    this.assignmentListeners.add(listener);
    return () => this.assignmentListeners.delete(listener);
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
  close(options: CloseOptions = {}): Promise<void> {
    this.leaveGroup = options.leaveGroup ?? this.config.instanceId === undefined;
    this.closing ??= this.shutdown(options.timeoutMs ?? this.config.closeTimeoutMs);
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

  private async connectAndRun(): Promise<void> {
    const admin = this.factory.admin();
    this.admin = admin;
    await admin.connect();
    const partitions = await this.checkTopics(admin.partitionCounts.bind(admin));
    const changelogs = changelogTopicSpecs(this.config.applicationId, this.graph.stores, partitions);
    await ensureChangelogTopics(admin, changelogs);
    this.producer = this.factory.producer();
    this.collector = new RecordCollector(this.producer);
    await this.producer.connect();
    // A private group per process run: the restore consumer must never share a group with another instance.
    this.reader = this.factory.changelogReader(`${this.config.applicationId}.restore.${randomUUID()}`);
    this.partitionCount = partitions;
    const stateful = this.graph.stores.length > 0;
    if (stateful) {
      // What this instance reports at its first join: the state already on its volume, against the changelog ends.
      const lags = new TaskLags(
        changelogs.map((t) => t.topic),
        partitions,
      );
      await scanLocalState(lags, this.config, this.graph, partitions);
      await lags.refreshEnds(admin);
      this.lags = lags;
      this.replicaReader = this.factory.changelogReader(
        `${this.config.applicationId}.replicas.${randomUUID()}`,
      );
      this.replicas = new ReplicaManager({
        config: this.config,
        graph: this.graph,
        admin,
        reader: this.replicaReader,
        lags,
        onCaughtUp: () => this.probeIfWarm(),
      });
    }
    this.tasks = new TaskManager({
      config: this.config,
      graph: this.graph,
      collector: this.collector,
      admin,
      reader: this.reader,
      factory: this.factory,
      onStateClosing: (partition, positions) => this.lags?.record(partition, positions),
    });
    // The process id lives on the state volume, so it follows the pod's state across restarts.
    const { processId } = await loadOrCreateProcessId(this.config.stateDir, { onCorrupt: 'regenerate' });
    const identity = this.config.instanceId ?? processId;
    const { applicationServer, rackId } = this.config;
    this.consumer = this.factory.consumer({
      groupId: this.config.applicationId,
      // Called at every join: active tasks report lag 0, replicas and state left on the volume their distance from
      // the changelog ends, and tasks without local state their whole changelog.
      subscription: () => ({
        identity,
        processId,
        taskLags: this.lags?.lags(this.activePartitions) ?? new Map(),
        ...(applicationServer === undefined ? {} : { endpoint: applicationServer }),
        ...(rackId === undefined ? {} : { rack: rackId }),
      }),
      assignmentOptions: {
        numStandbyReplicas: this.config.numStandbyReplicas,
        acceptableRecoveryLag: this.config.acceptableRecoveryLag,
        maxWarmupReplicas: this.config.maxWarmupReplicas,
      },
      statefulTasks: stateful,
      sessionTimeoutMs: this.config.sessionTimeoutMs,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      readCommitted: this.config.processingGuarantee === 'exactly-once',
      fromBeginning: this.config.autoOffsetReset === 'earliest',
      onGroupJoin: (join) => this.onGroupJoin(join),
      onCoordinatorWait: ({ reason, attempt, retryInMs }) =>
        this.config.logger.warn('waiting for the group coordinator before joining the group', {
          groupId: this.config.applicationId,
          reason,
          attempt,
          retryInMs,
          startTimeoutMs: this.config.startTimeoutMs,
        }),
      ...(this.config.instanceId === undefined ? {} : { groupInstanceId: this.config.instanceId }),
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

  /** Checks that every topic exists and the sources are co-partitioned; returns their partition count. */
  private async checkTopics(
    partitionCounts: (topics: string[]) => Promise<Map<string, number>>,
  ): Promise<number> {
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
    return first[1];
  }

  private onGroupJoin({ assigned, generationId, assignment }: GroupJoin): void {
    this.rebalances++;
    this.awaitingRejoin = false;
    this.generationId = generationId;
    this.ownAssignment = assignment;
    this.assignedAt = Date.now();
    this.activePartitions = new Set(assigned.map((a) => a.partition));
    if (assignment !== undefined) {
      this.queryMetadata = new QueryMetadata(
        assignment.hostOf,
        this.graph.stores.map((s) => s.name),
        this.partitionCount,
      );
    }
    const replicaPartitions = new Set(
      partitionsOf([...(assignment?.standby ?? []), ...(assignment?.warmup ?? [])]),
    );
    this.assign(assigned, replicaPartitions);
    const event: TaskAssignment = {
      generationId,
      active: [...this.activePartitions].sort((a, b) => a - b).map((p) => `0_${p}`),
      standby: [...(assignment?.standby ?? [])],
      warmup: [...(assignment?.warmup ?? [])],
    };
    for (const l of this.assignmentListeners) l(event);
  }

  /**
   * A member with warm-up replicas asks for a rebalance (the probing rebalance) once they are all within the
   * acceptable lag, so the group can move the tasks here; or, if they do not catch up, after the probing interval.
   */
  private probeIfWarm(): void {
    const assignment = this.ownAssignment;
    const lags = this.lags;
    if (assignment === undefined || lags === undefined || assignment.warmup.length === 0) return;
    if (this.stopping || this.failure || this.probingRequestedAt === this.generationId) return;
    const warmups = assignment.warmup.join(',');
    const caughtUp = assignment.warmup.every(
      (t) => lags.lagOf(parseTaskId(t).partition) <= this.config.acceptableRecoveryLag,
    );
    const overdue = Date.now() - this.assignedAt >= this.config.probingRebalanceIntervalMs;
    // The same warm-ups given again after a catch-up rejoin: wait for the interval rather than rejoin in a loop.
    if (!overdue && !(caughtUp && this.probedWarmups !== warmups)) return;
    this.probedWarmups = caughtUp ? warmups : undefined;
    this.probingRequestedAt = this.generationId;
    this.probingRebalances++;
    this.config.logger.info('asking for a probing rebalance', {
      warmups,
      reason: caughtUp ? 'warm-up replicas caught up' : 'probing interval passed',
    });
    this.consumer?.requestRejoin();
  }

  private assign(assigned: { topic: string; partition: number }[], replicaPartitions: Set<number>): void {
    const owned = new Set(assigned.map((a) => `${a.topic}:${a.partition}`));
    const partitions = new Set(assigned.map((a) => a.partition));
    // Offsets of partitions we no longer own cannot be committed by us any more: the new owner replays them.
    for (const key of [...this.pendingOffsets.keys()]) if (!owned.has(key)) this.pendingOffsets.delete(key);
    const tasks = this.tasks!;
    // Between batches (kafkajs joins only then), but after a running wall-clock punctuation.
    const replicas = this.replicas;
    void this.runExclusive(async () => {
      // A replica that becomes active hands its directory over: the task opens it and restores only the tail.
      await replicas?.release(partitions);
      await tasks.retainOnly(partitions);
      for (const { task } of tasks.active()) {
        for (const topic of this.topology.sourceTopics()) {
          if (!owned.has(`${topic}:${task.partition}`)) task.revoke(topic);
        }
      }
      // Restore new tasks now, not at their first record: the instance is ready once restoring ends.
      for (const partition of partitions) {
        tasks.ensure(partition).catch((err) => this.fail(asStreamsError(err, 'STATE_FAILED')));
      }
      // Replicas open in the background; a task this instance just gave up becomes one once its lock is free.
      await replicas?.assign(replicaPartitions);
    }).catch((err) => this.fail(asStreamsError(err, 'STATE_FAILED')));
    if (this.currentState === 'REBALANCING') this.transition('RUNNING');
  }

  private runExclusive(work: () => Promise<void>): Promise<void> {
    const run = this.exclusive.then(work);
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  /** Wall-clock punctuators fire, and processed input gets committed on the interval, while no input arrives too. */
  private startWallClock(): void {
    this.wallClockTimer = setInterval(() => {
      if (this.stopping || this.failure || this.batchInFlight) return;
      void this.runExclusive(async () => {
        if (this.stopping || this.failure) return;
        let fired = 0;
        try {
          for (const { task } of this.tasks!.active()) fired += task.punctuateWallClock();
          const due = Date.now() - this.lastCommit >= this.config.commitIntervalMs;
          if (due && (this.pendingOffsets.size > 0 || fired > 0)) await this.commit();
          else if (fired > 0) await this.collector!.flush();
        } catch (err) {
          this.fail(asStreamsError(err, 'PROCESSING_FAILED'));
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
    if (this.stopping || this.failure || this.awaitingRejoin || batch.records.length === 0) return;
    let failed: StreamsError | undefined;
    let commitRequested = false;
    try {
      const { task } = await this.whileHeartbeating(control, this.tasks!.ensure(batch.partition));
      task.addRecords(batch.topic, batch.records);
      // Fetching continues after the buffered records; offsets are committed only up to processed ones.
      control.markConsumed(batch.records[batch.records.length - 1]!.offset);
      try {
        this.processed += task.process(() => !this.stopping && control.isActive());
        task.punctuateWallClock();
      } catch (err) {
        failed = asStreamsError(err, 'PROCESSING_FAILED');
      }
      this.recordPositions(task);
      commitRequested = task.takeCommitRequest();
    } catch (err) {
      failed = asStreamsError(err, 'STATE_FAILED');
    }
    try {
      const due =
        failed !== undefined ||
        this.stopping ||
        commitRequested ||
        this.tasks!.needsCommit() ||
        Date.now() - this.lastCommit >= this.config.commitIntervalMs;
      if (due) await this.commit();
      else await this.collector!.flush();
      await control.heartbeat().catch(() => undefined);
    } catch (err) {
      failed ??= asStreamsError(err, 'COMMIT_FAILED');
    }
    // Never throw into the client: it would restart the consumer and refetch the same record in a hot loop.
    if (failed) this.fail(failed);
  }

  /**
   * Waits for `work` (a task restoring) while keeping the group membership alive: kafkajs heartbeats from its
   * fetch loop, which waits for this batch.
   */
  private async whileHeartbeating<T>(control: BatchControl, work: Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      control.heartbeat().catch(() => undefined);
    }, this.config.heartbeatIntervalMs);
    try {
      return await work;
    } finally {
      clearInterval(timer);
    }
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

  /**
   * The commit, in this order: outputs acknowledged; then the stores' changelog records (flushed caches)
   * acknowledged, so no changelog record exists for input whose output was lost; then each store's data and
   * checkpoint in one atomic write; then the consumer offsets. A crash anywhere replays from the last offset
   * commit, and the source marks in the changelog keep stores from counting replayed input twice.
   */
  private async commit(): Promise<void> {
    if (this.config.processingGuarantee === 'exactly-once') return this.commitTransactions();
    const tasks = this.tasks!;
    await this.collector!.flush();
    const changelog = tasks.prepareCommit();
    if (changelog.length > 0) this.onCommitPhase?.('outputs-acked');
    let changelogOffsets = new Map<string, bigint>();
    if (changelog.length > 0) {
      try {
        changelogOffsets = await this.producer!.send(changelog);
      } catch (cause) {
        throw new StreamsError(
          'PRODUCE_FAILED',
          `writing ${changelog.length} changelog records failed: ${errorMessage(cause)}`,
          {
            cause,
          },
        );
      }
      this.changelogRecords += changelog.length;
      this.onCommitPhase?.('changelog-acked');
    }
    try {
      await tasks.completeCommit(changelogOffsets);
    } catch (cause) {
      throw new StreamsError('STATE_FAILED', `writing the state of a commit failed: ${errorMessage(cause)}`, {
        cause,
      });
    }
    if (changelog.length > 0) this.onCommitPhase?.('state-written');
    const offsets = [...this.pendingOffsets.values()];
    if (offsets.length > 0) {
      try {
        await this.consumer!.commit(offsets);
      } catch (cause) {
        if (cause instanceof StreamsError && cause.code === 'TASK_MIGRATED') {
          // Output and state are durable; only the offsets are not. Whoever owns the partitions after the rebalance
          // replays from the last committed offset, and the source marks keep stores from counting it twice.
          this.config.logger.warn(
            'offset commit refused by a rebalance; the input since the last commit replays',
            {
              error: cause.message,
            },
          );
          return;
        }
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

  /** Exactly-once: one transaction per task with its output, changelog records and input offsets. */
  private async commitTransactions(): Promise<void> {
    const committed: TopicPartitionOffset[] = [];
    const offsetsOf = (partition: number) => {
      const offsets = [...this.pendingOffsets.values()].filter((o) => o.partition === partition);
      committed.push(...offsets);
      return offsets;
    };
    try {
      this.changelogRecords += await this.tasks!.commitTransactions(
        offsetsOf,
        this.consumer!.groupMetadata(),
      );
    } catch (cause) {
      if (cause instanceof StreamsError && cause.code === 'TASK_MIGRATED') {
        // The tasks not committed are closed; their input is fetched again from the committed offsets once the
        // consumer has rejoined (each new generation reads them again), so nothing is processed until then.
        const open = new Set(this.tasks!.active().map((a) => a.task.partition));
        for (const [key, o] of this.pendingOffsets) {
          if (!open.has(o.partition) || committed.includes(o)) this.pendingOffsets.delete(key);
        }
        this.awaitingRejoin = true;
        this.consumer!.requestRejoin();
        this.config.logger.warn('a transaction was refused by a rebalance; rejoining the group', {
          error: cause.message,
        });
        return;
      }
      throw new StreamsError('COMMIT_FAILED', `a task's transaction failed: ${errorMessage(cause)}`, {
        cause,
      });
    }
    for (const o of committed) {
      const key = `${o.topic}:${o.partition}`;
      if (this.pendingOffsets.get(key) === o) this.pendingOffsets.delete(key);
    }
    this.commits++;
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
      await this.consumer?.stop({ leaveGroup: this.leaveGroup });
    })();
    let timedOut = false;
    try {
      await withTimeout(work, timeoutMs, () => {
        timedOut = true;
        return new StreamsError('CLOSE_TIMEOUT', `close did not finish within ${timeoutMs} ms`);
      });
    } catch (err) {
      this.failure ??= asStreamsError(err, 'COMMIT_FAILED');
    } finally {
      // Releases the task locks; everything committed is checkpointed, the rest is dropped.
      await this.replicas
        ?.close()
        .catch((err) => this.config.logger.error('closing replicas failed', { error: errorMessage(err) }));
      await this.tasks
        ?.closeAll()
        .catch((err) => this.config.logger.error('closing tasks failed', { error: errorMessage(err) }));
      await this.disconnectAll();
      this.transition(this.failure ? 'ERROR' : 'NOT_RUNNING');
    }
    if (timedOut) throw this.failure;
  }

  private async disconnectAll(): Promise<void> {
    await Promise.allSettled([
      this.consumer?.close({ leaveGroup: this.leaveGroup }),
      this.producer?.close(),
      this.reader?.close(),
      this.replicaReader?.close(),
      this.admin?.close(),
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

function asStreamsError(err: unknown, code: StreamsError['code']): StreamsError {
  return err instanceof StreamsError ? err : new StreamsError(code, errorMessage(err), { cause: err });
}

function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
