// The stream thread: the poll → process → punctuate → commit loop over the active tasks, one at a time.
import type { ResolvedConfig } from '../config.js';
import { errorMessage, StreamsError } from '../errors.js';
import type { BatchControl, ConsumerPort, FetchedBatch, TopicPartitionOffset } from '../kafka/port.js';
import type { SealedTopology } from '../topology/topology.js';
import type { CommitProtocol } from './commit/commit-protocol.js';
import type { PendingOffsets } from './commit/pending-offsets.js';
import type { RepartitionPurger } from './repartition-purger.js';
import type { ReplicaManager } from './replica-manager.js';
import type { StreamTask } from './stream-task.js';
import { TaskId } from './task-id.js';
import { type TaskManager, TaskRevoked } from './task-manager.js';

/** How often idle tasks are checked for due wall-clock punctuators. */
const WALL_CLOCK_TICK_MS = 50;

export interface StreamThreadDeps {
  config: ResolvedConfig;
  graph: SealedTopology;
  tasks: TaskManager;
  offsets: PendingOffsets;
  commit: CommitProtocol;
  consumer: ConsumerPort;
  replicas: ReplicaManager | undefined;
  purger: RepartitionPurger;
  /** Told once per failure that must stop the app; the thread itself never throws into the client. */
  onFailure: (error: StreamsError) => void;
  /** Told of each processed batch and each commit (metrics); absent, nothing is timed. */
  observer?: ThreadObserver;
  /** Told of each commit's offsets (crash-loop protection clears a suspect record they passed). */
  onCommitted?: (offsets: readonly TopicPartitionOffset[]) => void;
}

/** What the metrics see of the loop: once per batch and per commit, never per record. */
export interface ThreadObserver {
  /** A task processed `records` records of one batch in `seconds`. */
  batchProcessed(task: TaskId, records: number, seconds: number): void;
  committed(seconds: number): void;
  /** An assignment was taken (tasks closed and opened, replicas started) in `seconds`. */
  rebalanced(seconds: number): void;
}

/** What the group gave this instance to run: active tasks with the partitions it fetches, and replicas. */
export interface ThreadAssignment {
  active: ReadonlySet<TaskId>;
  /** `topic:partition` of every partition the consumer fetches. */
  partitions: ReadonlySet<string>;
  replicas: ReadonlySet<TaskId>;
}

export class StreamThread {
  private processedCount = 0;
  private lastCommit = Date.now();
  /** When the exclusive work under way (a batch once its task is ready, a tick, a commit) started; 0 while none is. */
  private busySince = 0;
  /** The last run of the wall-clock tick: it stops when the event loop is blocked. */
  private lastTick = Date.now();
  /** Per `topic:partition` fetched here: the log end offset at the last fetch, and the committed position. */
  private readonly logEnds = new Map<string, bigint>();
  private readonly positions = new Map<string, bigint>();
  /** `topic:partition` of every partition the current assignment fetches. */
  private fetching: ReadonlySet<string> = new Set();
  private stopping = false;
  /** Halted: stopping without a last commit. */
  private halted = false;
  private failed = false;
  private batchInFlight: Promise<void> | undefined;
  /** Serializes batches, timer-driven punctuation, assignment changes and the final commit. */
  private exclusive: Promise<void> = Promise.resolve();
  private wallClockTimer: NodeJS.Timeout | undefined;
  /** Tasks closed after their producer was fenced: their records are ignored until the next assignment. */
  private readonly suspended = new Set<TaskId>();
  /** `topic:partition` of the inputs whose fetching is paused: their task holds too many of their records. */
  private readonly paused = new Map<string, { topic: string; partition: number }>();

  constructor(private readonly deps: StreamThreadDeps) {}

  get processed(): number {
    return this.processedCount;
  }

  /**
   * How long the loop has been stuck at `now` (ms): in one batch since it started, or without a wall-clock tick
   * while idle; 0 when it moves.
   */
  stuckFor(now = Date.now()): number {
    if (this.busySince > 0) return now - this.busySince;
    return this.stopping ? 0 : Math.max(0, now - this.lastTick - WALL_CLOCK_TICK_MS);
  }

  /**
   * Consumer lag per fetched partition (`topic:partition`): the log end offset at the last fetch minus the
   * committed position (before the first commit, the position fetching started at). Every assigned partition is
   * listed; undefined while its lag is unknown (no fetch has told its log end and position yet).
   */
  lags(): Map<string, number | undefined> {
    const out = new Map<string, number | undefined>();
    for (const tp of this.fetching) {
      const end = this.logEnds.get(tp);
      const at = this.positions.get(tp);
      out.set(tp, end === undefined || at === undefined ? undefined : Math.max(0, Number(end - at)));
    }
    return out;
  }

  /** Starts fetching and the wall-clock tick; resolves once the consumer runs. */
  async run(): Promise<void> {
    await this.deps.consumer.run((batch, control) => this.trackBatch(batch, control));
    this.startWallClock();
  }

  /**
   * Takes a new assignment, between batches: closes the tasks no longer assigned (uncommitted work dropped), hands
   * replicas that became active over to their tasks, opens (and restores) new tasks, and runs the new replicas.
   */
  assign(assignment: ThreadAssignment): Promise<void> {
    const { tasks, offsets, replicas, graph } = this.deps;
    // Offsets of partitions we no longer own cannot be committed by us any more: the new owner replays them.
    const started = performance.now();
    offsets.retain(assignment.active);
    this.suspended.clear();
    // The next batch of a task that still holds too much pauses its input again.
    if (this.paused.size > 0) this.deps.consumer.resume([...this.paused.values()]);
    this.paused.clear();
    this.fetching = assignment.partitions;
    for (const tp of this.logEnds.keys()) {
      if (!assignment.partitions.has(tp)) {
        this.logEnds.delete(tp);
        this.positions.delete(tp);
      }
    }
    return this.runExclusive(async () => {
      // A replica that becomes active hands its directory over: the task opens it and restores only the tail.
      await replicas?.release(assignment.active);
      await tasks.retainOnly(assignment.active);
      for (const { task } of tasks.active()) {
        for (const topic of graph.subtopologies[task.id.subtopology]?.sourceTopics ?? []) {
          if (!assignment.partitions.has(`${topic}:${task.partition}`)) task.revoke(topic);
        }
      }
      // Restore new tasks now, not at their first record: the instance is ready once restoring ends.
      for (const id of assignment.active) {
        tasks.ensure(id).catch((err) => {
          if (!(err instanceof TaskRevoked)) this.fail(asStreamsError(err, 'STATE_FAILED'));
        });
      }
      // Replicas open in the background; a task this instance just gave up becomes one once its lock is free.
      await replicas?.assign(assignment.replicas);
      this.deps.observer?.rebalanced((performance.now() - started) / 1000);
    }).catch((err) => this.fail(asStreamsError(err, 'STATE_FAILED')));
  }

  /** Ignores a task's records until the next assignment (it was closed after being fenced). */
  suspend(id: TaskId): void {
    this.suspended.add(id);
  }

  /**
   * Stops processing: waits for the running batch and any queued work, then commits what was processed; with
   * `bestEffort` (after a failure) a failing commit is ignored. Assignment changes queued meanwhile run after the
   * commit, never during it. A purge of repartition records under way is waited for.
   */
  async stop({ bestEffort }: { bestEffort: boolean }): Promise<void> {
    this.stopping = true;
    clearInterval(this.wallClockTimer);
    await this.batchInFlight?.catch(() => undefined);
    await this.runExclusive(async () => {
      if (bestEffort || this.failed) await this.commit().catch(() => undefined);
      else await this.commit();
    });
    // A purge still deleting records when the admin client closes fails and only logs a warning; let it finish.
    await this.deps.purger.idle();
  }

  /** Stops at once, committing nothing (its clients are about to be released): no new batch, tick or commit. */
  halt(): void {
    this.stopping = true;
    this.halted = true;
    clearInterval(this.wallClockTimer);
  }

  private runExclusive(work: () => Promise<void>): Promise<void> {
    const run = this.exclusive.then(async () => {
      this.busySince = Date.now();
      try {
        await work();
      } finally {
        this.busySince = 0;
      }
    });
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  private fail(error: StreamsError): void {
    // A halted thread's tasks are being released (e.g. for an in-process reconnect): what fails in them now, such as
    // a restore whose reader was closed under it, is no failure of the app's current run.
    if (this.failed || this.halted) return;
    this.failed = true;
    this.deps.onFailure(error);
  }

  private async commit(): Promise<void> {
    // A batch that was running when the thread halted must not commit while its tasks are being released.
    if (this.halted) return;
    const observer = this.deps.observer;
    const started = observer === undefined ? 0 : performance.now();
    const committed = await this.deps.commit.commit();
    this.lastCommit = Date.now();
    for (const o of committed) {
      const tp = `${o.topic}:${o.partition}`;
      if (this.logEnds.has(tp)) this.positions.set(tp, BigInt(o.offset));
    }
    observer?.committed((performance.now() - started) / 1000);
    this.deps.purger.committed(committed);
    this.deps.onCommitted?.(committed);
  }

  /** Wall-clock punctuators fire, and processed input gets committed on the interval, while no input arrives too. */
  private startWallClock(): void {
    const { tasks, offsets, config } = this.deps;
    this.wallClockTimer = setInterval(() => {
      this.lastTick = Date.now();
      if (this.stopping || this.failed || this.batchInFlight) return;
      void this.runExclusive(async () => {
        if (this.stopping || this.failed) return;
        let fired = 0;
        try {
          for (const { task } of tasks.active()) {
            // A task waiting for one of its inputs (maxTaskIdleMs) goes on once its wait is over.
            if (task.buffered > 0) {
              try {
                this.processedCount += task.process(() => !this.stopping);
              } finally {
                offsets.record(task);
                this.boundBuffers(task);
              }
            }
            fired += task.punctuateWallClock();
          }
          const due = Date.now() - this.lastCommit >= config.commitIntervalMs;
          if (due && (offsets.size > 0 || fired > 0)) await this.commit();
          // Output left buffered (or a send that failed since the last batch) goes out (or fails the thread) now.
          else if (fired > 0 || this.deps.commit.outputWaiting) await this.deps.commit.flushOutput();
        } catch (err) {
          this.fail(asStreamsError(err, 'PROCESSING_FAILED'));
        }
      });
    }, WALL_CLOCK_TICK_MS);
    this.wallClockTimer.unref();
  }

  private trackBatch(batch: FetchedBatch, control: BatchControl): Promise<void> {
    if (batch.records.length === 0) return this.noteLogEnd(batch, control);
    return this.track(() => this.processBatch(batch, control));
  }

  private track(work: () => Promise<void>): Promise<void> {
    const run = this.runExclusive(work);
    this.batchInFlight = run;
    return run.finally(() => {
      if (this.batchInFlight === run) this.batchInFlight = undefined;
    });
  }

  /** The task that reads `batch`, or undefined (after failing the thread) when no source reads its topic. */
  private taskOf(batch: FetchedBatch): TaskId | undefined {
    const subtopology = this.deps.graph.subtopologyOfTopic.get(batch.topic);
    if (subtopology === undefined) {
      this.fail(
        new StreamsError('ILLEGAL_STATE', `fetched records of topic ${batch.topic}, which no source reads`),
      );
      return undefined;
    }
    return TaskId.of(subtopology, batch.partition);
  }

  /**
   * A fetch found no records in a partition: its task learns where that input's log ends (normally: caught up),
   * and processes if that input was all it waited for. Several such fetches arrive per second for each idle partition,
   * so this does no I/O unless the task becomes ready, and never waits for a task being created (restoring): that
   * task learns it once created.
   */
  private noteLogEnd(batch: FetchedBatch, control: BatchControl): Promise<void> {
    if (this.stopping || this.failed) return Promise.resolve();
    const id = this.taskOf(batch);
    if (id === undefined || this.suspended.has(id)) return Promise.resolve();
    this.notePositions(batch);
    const note = (task: StreamTask) => this.buffer(task, batch);
    const ready = this.deps.tasks.get(id);
    if (ready === undefined) {
      // Without blocking the fetch loop on the restore; a record batch of the task awaits the same creation after.
      // A failing creation is reported by the assignment or the record batch that awaits it too.
      this.deps.tasks
        .ensure(id)
        .then(({ task }) => note(task))
        .catch(() => undefined);
      return Promise.resolve();
    }
    note(ready.task);
    if (ready.task.buffered === 0 || !ready.task.readyToProcess()) return Promise.resolve();
    return this.track(() => this.processTask(id, control));
  }

  /** Buffers a fetched batch in its task, then processes the task. */
  private async processBatch(batch: FetchedBatch, control: BatchControl): Promise<void> {
    if (this.stopping || this.failed) return;
    const id = this.taskOf(batch);
    if (id === undefined || this.suspended.has(id)) return;
    let task: StreamTask;
    // Before waiting for a restoring task: its lag goes on growing meanwhile, and the metrics show it.
    this.notePositions(batch);
    try {
      // Waiting for a task to restore is not a stuck loop: restores report their own progress.
      this.busySince = 0;
      ({ task } = await this.whileHeartbeating(control, this.deps.tasks.ensure(id)));
      this.busySince = Date.now();
      this.buffer(task, batch);
    } catch (err) {
      // Revoked meanwhile: its records are the new owner's to process.
      if (err instanceof TaskRevoked) return;
      return this.afterProcessing(asStreamsError(err, 'STATE_FAILED'), false, control);
    }
    // Fetching continues after the buffered records; offsets are committed only up to processed ones.
    control.markConsumed(batch.records[batch.records.length - 1]!.offset);
    return this.processTask(id, control, task);
  }

  /**
   * Hands a fetched batch to its task. A fetch of markers alone (a transaction's commit marker after the records
   * processed) moves the task's position at once: that position is then pending commit.
   */
  private buffer(task: StreamTask, batch: FetchedBatch): void {
    const { topic, records, highWatermark, lastOffset, fetchedThrough } = batch;
    if (task.addRecords(topic, records, highWatermark, lastOffset, fetchedThrough))
      this.deps.offsets.record(task);
  }

  /** Processes a task's buffered records synchronously, starts sending its output, and commits when due. */
  private async processTask(id: TaskId, control: BatchControl, ready?: StreamTask): Promise<void> {
    if (this.stopping || this.failed) return;
    const task = ready ?? this.deps.tasks.get(id)?.task;
    if (task === undefined) return;
    const { offsets } = this.deps;
    let failed: StreamsError | undefined;
    const observer = this.deps.observer;
    const started = observer === undefined ? 0 : performance.now();
    try {
      // Read once: the consumer's state cannot change while the task processes (synchronously), and asking the
      // client costs more per record than processing a simple one.
      const active = control.isActive();
      const processed = task.process(() => !this.stopping && active);
      this.processedCount += processed;
      if (observer !== undefined && processed > 0) {
        observer.batchProcessed(id, processed, (performance.now() - started) / 1000);
      }
      task.punctuateWallClock();
    } catch (err) {
      failed = asStreamsError(err, 'PROCESSING_FAILED');
    }
    offsets.record(task);
    this.boundBuffers(task);
    return this.afterProcessing(failed, task.takeCommitRequest(), control);
  }

  /**
   * Pauses fetching an input of `task` whose unprocessed records reached `bufferedRecordsPerPartition`, and resumes
   * one that went below it.
   */
  private boundBuffers(task: StreamTask): void {
    const bound = this.deps.config.bufferedRecordsPerPartition;
    for (const topic of this.deps.graph.subtopologies[task.id.subtopology]?.sourceTopics ?? []) {
      const tp = { topic, partition: task.partition };
      const key = `${topic}:${task.partition}`;
      const over = task.bufferedOf(topic) >= bound;
      if (over && !this.paused.has(key)) {
        this.paused.set(key, tp);
        this.deps.consumer.pause([tp]);
      } else if (!over && this.paused.has(key)) {
        this.paused.delete(key);
        this.deps.consumer.resume([tp]);
      }
    }
  }

  /** Commits when due (or after a failure), else sends the output; reports a failure to the app. */
  private async afterProcessing(
    processingFailure: StreamsError | undefined,
    commitRequested: boolean,
    control: BatchControl,
  ): Promise<void> {
    if (this.halted) return;
    const { tasks, config } = this.deps;
    let failed = processingFailure;
    try {
      const due =
        failed !== undefined ||
        this.stopping ||
        commitRequested ||
        tasks.needsCommit() ||
        Date.now() - this.lastCommit >= config.commitIntervalMs;
      if (due) await this.commit();
      else await this.deps.commit.flushOutput();
      await control.heartbeat().catch(() => undefined);
    } catch (err) {
      failed ??= asStreamsError(err, 'COMMIT_FAILED');
    }
    // Never throw into the client: it would restart the consumer and refetch the same record in a hot loop.
    if (failed) this.fail(failed);
  }

  /** Notes a fetched partition's log end, and where fetching started when nothing was committed here yet. */
  private notePositions(batch: FetchedBatch): void {
    const tp = `${batch.topic}:${batch.partition}`;
    if (batch.highWatermark !== undefined) this.logEnds.set(tp, BigInt(batch.highWatermark));
    // An empty fetch is a caught-up one: the position is the log end.
    const first = batch.records[0]?.offset ?? batch.highWatermark;
    if (!this.positions.has(tp) && first !== undefined) this.positions.set(tp, BigInt(first));
  }

  /**
   * Waits for `work` (a task restoring) while keeping the group membership alive: the client heartbeats from its
   * fetch loop, which waits for this batch.
   */
  private async whileHeartbeating<T>(control: BatchControl, work: Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      control.heartbeat().catch(() => undefined);
    }, this.deps.config.heartbeatIntervalMs);
    try {
      return await work;
    } finally {
      clearInterval(timer);
    }
  }
}

export function asStreamsError(err: unknown, code: StreamsError['code']): StreamsError {
  return err instanceof StreamsError ? err : new StreamsError(code, errorMessage(err), { cause: err });
}
