// A streams app on several stream threads: one worker thread each, with one lifecycle, listeners, metrics and close.

import type { Worker } from 'node:worker_threads';
import { compareTaskIds, loadOrCreateProcessId } from '@eddy/assignor';
import { type ResolvedConfig, resolveConfig } from '../../config.js';
import { errorMessage, StreamsError } from '../../errors.js';
import { AggregatedMetrics, type MetricsJson, MetricsUnavailable } from '../../ops/aggregated-metrics.js';
import { OpsServer, type RemoteStoresView } from '../../ops/ops-server.js';
import type { SealedTopology } from '../../topology/topology.js';
import { closeOnSignals } from '../close-on-signals.js';
import type { TaskAssignment } from '../rebalance-handler.js';
import type {
  AssignmentListener,
  CloseOptions,
  ErrorListener,
  StateListener,
  StreamsMetrics,
  StreamsState,
} from '../streams-app.js';
import { defineFor, loadAppDefinition, moduleHref } from './app-module.js';
import { spawnThread } from './spawn-thread.js';
import {
  deserializeError,
  type FromThread,
  type SerializedError,
  type ThreadProbe,
  type ThreadReply,
  type ThreadRequest,
  type ToThread,
} from './thread-messages.js';
import { ThreadStoreQueries, ThreadUnavailable } from './thread-queries.js';

/** What the main thread knows of one stream thread (as of its last report). */
export interface StreamThreadView {
  /** From 1. */
  readonly index: number;
  readonly state: StreamsState;
  readonly assignment: TaskAssignment | undefined;
  readonly metrics: StreamsMetrics;
}

export interface ThreadedStreamsAppOptions {
  /** Handed to the definition on every thread (`context.args`). */
  args?: readonly string[];
  /** The module's export that defines the app. Default `default`. */
  exportName?: string;
}

/** One stream thread as the main thread sees it. */
interface Thread {
  readonly index: number;
  readonly worker: Worker;
  state: StreamsState;
  metrics: StreamsMetrics | undefined;
  assignment: TaskAssignment | undefined;
  /** What the probes read, as of the thread's last report (`at`: when it came). */
  probe: (ThreadProbe & { at: number }) | undefined;
  /** Whether the thread answers requests: its app is built and not closed. */
  answering: boolean;
  /** Settles with the thread's answer to `created`, `started` and `closed`. */
  readonly replies: Map<'created' | 'started' | 'closed', (error: SerializedError | undefined) => void>;
  exited: boolean;
  /** Set when the main thread ends the worker: its exit is no failure. */
  terminating: boolean;
}

/** How much longer than the close timeout the main thread waits for its threads' answers (ms). */
const CLOSE_GRACE_MS = 5_000;

/** How long a scrape waits for each thread's metrics before it fails (503) (ms). */
const SCRAPE_TIMEOUT_MS = 5_000;

/**
 * A thread reports every 250 ms; a report older than this says its event loop has not turned since (a processing
 * loop stuck in one batch): the probes count the time since on top of what it reported (ms).
 */
const REPORT_LATE_MS = 1_000;

interface PendingRequest {
  readonly thread: Thread;
  readonly resolve: (reply: ThreadReply) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const NO_METRICS: StreamsMetrics = {
  processed: 0,
  sent: 0,
  commits: 0,
  restoringTasks: 0,
  changelogRecords: 0,
  rebalances: 0,
  generationId: -1,
  standbyTasks: 0,
  warmupTasks: 0,
  probingRebalances: 0,
  droppedRecords: {},
};

/**
 * Runs the app a module defines on `config.numStreamThreads` stream threads, each a worker thread with its own
 * consumer, producer and tasks; the group gives tasks to instances first, then to their threads. Its state is the
 * threads' together: RUNNING once every thread runs, REBALANCING while one rebalances, ERROR once one failed (the
 * others are closed then). The threads share the state directory, its process id and task locks.
 */
export class ThreadedStreamsApp {
  private readonly threads: Thread[] = [];
  private readonly stateListeners = new Set<StateListener>();
  private readonly errorListeners = new Set<ErrorListener>();
  private readonly assignmentListeners = new Set<AssignmentListener>();
  private currentState: StreamsState = 'CREATED';
  private failure: StreamsError | undefined;
  private closing: Promise<void> | undefined;
  private closeOptions: CloseOptions | undefined;
  private lastAssignedGeneration = -1;
  /** Set once start() has finished (started or failed). */
  private startDone = false;
  private readonly requests = new Map<number, PendingRequest>();
  private nextRequestId = 1;
  /** The threads' metrics, summed at each scrape of the app's registry (`metrics`). */
  private readonly aggregatedMetrics: AggregatedMetrics | undefined;
  /** The operations server (`http`), on this thread: probes from the threads' reports, queries to the threads. */
  private readonly opsServer: OpsServer | undefined;
  private opsClosing: Promise<void> | undefined;

  private constructor(
    private readonly href: string,
    private readonly options: Required<ThreadedStreamsAppOptions>,
    private readonly config: ResolvedConfig,
    graph: SealedTopology,
  ) {
    const { metrics, http } = config;
    if (metrics !== undefined) {
      this.aggregatedMetrics = new AggregatedMetrics(metrics.registry, () => this.gatherMetrics());
    }
    if (http !== undefined) {
      const view: RemoteStoresView = {
        state: () => this.currentState,
        pendingTasks: () => this.threads.reduce((n, t) => n + (t.probe?.pendingTasks ?? 0), 0),
        stuckForMs: () => Math.max(0, ...this.threads.map((t) => this.stuckForMs(t))),
        consumerLags: () => new Map(this.threads.flatMap((t) => [...(t.probe?.consumerLags ?? [])])),
        stores: new ThreadStoreQueries(
          {
            state: () => this.currentState,
            hasStore: (store) => graph.subtopologyOfStore.has(store),
            answering: () => this.threads.filter((t) => t.answering),
            request: (thread, request, timeoutMs) =>
              this.request(this.threads[thread.index - 1]!, request, timeoutMs),
          },
          http,
        ),
      };
      this.opsServer = new OpsServer(http, view, metrics?.registry, config.logger);
    }
  }

  /**
   * Loads the app `module` defines (see `defineStreamsApp`) and checks its configuration on this thread; start()
   * then runs it on `numStreamThreads` worker threads. Fails with INVALID_APP_MODULE or INVALID_CONFIG.
   */
  static async load(
    module: string | URL,
    options: ThreadedStreamsAppOptions = {},
  ): Promise<ThreadedStreamsApp> {
    const href = moduleHref(module);
    const resolved = { args: [...(options.args ?? [])], exportName: options.exportName ?? 'default' };
    const definition = await loadAppDefinition(href, resolved.exportName);
    const { topology, config } = await defineFor(definition, { thread: 0, args: resolved.args }, href);
    const checked = resolveConfig(config);
    const graph = topology.seal(checked.applicationId);
    return new ThreadedStreamsApp(href, resolved, checked, graph);
  }

  /** Where the operations HTTP server listens (`http` option), once start() has begun; undefined otherwise. */
  get httpAddress(): { host: string; port: number } | undefined {
    return this.opsServer?.address;
  }

  get state(): StreamsState {
    return this.currentState;
  }

  get error(): StreamsError | undefined {
    return this.failure;
  }

  /** How many stream threads the app runs. */
  get numStreamThreads(): number {
    return this.config.numStreamThreads;
  }

  /** Each stream thread: its state, last assignment and counters. */
  get streamThreads(): StreamThreadView[] {
    return this.threads.map((t) => ({
      index: t.index,
      state: t.state,
      assignment: t.assignment,
      metrics: t.metrics ?? NO_METRICS,
    }));
  }

  /** The threads' counters added up (as of their last report, at most 250 ms old while they run). */
  get metrics(): StreamsMetrics {
    const total: StreamsMetrics = { ...NO_METRICS, droppedRecords: {} };
    const dropped: Record<string, number> = {};
    for (const t of this.threads) {
      const m = t.metrics ?? NO_METRICS;
      total.processed += m.processed;
      total.sent += m.sent;
      total.commits += m.commits;
      total.restoringTasks += m.restoringTasks;
      total.changelogRecords += m.changelogRecords;
      total.rebalances += m.rebalances;
      total.generationId = Math.max(total.generationId, m.generationId);
      total.standbyTasks += m.standbyTasks;
      total.warmupTasks += m.warmupTasks;
      total.probingRebalances += m.probingRebalances;
      for (const [reason, n] of Object.entries(m.droppedRecords))
        dropped[reason] = (dropped[reason] ?? 0) + n;
    }
    total.droppedRecords = dropped;
    return total;
  }

  onStateChange(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Told the instance's tasks (every thread's, together) once all its threads have their assignment of the same
   * group generation.
   */
  onAssignment(listener: AssignmentListener): () => void {
    this.assignmentListeners.add(listener);
    return () => this.assignmentListeners.delete(listener);
  }

  /** Called once when a failure stops the app (a thread's, which closes the others). */
  onError(listener: ErrorListener): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /**
   * Starts the worker threads, builds the app on each, and starts them together. Resolves once every thread has
   * its first assignment; fails with the first thread's failure (the others are closed then), or with
   * CLOSED_DURING_START.
   */
  async start(): Promise<void> {
    if (this.currentState !== 'CREATED') {
      throw new StreamsError('ILLEGAL_STATE', `start() needs state CREATED, the app is ${this.currentState}`);
    }
    this.transition('REBALANCING');
    try {
      // First: probes answer (not ready) while the threads start; a port in use fails start at once.
      await this.opsServer?.listen();
      // Before the threads: each would otherwise create its own process id at the same time.
      await loadOrCreateProcessId(this.config.stateDir, { onCorrupt: 'regenerate' });
      for (let index = 1; index <= this.config.numStreamThreads; index++)
        this.threads.push(this.spawn(index));
      await this.all('created');
      if (this.closing === undefined) {
        for (const t of this.threads) this.send(t, { type: 'start' });
        await this.all('started');
      }
    } catch (err) {
      const error =
        err instanceof StreamsError
          ? err
          : new StreamsError(
              'STREAM_THREAD_FAILED',
              `starting the stream threads failed: ${errorMessage(err)}`,
            );
      // A thread that close() stopped while it started answers CLOSED_DURING_START: no failure.
      if (this.closing === undefined || error.code !== 'CLOSED_DURING_START') this.failure ??= error;
    } finally {
      this.startDone = true;
    }
    if (this.failure !== undefined) {
      await this.stopThreads({});
      this.toError(this.failure);
      await this.closeOps();
      throw this.failure;
    }
    if (this.closing !== undefined) {
      await this.closing;
      throw new StreamsError('CLOSED_DURING_START', 'close() was called while start() was running');
    }
  }

  /** Closes every thread (each commits and, as `options` say, leaves the group); idempotent. */
  close(options: CloseOptions = {}): Promise<void> {
    this.closeOptions ??= options;
    // The operations server answers (not ready) until the threads are closed.
    this.closing ??= this.shutdown().finally(() => this.closeOps());
    return this.closing;
  }

  /** Closes the app on SIGTERM and SIGINT (with `options`), then exits the process: 0, or 1 after a failure. */
  closeOnSignals(options: CloseOptions = {}): () => void {
    return closeOnSignals(
      () => this.close(options),
      () => this.failure !== undefined,
    );
  }

  private async shutdown(): Promise<void> {
    if (this.currentState === 'NOT_RUNNING' || this.currentState === 'ERROR') return;
    this.transition('PENDING_SHUTDOWN');
    const timeoutMs = this.closeOptions?.timeoutMs ?? this.config.closeTimeoutMs;
    const closed = await this.stopThreads(this.closeOptions ?? {}, timeoutMs);
    if (this.failure !== undefined) {
      this.toError(this.failure);
      return;
    }
    this.transition('NOT_RUNNING');
    if (!closed) {
      throw new StreamsError('CLOSE_TIMEOUT', `the stream threads did not close within ${timeoutMs} ms`);
    }
  }

  /** Asks every running thread to close, waits (at most `timeoutMs`), then ends the workers; true if all closed. */
  private async stopThreads(options: CloseOptions, timeoutMs = this.config.closeTimeoutMs): Promise<boolean> {
    for (const t of this.threads) if (!t.exited) this.send(t, { type: 'close', options });
    let timer: NodeJS.Timeout | undefined;
    // Every thread's close, also after another one failed.
    const closed = await Promise.race([
      Promise.allSettled(this.threads.map((t) => this.replyOf(t, 'closed'))).then(() => true),
      // Each thread bounds its own close by `timeoutMs` and answers: a little longer here.
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs + CLOSE_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    for (const t of this.threads) {
      t.terminating = true;
      t.replies.clear();
      this.endRequests(t);
    }
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
    return closed;
  }

  private spawn(index: number): Thread {
    const worker = spawnThread({
      href: this.href,
      exportName: this.options.exportName,
      args: this.options.args,
      index,
      count: this.config.numStreamThreads,
    });
    const thread: Thread = {
      index,
      worker,
      state: 'CREATED',
      metrics: undefined,
      assignment: undefined,
      probe: undefined,
      answering: false,
      replies: new Map(),
      exited: false,
      terminating: false,
    };
    worker.on('message', (message: FromThread) => this.onMessage(thread, message));
    worker.on('error', (err) => this.threadFailed(thread, err));
    worker.on('exit', (code) => {
      thread.exited = true;
      this.endRequests(thread);
      if (!thread.terminating && (thread.replies.size > 0 || this.closing === undefined)) {
        this.threadFailed(thread, new Error(`its worker thread exited with code ${code}`));
      }
    });
    return thread;
  }

  private onMessage(thread: Thread, message: FromThread): void {
    switch (message.type) {
      case 'created':
      case 'started':
      case 'closed': {
        const reply = thread.replies.get(message.type);
        thread.replies.delete(message.type);
        if (message.type === 'created') thread.answering = message.error === undefined;
        if (message.type === 'closed') this.endRequests(thread);
        // The thread's own error is the app's failure, before whatever its worker's end reports next.
        if (message.type !== 'closed' && message.error !== undefined) {
          const stoppedByClose = this.closing !== undefined && message.error.code === 'CLOSED_DURING_START';
          if (!stoppedByClose) this.fail(deserializeError(message.error, thread.index));
        }
        reply?.(message.error);
        // A thread that failed stays in ERROR, though its close went well.
        if (message.type === 'closed' && thread.state !== 'ERROR') {
          thread.state = message.error === undefined ? 'NOT_RUNNING' : 'ERROR';
        }
        return;
      }
      case 'metrics':
        thread.metrics = message.metrics;
        if (message.probe !== undefined) thread.probe = { ...message.probe, at: Date.now() };
        return;
      case 'reply': {
        const pending = this.requests.get(message.id);
        if (pending === undefined) return;
        this.requests.delete(message.id);
        clearTimeout(pending.timer);
        pending.resolve(message.reply);
        return;
      }
      case 'state':
        thread.state = message.state;
        this.followThreads();
        return;
      case 'assignment':
        thread.assignment = message.assignment;
        this.reportAssignment();
        return;
      case 'error':
        this.fail(deserializeError(message.error, thread.index));
        return;
    }
  }

  /** Waits for every thread's `reply`; rejects with the first error a thread answers. */
  private all(reply: 'created' | 'started'): Promise<void> {
    return Promise.all(this.threads.map((t) => this.replyOf(t, reply))).then(() => undefined);
  }

  /** Settles with the thread's `reply`, at once for a thread whose worker is gone. */
  private replyOf(thread: Thread, reply: 'created' | 'started' | 'closed'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (thread.exited) {
        resolve();
        return;
      }
      thread.replies.set(reply, (error) => {
        if (error === undefined) resolve();
        else reject(deserializeError(error, thread.index));
      });
    });
  }

  private send(thread: Thread, message: ToThread): void {
    thread.worker.postMessage(message);
  }

  private threadFailed(thread: Thread, err: unknown): void {
    const error = new StreamsError(
      'STREAM_THREAD_FAILED',
      `stream thread ${thread.index} failed: ${errorMessage(err)}`,
      { cause: err },
    );
    for (const reply of thread.replies.values()) reply({ code: error.code, message: errorMessage(err) });
    thread.replies.clear();
    this.fail(error);
  }

  /** A thread failed: the app fails with it, once; the other threads are closed (by start or close if under way). */
  private fail(error: StreamsError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    if (this.startDone && this.closing === undefined)
      void this.stopThreads({}).then(() => this.toError(error));
  }

  private toError(error: StreamsError): void {
    if (this.currentState === 'ERROR') return;
    this.transition('ERROR');
    for (const l of this.errorListeners) l(error);
    // As a one-thread app: a failed app's operations server stops (its liveness probe fails).
    void this.closeOps();
  }

  /** Stops the operations server and takes the app's metrics off their registry; idempotent. */
  private closeOps(): Promise<void> {
    this.opsClosing ??= (async () => {
      this.aggregatedMetrics?.close();
      await this.opsServer?.close();
    })();
    return this.opsClosing;
  }

  /** Every answering thread's metrics; rejects with MetricsUnavailable when one does not answer in time. */
  private gatherMetrics(): Promise<MetricsJson[]> {
    return Promise.all(
      this.threads
        .filter((t) => t.answering)
        .map((t) =>
          this.request(t, { kind: 'metrics' }, SCRAPE_TIMEOUT_MS).then(
            (reply) => (reply.kind === 'metrics' ? reply.metrics : []),
            (err: unknown) => {
              throw new MetricsUnavailable(`the metrics of ${errorMessage(err)}`);
            },
          ),
        ),
    );
  }

  /**
   * How long the thread's processing loop has been stuck, as it reported; once its reports are late (its event
   * loop has not turned), plus the time since its last one. 0 for a thread that runs no loop.
   */
  private stuckForMs(thread: Thread): number {
    const probe = thread.probe;
    if (
      probe === undefined ||
      thread.exited ||
      (thread.state !== 'RUNNING' && thread.state !== 'REBALANCING')
    ) {
      return 0;
    }
    const late = Date.now() - probe.at;
    return probe.stuckForMs + (late > REPORT_LATE_MS ? late : 0);
  }

  /** Asks `thread`; rejects with ThreadUnavailable without its answer within `timeoutMs`. */
  private request(thread: Thread, request: ThreadRequest, timeoutMs: number): Promise<ThreadReply> {
    if (!thread.answering || thread.exited) {
      return Promise.reject(new ThreadUnavailable('gone', `stream thread ${thread.index}: it does not run`));
    }
    const id = this.nextRequestId++;
    return new Promise<ThreadReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(id);
        reject(
          new ThreadUnavailable(
            'timeout',
            `stream thread ${thread.index}: it did not answer within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.requests.set(id, { thread, resolve, reject, timer });
      this.send(thread, { type: 'request', id, request });
    });
  }

  /** The thread answers no more: its requests fail, and it is asked nothing new. */
  private endRequests(thread: Thread): void {
    thread.answering = false;
    for (const [id, pending] of this.requests) {
      if (pending.thread !== thread) continue;
      this.requests.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new ThreadUnavailable('gone', `stream thread ${thread.index}: it has closed`));
    }
  }

  /** RUNNING once every thread runs, REBALANCING while one does not. */
  private followThreads(): void {
    if (this.currentState !== 'RUNNING' && this.currentState !== 'REBALANCING') return;
    if (this.failure !== undefined) return;
    this.transition(this.threads.every((t) => t.state === 'RUNNING') ? 'RUNNING' : 'REBALANCING');
  }

  /** Tells the listeners the instance's assignment once every thread has one of the same generation. */
  private reportAssignment(): void {
    const assignments = this.threads.map((t) => t.assignment);
    const generation = assignments[0]?.generationId;
    if (generation === undefined || generation <= this.lastAssignedGeneration) return;
    if (!assignments.every((a) => a?.generationId === generation)) return;
    this.lastAssignedGeneration = generation;
    const all = assignments as TaskAssignment[];
    const union: TaskAssignment = {
      generationId: generation,
      active: all.flatMap((a) => a.active).sort(compareTaskIds),
      standby: all.flatMap((a) => a.standby).sort(compareTaskIds),
      warmup: all.flatMap((a) => a.warmup).sort(compareTaskIds),
    };
    for (const l of this.assignmentListeners) l(union);
  }

  private transition(next: StreamsState): void {
    const previous = this.currentState;
    if (previous === next) return;
    this.currentState = next;
    for (const l of this.stateListeners) l(next, previous);
  }
}
