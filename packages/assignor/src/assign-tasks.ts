// The assignment algorithm: a pure, deterministic, sticky and lag-aware placement of tasks on members.

import { AssignorError } from './errors.js';
import type {
  AssignmentInput,
  AssignmentMember,
  AssignmentOptions,
  AssignmentPlan,
  AssignmentTask,
  HostTasks,
  MemberAssignment,
} from './plan.js';
import { DEFAULT_ASSIGNMENT_OPTIONS } from './plan.js';
import { compareTaskIds } from './task-id.js';

const NONE = -1;

/**
 * Places every task on exactly one member as active, plus standby and warm-up replicas of stateful
 * tasks. The same input gives the same plan whatever the order of `members` and `tasks`.
 * Rules (see the package README): stateful tasks go to a caught-up member, preferring the previous
 * owner then the lowest lag; active counts differ by at most one unless state holds balance back,
 * in which case warm-ups are placed and `probingRebalanceNeeded` is set.
 * Members with the same `processId` are the stream threads of one instance (one pod, one state
 * directory): actives are balanced per member, but a task's standbys and warm-up are never placed
 * on the process of its active, nor a standby on the process of its warm-up or of another standby.
 */
export function assignTasks(input: AssignmentInput): AssignmentPlan {
  const options = resolveOptions(input.options);
  const members = [...input.members].sort(compareMembers);
  const tasks = [...input.tasks].sort((a, b) => compareTaskIds(a.id, b.id));
  validate(members, tasks);
  if (members.length === 0) {
    return { members: new Map(), hostOf: new Map(), probingRebalanceNeeded: false };
  }
  const state = indexState(members, tasks, options);
  const probing = placeStatefulActives(state);
  placeStatelessActives(state);
  placeStandbys(state, options.numStandbyReplicas);
  return buildPlan(state, probing);
}

/** Everything the phases share, by member index (in member order) and task index (in task order). */
interface State {
  readonly members: readonly AssignmentMember[];
  readonly tasks: readonly AssignmentTask[];
  readonly n: number;
  /** member → its process (members with the same `processId`), numbered in member order. */
  readonly processOf: Int32Array;
  /** The number of distinct processes. */
  readonly processes: number;
  readonly acceptableRecoveryLag: number;
  readonly maxWarmupReplicas: number;
  /** key task * n + member → lag. */
  readonly lags: Map<number, number>;
  /** task → members with state for it, best first (previous owner, then lag, then member order). */
  readonly holders: number[][];
  readonly previousOwner: Int32Array;
  readonly activeOf: Int32Array;
  readonly warmupOf: Int32Array;
  readonly standbysOf: number[][];
}

function resolveOptions(partial: Partial<AssignmentOptions> | undefined): AssignmentOptions {
  const options = { ...DEFAULT_ASSIGNMENT_OPTIONS, ...partial };
  const { numStandbyReplicas, acceptableRecoveryLag, maxWarmupReplicas } = options;
  if (!Number.isSafeInteger(numStandbyReplicas) || numStandbyReplicas < 0) {
    throw invalid(`numStandbyReplicas must be an integer >= 0, got ${numStandbyReplicas}`);
  }
  if (Number.isNaN(acceptableRecoveryLag) || acceptableRecoveryLag < 0) {
    throw invalid(`acceptableRecoveryLag must be >= 0, got ${acceptableRecoveryLag}`);
  }
  if (!Number.isSafeInteger(maxWarmupReplicas) || maxWarmupReplicas < 1) {
    throw invalid(`maxWarmupReplicas must be an integer >= 1, got ${maxWarmupReplicas}`);
  }
  return options;
}

function compareMembers(a: AssignmentMember, b: AssignmentMember): number {
  return (
    compareStrings(a.identity, b.identity) ||
    compareStrings(a.processId, b.processId) ||
    compareStrings(a.memberId, b.memberId)
  );
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function validate(members: readonly AssignmentMember[], tasks: readonly AssignmentTask[]): void {
  const ids = new Set<string>();
  for (const member of members) {
    if (ids.has(member.memberId)) throw invalid(`member id ${member.memberId} appears twice`);
    ids.add(member.memberId);
  }
  for (let i = 1; i < tasks.length; i++) {
    if (tasks[i - 1]!.id === tasks[i]!.id) throw invalid(`task ${tasks[i]!.id} appears twice`);
  }
}

function invalid(message: string): AssignorError {
  return new AssignorError('ASSIGNOR_INVALID_INPUT', message);
}

function lagEntries(member: AssignmentMember): Iterable<[string, number]> {
  const lags = member.taskLags;
  return lags instanceof Map ? lags.entries() : Object.entries(lags as Record<string, number>);
}

function indexState(
  members: readonly AssignmentMember[],
  tasks: readonly AssignmentTask[],
  options: AssignmentOptions,
): State {
  const n = members.length;
  const processIndex = new Map<string, number>();
  const processOf = new Int32Array(n);
  members.forEach((member, m) => {
    let p = processIndex.get(member.processId);
    if (p === undefined) {
      p = processIndex.size;
      processIndex.set(member.processId, p);
    }
    processOf[m] = p;
  });
  const taskIndex = new Map<string, number>();
  for (const [t, task] of tasks.entries()) taskIndex.set(task.id, t);
  const previousOwner = new Int32Array(tasks.length).fill(NONE);
  const lags = new Map<number, number>();
  const holders: number[][] = tasks.map(() => []);
  members.forEach((member, m) => {
    for (const id of member.previousActive ?? []) {
      const t = taskIndex.get(id);
      if (t !== undefined && previousOwner[t] === NONE) previousOwner[t] = m;
    }
    for (const [id, lag] of lagEntries(member)) {
      if (typeof lag !== 'number' || Number.isNaN(lag) || lag < 0) {
        throw invalid(`member ${member.memberId} reports lag ${lag} for task ${id}; lags are numbers >= 0`);
      }
      const t = taskIndex.get(id);
      if (t === undefined || !tasks[t]!.stateful) continue;
      lags.set(t * n + m, lag);
      holders[t]!.push(m);
    }
  });
  holders.forEach((list, t) => {
    const prev = previousOwner[t]!;
    list.sort((a, b) => {
      if ((a === prev) !== (b === prev)) return a === prev ? -1 : 1;
      return lags.get(t * n + a)! - lags.get(t * n + b)! || a - b;
    });
  });
  return {
    members,
    tasks,
    n,
    processOf,
    processes: processIndex.size,
    acceptableRecoveryLag: options.acceptableRecoveryLag,
    maxWarmupReplicas: options.maxWarmupReplicas,
    lags,
    holders,
    previousOwner,
    activeOf: new Int32Array(tasks.length).fill(NONE),
    warmupOf: new Int32Array(tasks.length).fill(NONE),
    standbysOf: tasks.map(() => []),
  };
}

function taskIndices(tasks: readonly AssignmentTask[], stateful: boolean): number[] {
  const indices: number[] = [];
  for (const [t, task] of tasks.entries()) if (task.stateful === stateful) indices.push(t);
  return indices;
}

/** Per-member counts against a balanced quota: `floor` each, `remainder` of them may hold one more. */
class Quota {
  readonly counts: Int32Array;
  private readonly floor: number;
  private readonly remainder: number;
  private aboveFloor = 0;

  constructor(n: number, total: number, counts = new Int32Array(n)) {
    this.counts = counts;
    this.floor = Math.floor(total / n);
    this.remainder = total % n;
    for (const count of counts) if (count > this.floor) this.aboveFloor++;
  }

  hasRoom(m: number): boolean {
    const count = this.counts[m]!;
    return count < this.floor || (count === this.floor && this.aboveFloor < this.remainder);
  }

  add(m: number): void {
    if (this.counts[m] === this.floor) this.aboveFloor++;
    this.counts[m]!++;
  }
}

function lagOf(state: State, t: number, m: number): number {
  return state.lags.get(t * state.n + m) ?? Number.POSITIVE_INFINITY;
}

/** Returns true when balance had to wait for state (warm-ups placed or a member left over quota). */
function placeStatefulActives(state: State): boolean {
  const { tasks, n, holders, activeOf, warmupOf, acceptableRecoveryLag } = state;
  const stateful = taskIndices(tasks, true);
  // `planned` counts where actives will be once warm-ups are done; balance is judged on it.
  const planned = new Quota(n, stateful.length);
  const caughtUp = (t: number, m: number) => lagOf(state, t, m) <= acceptableRecoveryLag;
  const placedOn: number[][] = Array.from({ length: n }, () => []);
  const place = (t: number, m: number) => {
    activeOf[t] = m;
    planned.add(m);
    placedOn[m]!.push(t);
  };

  // 1. Each task stays with its previous owner while that owner is caught up and has room.
  for (const t of stateful) {
    const prev = state.previousOwner[t]!;
    if (prev !== NONE && caughtUp(t, prev) && planned.hasRoom(prev)) place(t, prev);
  }
  // 2. Then to a caught-up holder with room: lowest lag, then least loaded. Tasks with the fewest
  // caught-up holders go first so that a flexible task does not take a constrained one's place.
  const pending = stateful
    .filter((t) => activeOf[t] === NONE)
    .map((t) => ({ t, candidates: holders[t]!.filter((m) => caughtUp(t, m)) }))
    .filter((p) => p.candidates.length > 0)
    .sort((a, b) => a.candidates.length - b.candidates.length || a.t - b.t);
  for (const { t, candidates } of pending) {
    let best = NONE;
    for (const m of candidates) {
      if (!planned.hasRoom(m)) continue;
      if (
        best === NONE ||
        lagOf(state, t, m) < lagOf(state, t, best) ||
        (lagOf(state, t, m) === lagOf(state, t, best) && planned.counts[m]! < planned.counts[best]!)
      ) {
        best = m;
      }
    }
    if (best !== NONE) place(t, best);
  }
  // 3. The rest go where balance wants them, unless the state is elsewhere: then a warm-up.
  // Threads of one process share its state directory: a destination on the state holder's process
  // holds the state too, so the task goes there (their lags are equal anyway).
  let warmups = 0;
  let heldBack = false;
  for (const t of stateful) {
    if (activeOf[t] !== NONE) continue;
    const stateHolder = bestStateHolder(state, t);
    const wanted = balanceDestination(state, planned, t);
    if (
      stateHolder === NONE ||
      state.processOf[wanted] === state.processOf[stateHolder] ||
      lagOf(state, t, wanted) <= lagOf(state, t, stateHolder)
    ) {
      place(t, wanted);
      continue;
    }
    // The state holder keeps the task active beyond its quota. Its excess is always its highest
    // tasks, which is what step 1 lets go at the next rebalance: the warm-up goes to that task,
    // on a member of another process (a warm-up on the active's process would restore nothing).
    heldBack = true;
    const excess = swapForHighest(state, stateHolder, placedOn[stateHolder]!, t);
    activeOf[t] = stateHolder;
    if (warmups < state.maxWarmupReplicas) {
      const dest = balanceDestination(state, planned, excess, state.processOf[stateHolder]!);
      if (dest !== NONE) {
        warmupOf[excess] = dest;
        planned.add(dest);
        warmups++;
      }
    }
  }
  return heldBack;
}

/**
 * When `t` is caught up on the member and ranks below the member's highest caught-up task, `t`
 * takes that task's place in `placed` and the highest becomes the excess. Returns the excess.
 */
function swapForHighest(state: State, m: number, placed: number[], t: number): number {
  let highest = NONE;
  let at = NONE;
  for (const [i, u] of placed.entries()) {
    if (u > highest && lagOf(state, u, m) <= state.acceptableRecoveryLag) {
      highest = u;
      at = i;
    }
  }
  if (highest < t || lagOf(state, t, m) > state.acceptableRecoveryLag) return t;
  placed[at] = t;
  return highest;
}

/**
 * Among members with room, outside process `excludedProcess` if given: lowest lag for the task (a
 * warm-up in progress), least loaded, first. NONE when no such member has room.
 */
function balanceDestination(state: State, planned: Quota, t: number, excludedProcess = NONE): number {
  let dest = NONE;
  let destLag = Number.POSITIVE_INFINITY;
  for (let m = 0; m < state.n; m++) {
    if (!planned.hasRoom(m) || state.processOf[m] === excludedProcess) continue;
    const lag = lagOf(state, t, m);
    if (dest === NONE || lag < destLag || (lag === destLag && planned.counts[m]! < planned.counts[dest]!)) {
      dest = m;
      destLag = lag;
    }
  }
  // The quota's total equals the number of stateful tasks, so without an excluded process a task
  // still unplaced always finds room.
  return dest;
}

/** The caught-up holder ranked first, else the holder with the least lag, else NONE. */
function bestStateHolder(state: State, t: number): number {
  const list = state.holders[t]!;
  let best = NONE;
  for (const m of list) {
    if (lagOf(state, t, m) <= state.acceptableRecoveryLag) return m;
    if (best === NONE || lagOf(state, t, m) < lagOf(state, t, best)) best = m;
  }
  return best;
}

function placeStatelessActives(state: State): void {
  const { tasks, n, activeOf, previousOwner } = state;
  const counts = new Int32Array(n);
  for (const m of activeOf) if (m !== NONE) counts[m]!++;
  const totals = new Quota(n, tasks.length, counts);
  const stateless = taskIndices(tasks, false);
  for (const t of stateless) {
    const prev = previousOwner[t]!;
    if (prev !== NONE && totals.hasRoom(prev)) {
      activeOf[t] = prev;
      totals.add(prev);
    }
  }
  for (const t of stateless) {
    if (activeOf[t] !== NONE) continue;
    let least = 0;
    for (let m = 1; m < n; m++) if (counts[m]! < counts[least]!) least = m;
    activeOf[t] = least;
    totals.add(least);
  }
}

/**
 * Standbys go to members of processes other than those of the task's active, its warm-up and its
 * standbys already chosen: a replica on the same process (same pod, same state directory) protects
 * nothing. So a task has at most (distinct processes - 1) standbys.
 */
function placeStandbys(state: State, replicas: number): void {
  const { tasks, n, members, processOf, processes, activeOf, warmupOf, standbysOf } = state;
  if (replicas === 0 || processes < 2) return;
  const perTask = Math.min(replicas, processes - 1);
  const statefulCount = tasks.reduce((sum, task) => sum + (task.stateful ? 1 : 0), 0);
  // Every member can hold standbys (of the other processes' tasks): spread them evenly over all.
  const cap = Math.ceil((statefulCount * perTask) / n);
  const load = new Int32Array(n);
  for (let t = 0; t < tasks.length; t++) {
    if (!tasks[t]!.stateful) continue;
    const active = activeOf[t]!;
    const activeRack = members[active]!.rack;
    const warmup = warmupOf[t]!;
    const chosen = standbysOf[t]!;
    const taken = (m: number) =>
      processOf[m] === processOf[active] ||
      (warmup !== NONE && processOf[m] === processOf[warmup]) ||
      chosen.some((s) => processOf[s] === processOf[m]);
    for (let r = 0; r < perTask; r++) {
      // Lexicographic score: rack penalty, over the cap, lag (stickiness), standby load, member order.
      let best = NONE;
      let bestRack = 0;
      let bestOver = 0;
      let bestLag = 0;
      for (let m = 0; m < n; m++) {
        if (taken(m)) continue;
        const rack = members[m]!.rack;
        const rackPenalty =
          rack === undefined
            ? 0
            : (rack === activeRack ? 2 : 0) + (chosen.some((s) => members[s]!.rack === rack) ? 1 : 0);
        const over = load[m]! >= cap ? 1 : 0;
        const lag = lagOf(state, t, m);
        if (
          best === NONE ||
          rackPenalty < bestRack ||
          (rackPenalty === bestRack &&
            (over < bestOver ||
              (over === bestOver && (lag < bestLag || (lag === bestLag && load[m]! < load[best]!)))))
        ) {
          best = m;
          bestRack = rackPenalty;
          bestOver = over;
          bestLag = lag;
        }
      }
      if (best === NONE) break;
      chosen.push(best);
      load[best]!++;
    }
  }
}

function buildPlan(state: State, probingRebalanceNeeded: boolean): AssignmentPlan {
  const { members, tasks, activeOf, warmupOf, standbysOf } = state;
  const lists = members.map(() => ({
    active: [] as string[],
    standby: [] as string[],
    warmup: [] as string[],
  }));
  tasks.forEach((task, t) => {
    lists[activeOf[t]!]!.active.push(task.id);
    for (const m of standbysOf[t]!) lists[m]!.standby.push(task.id);
    if (warmupOf[t] !== NONE) lists[warmupOf[t]!]!.warmup.push(task.id);
  });
  const planMembers = new Map<string, MemberAssignment>();
  const hostOf = new Map<string, HostTasks>();
  members.forEach((member, m) => {
    const own = lists[m]!;
    planMembers.set(member.memberId, own);
    if (member.endpoint === undefined) return;
    const existing = hostOf.get(member.endpoint);
    const rack = existing?.rack ?? member.rack;
    const host: HostTasks =
      existing === undefined
        ? { active: own.active, standby: own.standby }
        : {
            active: [...existing.active, ...own.active].sort(compareTaskIds),
            standby: [...existing.standby, ...own.standby].sort(compareTaskIds),
          };
    hostOf.set(member.endpoint, rack === undefined ? host : { ...host, rack });
  });
  return { members: planMembers, hostOf, probingRebalanceNeeded };
}
