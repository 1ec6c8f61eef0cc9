// The input and output types of the assignment algorithm, and its option defaults.

/**
 * One group member as the leader sees it in its subscription: one stream thread of an Eddy process
 * (instance). An instance running several threads joins as several members that share its `processId`.
 */
export interface AssignmentMember {
  /** The consumer-group member id; the plan is keyed by it. */
  readonly memberId: string;
  /**
   * Stable name of the member, e.g. the StatefulSet pod name `app-3` for the first thread and `app-3.t2`
   * for the second. Orders members deterministically.
   */
  readonly identity: string;
  /**
   * The UUID persisted in the instance's state directory. Members with the same `processId` are the
   * threads of one instance: they share its state (and report the same lags). Tasks are balanced over
   * processes, weighted by their number of threads, then over the threads of each process; a standby
   * or warm-up of a task is never placed on the process of its active.
   */
  readonly processId: string;
  /**
   * Task id → number of changelog records the member's local state is behind the end. 0 = caught up;
   * a task that is absent has no local state on this member.
   */
  readonly taskLags: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /**
   * Tasks the member ran as active before this rebalance, when known. Keeps tasks sticky: on the
   * process (a task any of its threads ran counts as the process's), then on this thread.
   */
  readonly previousActive?: readonly string[];
  /** Interactive-query endpoint, `host:port`. */
  readonly endpoint?: string;
  /**
   * Rack or zone; standbys avoid the rack of their active when another rack is available. A process's
   * rack is the rack of its first member.
   */
  readonly rack?: string;
}

/** A task: one partition number of one subtopology, e.g. `0_3`. */
export interface AssignmentTask {
  readonly id: string;
  readonly stateful: boolean;
}

export interface AssignmentOptions {
  /** Standby replicas per stateful task, each on a different process; at most (processes - 1) are placed. */
  readonly numStandbyReplicas: number;
  /** A member whose lag for a task is at most this counts as caught up for it. */
  readonly acceptableRecoveryLag: number;
  /** At most this many warm-up replicas across the whole group per rebalance (at least 1). */
  readonly maxWarmupReplicas: number;
}

export const DEFAULT_ASSIGNMENT_OPTIONS: AssignmentOptions = Object.freeze({
  numStandbyReplicas: 0,
  acceptableRecoveryLag: 10_000,
  maxWarmupReplicas: 2,
});

export interface AssignmentInput {
  readonly members: readonly AssignmentMember[];
  readonly tasks: readonly AssignmentTask[];
  readonly options?: Partial<AssignmentOptions>;
}

/** What one member runs. Task ids are sorted (subtopology, then partition). */
export interface MemberAssignment {
  readonly active: readonly string[];
  readonly standby: readonly string[];
  /** Replicas restoring state so that a later (probing) rebalance can move the active here. */
  readonly warmup: readonly string[];
}

/** The tasks an endpoint serves for interactive queries. */
export interface HostTasks {
  readonly active: readonly string[];
  readonly standby: readonly string[];
  readonly rack?: string;
}

export interface AssignmentPlan {
  /** memberId → its tasks, for every member of the input, in member order. */
  readonly members: ReadonlyMap<string, MemberAssignment>;
  /** endpoint → the active and standby tasks of the member(s) at that endpoint. */
  readonly hostOf: ReadonlyMap<string, HostTasks>;
  /** True when warm-ups are pending or balance was held back by state; rebalance again later. */
  readonly probingRebalanceNeeded: boolean;
}
