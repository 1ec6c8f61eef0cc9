// Standby and warm-up replicas: local copies of other instances' task state, kept current from the changelogs.
import type { TaskStateManager } from '@eddy/state';
import type { ResolvedConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import type { AdminPort, ChangelogReaderPort } from '../kafka/port.js';
import type { SealedTopology } from '../topology/topology.js';
import { RestoreStopped, restoreTasks } from './state-restorer.js';
import type { TaskId } from './task-id.js';
import type { TaskLags } from './task-lags.js';
import { createTaskState, openTaskState } from './task-state.js';

/** How often the changelog ends are read while this instance runs no replicas. */
const IDLE_REFRESH_MS = 10_000;

export interface ReplicaManagerDeps {
  config: ResolvedConfig;
  graph: SealedTopology;
  admin: AdminPort;
  /** A reader of its own, so that replicas never hold up the restore of an active task. */
  reader: ChangelogReaderPort;
  lags: TaskLags;
  /** Called after every round of catching up, with the lags just measured. */
  onCaughtUp?: () => void;
}

interface Replica {
  readonly id: TaskId;
  state: TaskStateManager | undefined;
  /** Settles once the state is open (or failed to open). */
  opened: Promise<void>;
  /** The read in progress, if any. */
  reading: Promise<unknown> | undefined;
  released: boolean;
}

/**
 * Runs a replica per assigned standby or warm-up task. Every `replicaPollIntervalMs` the replicas read their
 * changelogs from their checkpoints to the current ends (`restoreTasks`, without the restore listener, which is for
 * active tasks), so its stores and checkpoints on disk are always a consistent, recent copy. Promoting a replica
 * means releasing it: the active task then opens the same directory and restores only the tail.
 */
export class ReplicaManager {
  private readonly replicas = new Map<TaskId, Replica>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly deps: ReplicaManagerDeps) {}

  /** Runs replicas for exactly `ids`: opens the new ones in the background, closes the others. */
  async assign(ids: ReadonlySet<TaskId>): Promise<void> {
    if (this.closed) return;
    await this.release([...this.replicas.keys()].filter((id) => !ids.has(id)));
    for (const id of ids) {
      if (this.replicas.has(id)) continue;
      const replica: Replica = {
        id,
        state: undefined,
        opened: Promise.resolve(),
        reading: undefined,
        released: false,
      };
      replica.opened = this.open(replica);
      this.replicas.set(id, replica);
    }
    this.schedule(0);
  }

  /** A store of the replica of `id` once its state is open (for stale reads); undefined otherwise. */
  store(id: TaskId, name: string): unknown {
    const state = this.replicas.get(id)?.state;
    if (state === undefined || !state.storeNames().includes(name)) return undefined;
    return state.store(name);
  }

  /** Closes the replicas of `ids` (e.g. to promote them to active tasks); resolves once their locks are free. */
  async release(ids: Iterable<TaskId>): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const id of ids) {
      const replica = this.replicas.get(id);
      if (replica === undefined) continue;
      this.replicas.delete(id);
      replica.released = true;
      closing.push(this.closeReplica(replica));
    }
    await Promise.all(closing);
  }

  /** Stops polling and closes every replica. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.release([...this.replicas.keys()]);
    await this.round?.catch(() => undefined);
  }

  private async open(replica: Replica): Promise<void> {
    const { config, graph, lags } = this.deps;
    const taskState = createTaskState(config, graph, replica.id);
    if (taskState === undefined) {
      this.replicas.delete(replica.id);
      return;
    }
    const { state } = taskState;
    try {
      await openTaskState(state, config);
    } catch (err) {
      await state.close().catch(() => undefined);
      if (!replica.released) {
        config.logger.warn('a replica could not open its state; running without it', {
          task: replica.id.toString(),
          error: errorMessage(err),
        });
        this.replicas.delete(replica.id);
      }
      return;
    }
    if (replica.released) {
      await state.close();
      return;
    }
    replica.state = state;
    lags.record(replica.id, state.changelogPartitions());
  }

  private async closeReplica(replica: Replica): Promise<void> {
    // A read in progress stops at its next batch (RestoreStopped); what it applied is checkpointed.
    await replica.opened;
    await replica.reading?.catch(() => undefined);
    const state = replica.state;
    replica.state = undefined;
    if (state === undefined) return;
    this.deps.lags.record(replica.id, state.changelogPartitions());
    await state.close();
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.round !== undefined) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.round = this.catchUp().finally(() => {
        this.round = undefined;
        // Without replicas, the rounds only keep the reported lags fresh; that needs no per-second requests.
        const poll = this.deps.config.replicaPollIntervalMs;
        this.schedule(this.replicas.size > 0 ? poll : Math.max(poll, IDLE_REFRESH_MS));
      });
    }, delayMs);
    this.timer.unref();
  }

  /**
   * One round: every open replica reads its changelogs up to their current end, all in one read. Releasing a replica
   * stops the round at its next batch; the others continue from their checkpoints in the next round.
   */
  private async catchUp(): Promise<void> {
    const { admin, reader, config, lags } = this.deps;
    try {
      await lags.refreshEnds(admin);
    } catch (err) {
      config.logger.warn('reading changelog ends failed; replicas retry', { error: errorMessage(err) });
      return;
    }
    const replicas = [...this.replicas.values()];
    await Promise.all(replicas.map((r) => r.opened));
    const open = replicas.filter((r) => r.state !== undefined && !r.released);
    if (open.length > 0) {
      const reading = restoreTasks(
        open.map((r) => r.state!),
        {
          admin,
          reader,
          logger: config.logger,
          listener: undefined,
          shouldStop: () => this.closed || open.some((r) => r.released),
        },
      );
      for (const r of open) r.reading = reading;
      let completed = false;
      try {
        await reading;
        completed = true;
      } catch (err) {
        if (!(err instanceof RestoreStopped)) {
          config.logger.warn('replicas failed to catch up; they retry', { error: errorMessage(err) });
        }
      }
      for (const r of open) {
        r.reading = undefined;
        if (r.released || r.state === undefined) continue;
        const partitions = r.state.changelogPartitions();
        lags.record(r.id, partitions);
        // The read went at least to the ends refreshed before it (the restore lists them again, later).
        if (completed)
          lags.readThrough(
            r.id,
            partitions.filter((p) => !p.fromSource).map((p) => p.topic),
          );
      }
    }
    this.deps.onCaughtUp?.();
  }
}
