// The stream thread: the poll → process → punctuate → commit loop over the active tasks, one at a time.
import type { ResolvedConfig } from '../config.js';
import { errorMessage, StreamsError } from '../errors.js';
import type { BatchControl, ConsumerPort, FetchedBatch } from '../kafka/port.js';
import type { SealedTopology } from '../topology/topology.js';
import type { CommitProtocol } from './commit/commit-protocol.js';
import type { PendingOffsets } from './commit/pending-offsets.js';
import type { RepartitionPurger } from './repartition-purger.js';
import type { ReplicaManager } from './replica-manager.js';
import { TaskId } from './task-id.js';
import type { TaskManager } from './task-manager.js';

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
  private stopping = false;
  private failed = false;
  private batchInFlight: Promise<void> | undefined;
  /** Serializes batches, timer-driven punctuation, assignment changes and the final commit. */
  private exclusive: Promise<void> = Promise.resolve();
  private wallClockTimer: NodeJS.Timeout | undefined;
  /** Tasks closed after their producer was fenced: their records are ignored until the next assignment. */
  private readonly suspended = new Set<TaskId>();

  constructor(private readonly deps: StreamThreadDeps) {}

  get processed(): number {
    return this.processedCount;
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
    offsets.retain(assignment.active);
    this.suspended.clear();
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
        tasks.ensure(id).catch((err) => this.fail(asStreamsError(err, 'STATE_FAILED')));
      }
      // Replicas open in the background; a task this instance just gave up becomes one once its lock is free.
      await replicas?.assign(assignment.replicas);
    }).catch((err) => this.fail(asStreamsError(err, 'STATE_FAILED')));
  }

  /** Ignores a task's records until the next assignment (it was closed after being fenced). */
  suspend(id: TaskId): void {
    this.suspended.add(id);
  }

  /**
   * Stops processing: waits for the running batch and any queued work, then commits what was processed; with
   * `bestEffort` (after a failure) a failing commit is ignored. Assignment changes queued meanwhile run after the
   * commit, never during it.
   */
  async stop({ bestEffort }: { bestEffort: boolean }): Promise<void> {
    this.stopping = true;
    clearInterval(this.wallClockTimer);
    await this.batchInFlight?.catch(() => undefined);
    await this.runExclusive(async () => {
      if (bestEffort || this.failed) await this.commit().catch(() => undefined);
      else await this.commit();
    });
  }

  private runExclusive(work: () => Promise<void>): Promise<void> {
    const run = this.exclusive.then(work);
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  private fail(error: StreamsError): void {
    if (this.failed) return;
    this.failed = true;
    this.deps.onFailure(error);
  }

  private async commit(): Promise<void> {
    const committed = await this.deps.commit.commit();
    this.lastCommit = Date.now();
    this.deps.purger.committed(committed);
  }

  /** Wall-clock punctuators fire, and processed input gets committed on the interval, while no input arrives too. */
  private startWallClock(): void {
    const { tasks, offsets, config } = this.deps;
    this.wallClockTimer = setInterval(() => {
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
              }
            }
            fired += task.punctuateWallClock();
          }
          const due = Date.now() - this.lastCommit >= config.commitIntervalMs;
          if (due && (offsets.size > 0 || fired > 0)) await this.commit();
          else if (fired > 0) await this.deps.commit.flushOutput();
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
    if (this.stopping || this.failed || batch.records.length === 0) return;
    const { tasks, offsets, config, graph } = this.deps;
    const subtopology = graph.subtopologyOfTopic.get(batch.topic);
    if (subtopology === undefined) {
      this.fail(
        new StreamsError('ILLEGAL_STATE', `fetched records of topic ${batch.topic}, which no source reads`),
      );
      return;
    }
    const id = TaskId.of(subtopology, batch.partition);
    if (this.suspended.has(id)) return;
    let failed: StreamsError | undefined;
    let commitRequested = false;
    try {
      const { task } = await this.whileHeartbeating(control, tasks.ensure(id));
      task.addRecords(batch.topic, batch.records, batch.highWatermark, batch.lastOffset);
      // Fetching continues after the buffered records; offsets are committed only up to processed ones.
      control.markConsumed(batch.records[batch.records.length - 1]!.offset);
      try {
        this.processedCount += task.process(() => !this.stopping && control.isActive());
        task.punctuateWallClock();
      } catch (err) {
        failed = asStreamsError(err, 'PROCESSING_FAILED');
      }
      offsets.record(task);
      commitRequested = task.takeCommitRequest();
    } catch (err) {
      failed = asStreamsError(err, 'STATE_FAILED');
    }
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
