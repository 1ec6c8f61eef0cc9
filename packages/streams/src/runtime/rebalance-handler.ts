// The rebalance handler: turns each group assignment into tasks and replicas, and asks for probing rebalances.
import { type DecodedAssignment, decodeOwnAssignment, type SubscriptionInfo } from '@eddy/assignor';
import type { ResolvedConfig } from '../config.js';
import { StreamsError } from '../errors.js';
import type { ConsumerPort, GroupJoin } from '../kafka/port.js';
import type { SealedTopology } from '../topology/topology.js';
import { QueryMetadata } from './query-metadata.js';
import type { StreamThread } from './stream-thread.js';
import { TaskId } from './task-id.js';
import type { TaskLags } from './task-lags.js';
import type { TopicLayout } from './topic-layout.js';

/** What the group gave this instance in one generation. Task ids are `<subtopology>_<partition>`, sorted. */
export interface TaskAssignment {
  generationId: number;
  /** Tasks this instance processes. */
  active: string[];
  /** Replicas kept current so that this instance can take the task over with only the tail to restore. */
  standby: string[];
  /** Replicas catching up before a later (probing) rebalance moves the task here. */
  warmup: string[];
}

export interface RebalanceHandlerDeps {
  config: ResolvedConfig;
  graph: SealedTopology;
  layout: TopicLayout;
  lags: TaskLags | undefined;
  identity: string;
  processId: string;
  onAssignment: (assignment: TaskAssignment) => void;
  /** Told when an assignment says the app cannot go on (e.g. a source topic's partition count changed). */
  onFailure: (error: StreamsError) => void;
}

export class RebalanceHandler {
  private thread: StreamThread | undefined;
  private consumer: ConsumerPort | undefined;
  private own: DecodedAssignment | undefined;
  private activeTasks = new Set<TaskId>();
  private assignedAt = 0;
  private generation = -1;
  private joins = 0;
  private routing: QueryMetadata | undefined;
  /** The warm-up set a catch-up rejoin was last asked for, when, and how often in a row for that same set. */
  private probedWarmups: string | undefined;
  private probedAt = 0;
  private repeatedProbes = 0;
  private probingRequestedAt = -1;
  private probingRebalanceCount = 0;
  private stopped = false;

  constructor(private readonly deps: RebalanceHandlerDeps) {}

  /** Connects the handler to the consumer and thread it drives (both are created after it). */
  attach(consumer: ConsumerPort, thread: StreamThread): void {
    this.consumer = consumer;
    this.thread = thread;
  }

  /** No more probing rejoins (the app is stopping or failed). */
  stop(): void {
    this.stopped = true;
  }

  get rebalances(): number {
    return this.joins;
  }

  get generationId(): number {
    return this.generation;
  }

  get probingRebalances(): number {
    return this.probingRebalanceCount;
  }

  get assignment(): DecodedAssignment | undefined {
    return this.own;
  }

  get queryMetadata(): QueryMetadata | undefined {
    return this.routing;
  }

  /**
   * This member's subscription, at every join: active tasks report lag 0; replicas and state left on the volume
   * their distance from the changelog ends; tasks without local state their whole changelog.
   */
  subscription(): SubscriptionInfo {
    const { applicationServer, rackId } = this.deps.config;
    return {
      identity: this.deps.identity,
      processId: this.deps.processId,
      taskLags: this.deps.lags?.lags(this.activeTasks) ?? new Map(),
      ...(applicationServer === undefined ? {} : { endpoint: applicationServer }),
      ...(rackId === undefined ? {} : { rack: rackId }),
    };
  }

  onGroupJoin(join: GroupJoin): void {
    const { graph, layout } = this.deps;
    const assignment = decodeOrNone(join.userData);
    if (assignment?.errorCode === 'SOURCE_TOPIC_PARTITIONS_CHANGED') {
      const counts = [...layout.partitions].map(([s, n]) => `subtopology ${s}: ${n}`).join(', ');
      this.deps.onFailure(
        new StreamsError(
          'SOURCE_TOPIC_PARTITIONS_CHANGED',
          `the partition count of a source topic (${[...graph.subtopologyOfTopic.keys()].join(', ')}) is no longer ` +
            `the one the application started with (${counts}); tasks, changelogs and state are keyed by ` +
            'partition: restore the previous count, or reset the application',
        ),
      );
      return;
    }
    this.joins++;
    this.generation = join.generationId;
    this.own = assignment;
    this.assignedAt = Date.now();
    const active = new Set<TaskId>();
    const partitions = new Set<string>();
    for (const { topic, partition } of join.assigned) {
      partitions.add(`${topic}:${partition}`);
      const subtopology = graph.subtopologyOfTopic.get(topic);
      if (subtopology !== undefined) active.add(TaskId.of(subtopology, partition));
    }
    this.activeTasks = active;
    if (assignment !== undefined) {
      this.routing = new QueryMetadata(assignment.hostOf, graph.subtopologyOfStore, layout.partitions);
    }
    const replicas = new Set(
      [...(assignment?.standby ?? []), ...(assignment?.warmup ?? [])].map((t) => TaskId.parse(t)),
    );
    void this.thread?.assign({ active, partitions, replicas });
    this.deps.onAssignment({
      generationId: join.generationId,
      active: [...active].sort(TaskId.compare).map(String),
      standby: [...(assignment?.standby ?? [])],
      warmup: [...(assignment?.warmup ?? [])],
    });
  }

  /**
   * A member with warm-up replicas asks for a rebalance (the probing rebalance) once they are all within the
   * acceptable lag, so the group can move the tasks here; or, if they do not catch up, after the probing interval.
   */
  probeIfWarm(): void {
    const assignment = this.own;
    const lags = this.deps.lags;
    const { config } = this.deps;
    if (assignment === undefined || lags === undefined || assignment.warmup.length === 0) return;
    if (this.stopped || this.probingRequestedAt === this.generation) return;
    const warmups = assignment.warmup.join(',');
    const caughtUp = assignment.warmup.every(
      (t) => lags.lagOf(TaskId.parse(t)) <= config.acceptableRecoveryLag,
    );
    const now = Date.now();
    const overdue = now - this.assignedAt >= config.probingRebalanceIntervalMs;
    const repeat = caughtUp && this.probedWarmups === warmups;
    const due = probeDue({
      caughtUp,
      overdue,
      repeat,
      sinceLastProbeMs: now - this.probedAt,
      repeatedProbes: this.repeatedProbes,
      intervalMs: config.probingRebalanceIntervalMs,
    });
    if (!due) return;
    this.repeatedProbes = repeat ? this.repeatedProbes + 1 : 0;
    this.probedWarmups = caughtUp ? warmups : undefined;
    this.probedAt = now;
    this.probingRequestedAt = this.generation;
    this.probingRebalanceCount++;
    config.logger.info('asking for a probing rebalance', {
      warmups,
      reason: caughtUp ? 'warm-up replicas caught up' : 'probing interval passed',
    });
    this.consumer?.requestRejoin();
  }
}

/** The first wait before asking again for the same caught-up warm-ups; it doubles with each repeat. */
export const REPEATED_PROBE_BACKOFF_MS = 5_000;

export interface ProbeFacts {
  /** Every warm-up replica is within the acceptable recovery lag. */
  caughtUp: boolean;
  /** The probing interval has passed since the last assignment. */
  overdue: boolean;
  /** The same warm-ups were given again after a catch-up rejoin for them. */
  repeat: boolean;
  sinceLastProbeMs: number;
  /** How many catch-up rejoins in a row were asked for this same warm-up set. */
  repeatedProbes: number;
  intervalMs: number;
}

/**
 * Whether to ask for a probing rebalance. The same warm-ups may come back after a catch-up rejoin when the active
 * task wrote more than the acceptable lag while the group rebalanced (the replica does not read meanwhile); asking
 * again at once could loop, waiting the whole probing interval leaves the group unbalanced for that long: the
 * repeat waits a backoff that doubles each time, up to the interval.
 */
export function probeDue(f: ProbeFacts): boolean {
  if (f.overdue) return true;
  if (!f.caughtUp) return false;
  if (!f.repeat) return true;
  const backoff = Math.min(f.intervalMs, REPEATED_PROBE_BACKOFF_MS * 2 ** f.repeatedProbes);
  return f.sinceLastProbeMs >= backoff;
}

/** The Eddy assignment in a member's userData, or undefined when the group's leader did not write one. */
function decodeOrNone(userData: Buffer | null | undefined): DecodedAssignment | undefined {
  try {
    return decodeOwnAssignment(userData);
  } catch {
    return undefined;
  }
}
