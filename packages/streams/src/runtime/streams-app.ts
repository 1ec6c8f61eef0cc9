// The streams app: configuration, lifecycle and listeners of one instance; the parts it runs do the work.

import { randomUUID } from 'node:crypto';
import { eddyGroupProtocol, loadOrCreateProcessId } from '@eddy/assignor';
import { Registry } from 'prom-client';
import { type ResolvedConfig, resolveConfig, type StreamsConfig } from '../config.js';
import { describePosition, errorMessage, StreamsError } from '../errors.js';
import { kafkajsClientFactory } from '../kafka/kafkajs/index.js';
import { platformaticClientFactory } from '../kafka/platformatic/index.js';
import type {
  AdminPort,
  ChangelogReaderPort,
  ClientOptions,
  ConsumerPort,
  KafkaClientFactory,
  PartitionFollowerPort,
  ProducerPort,
  TopicPartitionOffset,
} from '../kafka/port.js';
import type { Logger } from '../logger.js';
import { AppMetrics, RestoreProgress } from '../ops/app-metrics.js';
import type { AppView } from '../ops/app-view.js';
import type { ResolvedHttpOptions } from '../ops/ops-options.js';
import { OpsServer } from '../ops/ops-server.js';
import { runningAppView } from '../ops/running-app-view.js';
import type { Serializer } from '../serdes/serde.js';
import type { SealedTopology, Topology } from '../topology/topology.js';
import { closeOnSignals } from './close-on-signals.js';
import { AtLeastOnceCommit } from './commit/at-least-once-commit.js';
import type { CommitPhase, CommitProtocol } from './commit/commit-protocol.js';
import { ExactlyOnceCommit } from './commit/exactly-once-commit.js';
import { PendingOffsets } from './commit/pending-offsets.js';
import { CrashGuard } from './crash-guard.js';
import { restartDelayMs } from './crash-loop.js';
import { deadLetterTopicOf } from './error-handling.js';
import { GlobalState } from './global-state.js';
import type { KeyQueryMetadata, StreamsMetadata } from './query-metadata.js';
import { RebalanceHandler, type TaskAssignment } from './rebalance-handler.js';
import { RecordCollector } from './record-collector.js';
import { RepartitionPurger } from './repartition-purger.js';
import { ReplicaManager } from './replica-manager.js';
import { prepareSerdes } from './serde-uses.js';
import { asStreamsError, StreamThread } from './stream-thread.js';
import type { TaskId } from './task-id.js';
import { scanLocalState, TaskLags } from './task-lags.js';
import { TaskManager } from './task-manager.js';
import { ensureInternalTopics, resolveTopicLayout, type TopicLayout } from './topic-layout.js';
import { isTransient } from './transient-failures.js';

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
  /** Replaces the Kafka clients that `config.client` chooses (used by tests of the runtime itself). */
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
  /**
   * Records dropped, by reason (one of `DROP_REASONS`): on purpose by processors (e.g. `late`: after their window
   * closed; `other`: a reason outside the set), or skipped by an error mode (`error`: logged and skipped;
   * `dead-lettered`: written to the dead-letter topic).
   */
  droppedRecords: Readonly<Record<string, number>>;
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

/** Which stream thread of a threaded app (`ThreadedStreamsApp`) an app is; set by the worker that runs it. */
export const STREAM_THREAD = Symbol('eddy.streamThread');

/** Stream thread `index` (from 1) of `count`. */
export interface StreamThreadIdentity {
  readonly index: number;
  readonly count: number;
}

type InternalOptions = StreamsAppOptions & { [STREAM_THREAD]?: StreamThreadIdentity };

/** The operations of a stream thread's app, read by its threaded app (`[THREAD_OPS]()`). */
export const THREAD_OPS = Symbol('eddy.threadOps');

export interface ThreadAppOps {
  view: AppView;
  /** The thread's own metrics registry, when the app has `metrics`. */
  registry: Registry | undefined;
  /** The `http` options (store queries), when the app has `http`. */
  http: ResolvedHttpOptions | undefined;
  logger: Logger;
}

/**
 * Makes `config` that of stream thread `thread.index`: thread 1 keeps the instance's names (an instance going from
 * one thread to more keeps its tasks on thread 1); thread k > 1 appends `.t<k>` to its group identity, client id
 * and its own files in the state directory. The operations server is the threaded app's, on the main thread.
 */
function asStreamThread(config: ResolvedConfig, thread: StreamThreadIdentity): void {
  const suffix = thread.index === 1 ? '' : `.t${thread.index}`;
  config.threadSuffix = suffix;
  config.clientId = `${config.clientId}${suffix}`;
  if (config.instanceId !== undefined) config.instanceId = `${config.instanceId}${suffix}`;
  // Its metrics on a registry of its own, which its threaded app sums over the threads at each scrape.
  if (config.metrics !== undefined) config.metrics = { registry: new Registry() };
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
  global?: GlobalState;
  globalFollower?: PartitionFollowerPort;
  replicas?: ReplicaManager;
  lags?: TaskLags;
  layout?: TopicLayout;
  tasks?: TaskManager;
  commit?: CommitProtocol;
  rebalance?: RebalanceHandler;
  consumer?: ConsumerPort;
  thread?: StreamThread;
  /** Ends the wait before joining the group early (start gave up). */
  cancelBackoff?: () => void;
}

export class StreamsApp {
  private readonly config: ResolvedConfig;
  private readonly graph: SealedTopology;
  private readonly factory: KafkaClientFactory;
  private readonly onCommitPhase: ((phase: CommitPhase) => void) | undefined;
  private readonly dropped: Record<string, number> = {};
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
  /**
   * Restarts start's timeout, `extraMs` longer: a long restore of global stores that makes progress, or a wait before
   * joining, does not time start out.
   */
  private startProgress: ((extraMs?: number) => void) | undefined;
  /** Counts of the parts released by reconnects: totals go on across them. */
  private readonly carried = { processed: 0, sent: 0, commits: 0, rebalances: 0, changelogRecords: 0 };
  /** Rejects the start attempt under way with a transient failure reported meanwhile (`retryBackoff`). */
  private attemptFailed: ((error: StreamsError) => void) | undefined;
  /** The crash-loop record of this process run (`crashLoop`), opened by the first start attempt. */
  private crashGuard: CrashGuard | undefined;
  /**
   * Set once every serde prepared: a reconnect reuses what they resolved (e.g. schema ids) rather than asking their
   * registry again, so a Kafka blip during a registry outage does not stop an app that needs nothing new.
   */
  private serdesPrepared = false;
  /** Prometheus metrics and the operations HTTP server, when configured (`metrics`, `http`). */
  private readonly appMetrics: AppMetrics | undefined;
  private readonly opsServer: OpsServer | undefined;
  /** What the metrics and the operations server read of this app. */
  private readonly opsView: AppView | undefined;

  constructor(
    private readonly topology: Topology,
    config: StreamsConfig,
    options: StreamsAppOptions = {},
  ) {
    this.onCommitPhase = options.onCommitPhase;
    this.config = resolveConfig(config);
    const thread = (options as InternalOptions)[STREAM_THREAD];
    if (thread !== undefined) asStreamThread(this.config, thread);
    else if (this.config.numStreamThreads > 1) {
      throw new StreamsError(
        'INVALID_CONFIG',
        `numStreamThreads ${this.config.numStreamThreads} runs the stream threads on worker threads: start the app from a module with ThreadedStreamsApp.load()`,
      );
    }
    this.graph = topology.seal(this.config.applicationId);
    const { metrics, http } = this.config;
    if (metrics !== undefined || http !== undefined) {
      const view = runningAppView({
        state: () => this.currentState,
        parts: () => this.parts,
        carried: () => this.carried,
        dropped: () => this.dropped,
        graph: this.graph,
        endpoint: this.config.applicationServer,
      });
      if (metrics !== undefined) {
        const progress = new RestoreProgress(this.config.restoreListener);
        this.config.restoreListener = progress;
        this.appMetrics = new AppMetrics(metrics.registry, view, progress);
      }
      // A stream thread's operations server is its threaded app's, on the main thread (`[THREAD_OPS]`).
      if (http !== undefined && thread === undefined) {
        this.opsServer = new OpsServer(http, view, metrics?.registry, this.config.logger);
      }
      this.opsView = view;
    }
    const clientOptions: ClientOptions = {
      clientId: this.config.clientId,
      brokers: this.config.brokers,
      connectionTimeoutMs: this.config.connectionTimeoutMs,
      requestTimeoutMs: this.config.requestTimeoutMs,
      retryBudgetMs: this.config.startTimeoutMs,
      logLevel: this.config.clientLogLevel,
      metadataMaxAgeMs: this.config.metadataMaxAgeMs,
      ...(this.config.ssl === undefined ? {} : { ssl: this.config.ssl }),
      ...(this.config.sasl === undefined ? {} : { sasl: this.config.sasl }),
    };
    this.factory =
      options.clientFactory ??
      (this.config.client === 'platformatic'
        ? platformaticClientFactory(clientOptions)
        : kafkajsClientFactory(clientOptions));
  }

  get state(): StreamsState {
    return this.currentState;
  }

  /** A stream thread's operations, for its threaded app: undefined unless the app has `metrics` or `http`. */
  [THREAD_OPS](): ThreadAppOps | undefined {
    const { opsView: view, config } = this;
    if (view === undefined) return undefined;
    return { view, registry: config.metrics?.registry, http: config.http, logger: config.logger };
  }

  /** Where the operations HTTP server listens (`http` option), once start() has begun; undefined otherwise. */
  get httpAddress(): { host: string; port: number } | undefined {
    return this.opsServer?.address;
  }

  /** The error that moved the app to ERROR, if any. */
  get error(): StreamsError | undefined {
    return this.failure;
  }

  get metrics(): StreamsMetrics {
    const { collector, commit, tasks, rebalance, thread } = this.parts;
    const carried = this.carried;
    return {
      processed: carried.processed + (thread?.processed ?? 0),
      sent: carried.sent + (collector?.sent ?? 0),
      commits: carried.commits + (commit?.commits ?? 0),
      restoringTasks: tasks?.restoring ?? 0,
      rebalances: carried.rebalances + (rebalance?.rebalances ?? 0),
      generationId: rebalance?.generationId ?? -1,
      changelogRecords: carried.changelogRecords + (commit?.changelogRecords ?? 0),
      standbyTasks: rebalance?.assignment?.standby.length ?? 0,
      warmupTasks: rebalance?.assignment?.warmup.length ?? 0,
      probingRebalances: rebalance?.probingRebalances ?? 0,
      droppedRecords: { ...this.dropped },
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
   * is received. Fails with BROKER_UNREACHABLE, AUTHENTICATION_FAILED, AUTHORIZATION_FAILED, TOPIC_MISSING,
   * PARTITION_COUNT_MISMATCH or SERDE_PREPARE_FAILED (a serde's `prepare` refused, before the app created internal
   * topics or joined the group; the app is then in ERROR and onError listeners are told), or with CLOSED_DURING_START
   * when close() was called meanwhile; either way the app holds no connection and no group membership afterwards.
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

  /**
   * Runs start's attempts: one, or with `retryBackoff` one after another while they fail for a transient reason
   * (Kafka unreachable or too slow), with capped, jittered exponential delays in between, until `giveUpAfterMs`.
   * `after` is the failure that stopped a running app: it reconnects after a first delay.
   */
  private async startAndCleanUp(after?: StreamsError): Promise<void> {
    const closed = new Promise<never>((_, reject) => {
      this.closeRequested = () => reject(new StartAborted());
    });
    closed.catch(() => undefined);
    const since = Date.now();
    let failed: unknown = after;
    let failures = after === undefined ? 0 : 1;
    try {
      for (;;) {
        if (failed !== undefined) {
          const delayMs = this.retryDelay(failed, failures, since);
          if (delayMs === undefined) break;
          let timer: NodeJS.Timeout | undefined;
          try {
            await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, delayMs)))]);
          } finally {
            clearTimeout(timer);
          }
          this.resetParts();
          this.aborted = false;
        }
        if (this.closing !== undefined) throw new StartAborted();
        failed = await this.attemptStart(closed);
        if (failed === undefined) return;
        // A refused identity or right is not transient: name it as such before deciding to retry.
        failed = this.factory.securityFailure?.(failed) ?? failed;
        failures++;
        if (failed instanceof StartAborted || this.closing !== undefined || this.failure !== undefined) break;
      }
    } catch (err) {
      failed = err;
    } finally {
      this.closeRequested = undefined;
    }
    this.crashGuard?.close();
    await this.closeOps();
    // A failure reported while starting (e.g. the consumer crashed) closed the app: start fails with it.
    if (this.failure !== undefined) {
      this.transition('ERROR');
      throw this.failure;
    }
    if (failed instanceof StartAborted || this.closing !== undefined) {
      throw new StreamsError('CLOSED_DURING_START', 'close() was called while start() was running');
    }
    const error =
      this.factory.securityFailure?.(failed) ??
      (failed instanceof StreamsError
        ? failed
        : new StreamsError(
            'BROKER_UNREACHABLE',
            `could not reach Kafka at ${this.config.brokers.join(',')}: ${errorMessage(failed)}`,
            { cause: failed },
          ));
    this.failure = error;
    this.transition('ERROR');
    this.notifyError(error);
    throw error;
  }

  /**
   * The delay before the next attempt after the `failures`-th failure in a row, or undefined to give up: without
   * `retryBackoff`, for a failure that is not transient, or when the delay would end past `giveUpAfterMs`.
   */
  private retryDelay(failure: unknown, failures: number, since: number): number | undefined {
    const retry = this.config.retryBackoff;
    if (retry === undefined) return undefined;
    const fields = {
      failures,
      code: failure instanceof StreamsError ? failure.code : undefined,
      error: errorMessage(failure),
    };
    if (!isTransient(failure)) {
      // Said here too: after a reconnect nobody awaits start(), and onError may have no listener.
      this.config.logger.error('a failure that trying again cannot fix: stopping', fields);
      return undefined;
    }
    const delayMs = restartDelayMs(failures, retry);
    const serde = failure instanceof StreamsError && failure.code === 'SERDE_PREPARE_FAILED';
    if (Date.now() + delayMs - since > retry.giveUpAfterMs) {
      this.config.logger.error(
        serde ? 'a serde could still not prepare: giving up' : 'Kafka stayed unreachable: giving up',
        { ...fields, giveUpAfterMs: retry.giveUpAfterMs },
      );
      return undefined;
    }
    this.config.logger.warn(
      serde
        ? 'a serde could not prepare; trying again in-process'
        : 'Kafka is unreachable; trying again in-process',
      { ...fields, delayMs },
    );
    return delayMs;
  }

  /**
   * One attempt at connecting, checking the topics, joining and running. Resolves undefined once it runs, or with
   * what made it fail after releasing everything it created (the operations server stays).
   */
  private async attemptStart(closed: Promise<never>): Promise<unknown> {
    const attemptFailed = new Promise<never>((_, reject) => {
      this.attemptFailed = reject;
    });
    attemptFailed.catch(() => undefined);
    const work = this.connectAndRun();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      const arm = (extraMs = 0) => {
        clearTimeout(timer);
        timer = setTimeout(
          () =>
            reject(
              new StreamsError(
                'BROKER_UNREACHABLE',
                `start did not finish within ${this.config.startTimeoutMs} ms`,
              ),
            ),
          this.config.startTimeoutMs + 5_000 + extraMs,
        );
      };
      arm();
      this.startProgress = arm;
    });
    try {
      await Promise.race([work, timeout, closed, attemptFailed]);
      // The consumer reports a failed join (e.g. its group denied) as a crash, and its run() resolves anyway.
      if (this.failure !== undefined) throw this.failure;
      if (this.closing !== undefined) throw new StartAborted();
      this.running = true;
      return undefined;
    } catch (err) {
      // Release what start created so far (this also interrupts a call in progress), wait for start to notice, then
      // release what it created meanwhile.
      this.aborted = true;
      await this.releaseParts();
      await settleWithin(work, this.config.closeTimeoutMs);
      await this.releaseParts();
      return err;
    } finally {
      clearTimeout(timer);
      this.startProgress = undefined;
      this.attemptFailed = undefined;
    }
  }

  /**
   * A transient failure stopped the running app: it drops what it processed since the last commit (that input
   * replays), releases its clients, and reconnects with `retryBackoff`, not ready meanwhile.
   */
  private recover(error: StreamsError): void {
    this.running = false;
    this.config.logger.warn('lost Kafka while running; reconnecting in-process', {
      code: error.code,
      error: error.message,
    });
    this.transition('REBALANCING');
    this.parts.rebalance?.stop();
    this.aborted = true;
    this.parts.thread?.halt();
    this.starting = (async () => {
      // Not from inside the batch that reported the failure: releasing waits for it.
      await new Promise((resolve) => setImmediate(resolve));
      if (await this.releasedForRecovery()) {
        await this.startAndCleanUp(error);
        return;
      }
      // Starting again would find the old tasks' stores still open (their locks held): stop instead, so that a
      // restart of the process opens them.
      const stuck = new StreamsError(
        'STATE_RELEASE_TIMEOUT',
        `the old tasks' state was still not released ${this.config.closeTimeoutMs} ms after their clients were closed, once Kafka was lost; restart the process`,
        { cause: error },
      );
      this.crashGuard?.close();
      await this.closeOps();
      this.failure = stuck;
      this.transition('ERROR');
      this.notifyError(stuck);
    })();
    this.starting.catch(() => undefined);
  }

  /**
   * Releases the parts of a running app that lost Kafka; true once its tasks' state is released. A batch still
   * waiting on the lost connection holds the tasks: after `closeTimeoutMs` the clients are closed under it, which
   * fails what it waits on, and the release gets another `closeTimeoutMs`.
   */
  private async releasedForRecovery(): Promise<boolean> {
    let stateReleased = false;
    const state = this.releaseState().finally(() => {
      stateReleased = true;
    });
    const release = state.then(() => this.closeClients());
    if (await settleWithin(release, this.config.closeTimeoutMs)) return true;
    // Only the clients are slow (e.g. leaving a group whose broker is down): the state is free, so go on, as a
    // restart would; they finish closing meanwhile.
    if (stateReleased) return true;
    this.config.logger.warn('releasing the old tasks takes long; closing the clients under them', {
      closeTimeoutMs: this.config.closeTimeoutMs,
    });
    await settleWithin(this.closeClients(), this.config.closeTimeoutMs);
    return settleWithin(state, this.config.closeTimeoutMs);
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
    return closeOnSignals(
      () => this.close(options),
      () => this.failure !== undefined,
    );
  }

  private get leaveGroup(): boolean {
    return this.closeOptions?.leaveGroup ?? (this.config.instanceId === undefined || !this.running);
  }

  private async connectAndRun(): Promise<void> {
    const { config, graph, parts } = this;
    // First: probes answer (not ready) while the app connects and restores; a port in use fails start at once.
    await this.opsServer?.listen();
    this.checkStart();
    if (config.crashLoop !== undefined && this.crashGuard === undefined) {
      // Once per process run: a reconnect after a transient failure is no restart.
      this.crashGuard = CrashGuard.open(config.crashLoop, config);
      await this.guardAgainstCrashLoop(this.crashGuard);
      this.checkStart();
    }
    const crashGuard = this.crashGuard;
    const admin = this.factory.admin();
    parts.admin = admin;
    await admin.connect();
    this.checkStart();
    const layout = await this.checkTopics(admin);
    parts.layout = layout;
    this.checkStart();
    // Serdes fetch or check what they need (e.g. schemas) before anything is created or joined; once per app.
    if (!this.serdesPrepared) {
      await prepareSerdes(graph, { dryRun: false });
      this.serdesPrepared = true;
      this.checkStart();
    }
    await ensureInternalTopics(
      admin,
      [...layout.repartitionTopics, ...layout.changelogTopics],
      config.replicationFactor,
    );
    this.checkStart();
    const producer = this.factory.producer();
    parts.producer = producer;
    const collector = new RecordCollector(producer);
    parts.collector = collector;
    await producer.connect();
    this.checkStart();
    // A private group per process run: the restore consumer must never share a group with another instance.
    parts.reader = this.factory.changelogReader(`${config.applicationId}.restore.${randomUUID()}`);
    // Global stores hold their topics' records as of now before any task processes a record.
    const global = GlobalState.create(config, graph);
    if (global !== undefined) {
      parts.global = global;
      await global.open(config);
      this.checkStart();
      const starts = await global.restore({
        admin,
        reader: parts.reader,
        listener: config.restoreListener,
        onProgress: () => this.startProgress?.(),
      });
      this.checkStart();
      parts.globalFollower = this.factory.partitionFollower(`${config.applicationId}.global.${randomUUID()}`);
      global.follow(parts.globalFollower, starts, config.commitIntervalMs, (error) => this.fail(error));
    }
    if (layout.statefulTasks.length > 0) {
      // What this instance reports at its first join: the state already on its volume, against the changelog ends.
      // Stores copied from a source topic are behind on that topic instead of a changelog.
      const changelogsOf = new Map(
        layout.statefulTasks.map((id) => [
          id,
          [
            ...layout.changelogTopics.filter((t) => t.subtopology === id.subtopology).map((t) => t.topic),
            ...graph.subtopologies[id.subtopology]!.stores.flatMap(
              (st) => st.builder.options.sourceTopic ?? [],
            ),
          ],
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
    const metrics = this.appMetrics;
    const tasks = new TaskManager({
      config,
      graph,
      collector: parts.collector,
      admin,
      reader: parts.reader,
      factory: this.factory,
      onStateClosing: (id, positions) => parts.lags?.record(id, positions),
      onDropped: (reason) => {
        this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
      },
      ...(global === undefined ? {} : { globalStores: global.stores }),
      ...(crashGuard === undefined ? {} : { inFlight: (id: TaskId) => crashGuard.forTask(id) }),
      ...(metrics === undefined ? {} : { outputLatency: (id: TaskId) => metrics.outputLatency(id) }),
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
      identity: config.instanceId ?? `${processId}${config.threadSuffix}`,
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
      onMemberIgnored: (memberId, error) =>
        config.logger.warn('as group leader, assigned nothing to a member whose subscription is unreadable', {
          memberId,
          code: error.code,
          error: error.message,
        }),
    });
    const consumer = this.factory.consumer({
      groupId: config.applicationId,
      protocol,
      sessionTimeoutMs: config.sessionTimeoutMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      readCommitted: config.processingGuarantee === 'exactly-once',
      fromBeginning: config.autoOffsetReset === 'earliest',
      // A task with several inputs waits for each input until a fetch says how far its log goes.
      emptyBatches: true,
      fetchMaxBytes: config.fetchMaxBytes,
      fetchMaxBytesPerPartition: config.fetchMaxBytesPerPartition,
      onGroupJoin: (join) => {
        // Answered: the guard no longer waits for the coordinator's rebalance (onJoinRequest below).
        this.startProgress?.();
        rebalance.onGroupJoin(join);
      },
      // At-least-once output still in flight lands before the partitions may move to another member.
      beforeRejoin: () => collector.quiesce(),
      onCoordinatorWait: ({ reason, attempt, retryInMs }) =>
        config.logger.warn('waiting for the group coordinator before joining the group', {
          groupId: config.applicationId,
          reason,
          attempt,
          retryInMs,
          startTimeoutMs: config.startTimeoutMs,
        }),
      // The cluster answers: the join the coordinator may hold until the rebalance completes is not unreachability.
      onJoinRequest: ({ rebalanceTimeoutMs }) => this.startProgress?.(rebalanceTimeoutMs),
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
            maxRecordBytes: config.maxRecordBytes,
          })
        : new AtLeastOnceCommit({
            tasks,
            offsets,
            consumer,
            collector: parts.collector,
            logger: config.logger,
            onCommitPhase: this.onCommitPhase,
            onTaskMigrated,
            maxRecordBytes: config.maxRecordBytes,
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
      ...(this.appMetrics === undefined ? {} : { observer: this.appMetrics }),
      ...(crashGuard === undefined
        ? {}
        : { onCommitted: (offsets: readonly TopicPartitionOffset[]) => crashGuard.committed(offsets) }),
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
   * Acts on what the state volume says of the last runs: stops with POISON_RECORD at a record that crashed the
   * process too often (action 'fail'), and waits before joining after recent unclean restarts, so a crashing
   * deployment does not make the group rebalance at every restart.
   */
  private async guardAgainstCrashLoop(guard: CrashGuard): Promise<void> {
    const { logger, crashLoop } = this.config;
    const poison = guard.poison;
    if (poison !== undefined) {
      const { task, crashes, ...position } = poison;
      if (crashLoop?.action === 'fail') {
        throw new StreamsError(
          'POISON_RECORD',
          `record ${describePosition(position)} of task ${task} crashed the process ${crashes} times in a row`,
          { position },
        );
      }
      logger.warn('a record crashed the process repeatedly: it will be dead-lettered and skipped', {
        task,
        ...position,
        crashes,
      });
    } else if (guard.suspect !== undefined) {
      const { task, ranges, crashes } = guard.suspect;
      logger.warn(
        'the last run crashed while processing; marking each record of this input until it is committed',
        {
          task,
          ranges,
          crashes,
        },
      );
    }
    const delayMs = guard.restartDelayMs();
    if (delayMs === 0) return;
    logger.warn('backing off before joining the group after recent unclean restarts', {
      recentRestarts: guard.recentRestarts,
      delayMs,
    });
    this.startProgress?.(delayMs);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delayMs);
      this.parts.cancelBackoff = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.startProgress?.();
  }

  /**
   * Checks that every user topic exists and works out the partition count of every subtopology (throws
   * TOPIC_MISSING or PARTITION_COUNT_MISMATCH).
   */
  private async checkTopics(admin: AdminPort): Promise<TopicLayout> {
    const sources = [...this.topology.sourceTopics(), ...this.topology.globalTopics()];
    const deadLetterTopics = [this.config.deserializationErrors, this.config.processingErrors].flatMap(
      (m) => deadLetterTopicOf(m) ?? [],
    );
    const crashLoop = this.config.crashLoop;
    if (crashLoop?.action === 'dead-letter' && crashLoop.deadLetterTopic !== undefined) {
      deadLetterTopics.push(crashLoop.deadLetterTopic);
    }
    const sinks = [...this.topology.sinkTopics(), ...deadLetterTopics];
    const counts = await admin.partitionCounts([...new Set([...sources, ...sinks])]);
    const missing = [...sources, ...sinks].filter((t) => !counts.has(t));
    if (missing.length > 0) {
      throw new StreamsError(
        'TOPIC_MISSING',
        `topic(s) ${[...new Set(missing)].join(', ')} do not exist; create them before starting the app`,
      );
    }
    return resolveTopicLayout(this.graph, counts, this.config.windowStoreChangelogAdditionalRetentionMs);
  }

  private fail(failure: StreamsError): void {
    if (this.failure || this.closing) return;
    // A refused identity or right surfaces as whatever failed first (a fetch, a send, a commit): name it as such.
    const error = this.factory.securityFailure?.(failure) ?? failure;
    if (this.config.retryBackoff !== undefined && isTransient(error)) {
      // Reconnect instead of stopping: a failing attempt at start is given up, a running app recovers.
      if (this.attemptFailed !== undefined) this.attemptFailed(error);
      else if (this.running) this.recover(error);
      return;
    }
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
      await this.closeOps();
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
      if (this.failure === undefined) this.crashGuard?.stoppedCleanly();
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

  /** Forgets the released parts of a failed attempt or a lost connection, carrying their counts over. */
  private resetParts(): void {
    const { collector, commit, rebalance, thread } = this.parts;
    this.carried.processed += thread?.processed ?? 0;
    this.carried.sent += collector?.sent ?? 0;
    this.carried.commits += commit?.commits ?? 0;
    this.carried.rebalances += rebalance?.rebalances ?? 0;
    this.carried.changelogRecords += commit?.changelogRecords ?? 0;
    this.parts = {};
  }

  /** Releases what start created, and stops the operations server and the crash-loop marker. */
  private async release(): Promise<void> {
    await this.releaseParts();
    this.crashGuard?.close();
    await this.closeOps();
  }

  /** Closes replicas and tasks (releasing the task locks; uncommitted work is dropped) and every client. */
  private async releaseParts(): Promise<void> {
    await this.releaseState();
    await this.closeClients();
  }

  /** Stops the thread and closes replicas, tasks and global stores (releasing the task locks). */
  private async releaseState(): Promise<void> {
    this.parts.cancelBackoff?.();
    this.parts.thread?.halt();
    const { replicas, tasks, global } = this.parts;
    await replicas
      ?.close()
      .catch((err) => this.config.logger.error('closing replicas failed', { error: errorMessage(err) }));
    await tasks
      ?.closeAll()
      .catch((err) => this.config.logger.error('closing tasks failed', { error: errorMessage(err) }));
    await global
      ?.close()
      .catch((err) =>
        this.config.logger.error('closing the global stores failed', { error: errorMessage(err) }),
      );
  }

  /** Closes every Kafka client of the current parts (each close is idempotent). */
  private async closeClients(): Promise<void> {
    const { globalFollower, consumer, producer, reader, replicaReader, admin } = this.parts;
    await Promise.allSettled([
      globalFollower?.close(),
      consumer?.close({ leaveGroup: this.leaveGroup }),
      producer?.close(),
      reader?.close(),
      replicaReader?.close(),
      admin?.close(),
    ]);
  }

  /** Stops the operations server and takes the app's metrics off their registry; idempotent. */
  private async closeOps(): Promise<void> {
    this.appMetrics?.close();
    await this.opsServer?.close();
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

/** Waits for `work` to settle, at most `ms`; true when it settled. */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return settled;
}

function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
