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
import type { Processes } from './processes.js';
import { groupProcesses } from './processes.js';
import { lighter, Quota } from './quota.js';
import { compareTaskIds } from './task-id.js';
import type { Placement } from './threads.js';
import { placeOnThreads } from './threads.js';

const NONE = -1;

/**
 * Places every task on exactly one member as active, plus standby and warm-up replicas of stateful
 * tasks. The same input gives the same plan whatever the order of `members` and `tasks`.
 * Members with the same `processId` are the stream threads of one instance (one pod, one state
 * directory). The placement is by instance first, then by thread:
 * - Phase A places tasks on processes, each weighted by its number of threads. Stateful tasks go to
 *   a caught-up process, preferring the previous owner then the lowest lag; active counts stay within
 *   the weighted quota unless state holds balance back, in which case warm-ups are placed and
 *   `probingRebalanceNeeded` is set. Standbys and warm-ups go to other processes than the active's.
 * - Phase B (`placeOnThreads`) shares out each process's tasks among its threads.
 * Rules: see the package README. With one member per process both phases are the per-member rules.
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
  return buildPlan(members, tasks, placeOnThreads(members, tasks, state.processes, state), probing);
}

/**
 * Everything phase A shares, by process index (processes in the order of their first member) and
 * task index (in task order). "Loaded" compares counts relative to the processes' capacities.
 */
interface State extends Placement {
  readonly tasks: readonly AssignmentTask[];
  readonly processes: Processes;
  /** The number of processes. */
  readonly n: number;
  /** process → its number of threads. */
  readonly capacities: Int32Array;
  readonly acceptableRecoveryLag: number;
  readonly maxWarmupReplicas: number;
  /** key task * n + process → the lowest lag of its members. */
  readonly lags: Map<number, number>;
  /** task → processes with state for it, best first (previous owner, then lag, then process order). */
  readonly holders: number[][];
  /** task → the process of the first member that ran it (`previousActive`), or NONE. */
  readonly previousOwner: Int32Array;
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
  const processes = groupProcesses(members);
  const { processOf, capacities } = processes;
  const n = processes.list.length;
  const taskIndex = new Map<string, number>();
  for (const [t, task] of tasks.entries()) taskIndex.set(task.id, t);
  const previousOwner = new Int32Array(tasks.length).fill(NONE);
  const lags = new Map<number, number>();
  const holders: number[][] = tasks.map(() => []);
  members.forEach((member, m) => {
    const p = processOf[m]!;
    for (const id of member.previousActive ?? []) {
      const t = taskIndex.get(id);
      if (t !== undefined && previousOwner[t] === NONE) previousOwner[t] = p;
    }
    for (const [id, lag] of lagEntries(member)) {
      if (typeof lag !== 'number' || Number.isNaN(lag) || lag < 0) {
        throw invalid(`member ${member.memberId} reports lag ${lag} for task ${id}; lags are numbers >= 0`);
      }
      const t = taskIndex.get(id);
      if (t === undefined || !tasks[t]!.stateful) continue;
      const known = lags.get(t * n + p);
      if (known === undefined) holders[t]!.push(p);
      if (known === undefined || lag < known) lags.set(t * n + p, lag);
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
    tasks,
    processes,
    n,
    capacities,
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

function lagOf(state: State, t: number, p: number): number {
  return state.lags.get(t * state.n + p) ?? Number.POSITIVE_INFINITY;
}

/** True when process `p` is less loaded than process `q` by `counts`, relative to their capacities. */
function lessLoaded(state: State, counts: Int32Array, p: number, q: number): boolean {
  return lighter(counts[p]!, state.capacities[p]!, counts[q]!, state.capacities[q]!);
}

/** Returns true when balance had to wait for state (warm-ups placed or a process left over quota). */
function placeStatefulActives(state: State): boolean {
  const { tasks, n, capacities, holders, activeOf, warmupOf, acceptableRecoveryLag } = state;
  const stateful = taskIndices(tasks, true);
  // `planned` counts where actives will be once warm-ups are done; balance is judged on it. The
  // stateful actives must also leave the totals a balanced split: both quotas bound them.
  const planned = new Quota(capacities, [stateful.length, tasks.length]);
  const caughtUp = (t: number, p: number) => lagOf(state, t, p) <= acceptableRecoveryLag;
  const placedOn: number[][] = Array.from({ length: n }, () => []);
  const place = (t: number, p: number) => {
    activeOf[t] = p;
    planned.add(p);
    placedOn[p]!.push(t);
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
    .map((t) => ({ t, candidates: holders[t]!.filter((p) => caughtUp(t, p)) }))
    .filter((c) => c.candidates.length > 0)
    .sort((a, b) => a.candidates.length - b.candidates.length || a.t - b.t);
  for (const { t, candidates } of pending) {
    let best = NONE;
    for (const p of candidates) {
      if (!planned.hasRoom(p)) continue;
      if (
        best === NONE ||
        lagOf(state, t, p) < lagOf(state, t, best) ||
        (lagOf(state, t, p) === lagOf(state, t, best) && lessLoaded(state, planned.counts, p, best))
      ) {
        best = p;
      }
    }
    if (best !== NONE) place(t, best);
  }
  // 3. The rest go where balance wants them, unless the state is elsewhere: then a warm-up.
  let warmups = 0;
  let heldBack = false;
  for (const t of stateful) {
    if (activeOf[t] !== NONE) continue;
    const stateHolder = bestStateHolder(state, t);
    const wanted = balanceDestination(state, planned, t);
    if (stateHolder === NONE || lagOf(state, t, wanted) <= lagOf(state, t, stateHolder)) {
      place(t, wanted);
      continue;
    }
    // The state holder keeps the task active beyond its quota. Its excess is always its highest
    // tasks, which is what step 1 lets go at the next rebalance: the warm-up goes to that task, on
    // another process (the state holder has that task's state already).
    heldBack = true;
    const excess = swapForHighest(state, stateHolder, placedOn[stateHolder]!, t);
    activeOf[t] = stateHolder;
    if (warmups < state.maxWarmupReplicas) {
      const dest = balanceDestination(state, planned, excess, stateHolder);
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
 * When `t` is caught up on the process and ranks below the process's highest caught-up task, `t`
 * takes that task's place in `placed` and the highest becomes the excess. Returns the excess.
 */
function swapForHighest(state: State, p: number, placed: number[], t: number): number {
  let highest = NONE;
  let at = NONE;
  for (const [i, u] of placed.entries()) {
    if (u > highest && lagOf(state, u, p) <= state.acceptableRecoveryLag) {
      highest = u;
      at = i;
    }
  }
  if (highest < t || lagOf(state, t, p) > state.acceptableRecoveryLag) return t;
  placed[at] = t;
  return highest;
}

/**
 * Among processes with room other than `excluded`: lowest lag for the task (a warm-up in progress),
 * least loaded, first. NONE when no such process has room.
 */
function balanceDestination(state: State, planned: Quota, t: number, excluded = NONE): number {
  let dest = NONE;
  let destLag = Number.POSITIVE_INFINITY;
  for (let p = 0; p < state.n; p++) {
    if (p === excluded || !planned.hasRoom(p)) continue;
    const lag = lagOf(state, t, p);
    if (dest === NONE || lag < destLag || (lag === destLag && lessLoaded(state, planned.counts, p, dest))) {
      dest = p;
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
  for (const p of list) {
    if (lagOf(state, t, p) <= state.acceptableRecoveryLag) return p;
    if (best === NONE || lagOf(state, t, p) < lagOf(state, t, best)) best = p;
  }
  return best;
}

function placeStatelessActives(state: State): void {
  const { tasks, n, capacities, activeOf, previousOwner } = state;
  const counts = new Int32Array(n);
  for (const p of activeOf) if (p !== NONE) counts[p]!++;
  const totals = new Quota(capacities, [tasks.length], counts);
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
    // The least loaded process with room; when a held-back process leaves none, the least loaded.
    let least = NONE;
    let withRoom = false;
    for (let p = 0; p < n; p++) {
      const room = totals.hasRoom(p);
      if (
        least === NONE ||
        (room && !withRoom) ||
        (room === withRoom && lessLoaded(state, counts, p, least))
      ) {
        least = p;
        withRoom = room;
      }
    }
    activeOf[t] = least;
    totals.add(least);
  }
}

/**
 * Standbys go to processes other than those of the task's active, its warm-up and its standbys
 * already chosen: a replica on the same process (same pod, same state directory) protects nothing.
 * So a task has at most (processes - 1) standbys.
 */
function placeStandbys(state: State, replicas: number): void {
  const { tasks, n, capacities, processes, activeOf, warmupOf, standbysOf, lags } = state;
  if (replicas === 0 || n < 2) return;
  const perTask = Math.min(replicas, n - 1);
  const statefulCount = tasks.reduce((sum, task) => sum + (task.stateful ? 1 : 0), 0);
  // Every thread can hold standbys (of the other processes' tasks): spread them evenly over all,
  // so a process's cap is its share ⌈S·r·w/W⌉.
  let capacity = 0;
  for (const w of capacities) capacity += w;
  const caps = capacities.map((w) => Math.ceil((statefulCount * perTask * w) / capacity));
  const load = new Int32Array(n);
  const racks = processes.list.map((process) => process.rack);
  for (let t = 0; t < tasks.length; t++) {
    if (!tasks[t]!.stateful) continue;
    const active = activeOf[t]!;
    const activeRack = racks[active];
    const chosen = standbysOf[t]!;
    for (let r = 0; r < perTask; r++) {
      // Lexicographic score: rack penalty, over the cap, lag (stickiness), standby load, process order.
      let best = NONE;
      let bestRack = 0;
      let bestOver = 0;
      let bestLag = 0;
      for (let p = 0; p < n; p++) {
        if (p === active || p === warmupOf[t] || chosen.includes(p)) continue;
        const rack = racks[p];
        const rackPenalty =
          rack === undefined
            ? 0
            : (rack === activeRack ? 2 : 0) + (chosen.some((s) => racks[s] === rack) ? 1 : 0);
        const over = load[p]! >= caps[p]! ? 1 : 0;
        const lag = lags.get(t * n + p) ?? Number.POSITIVE_INFINITY;
        if (
          best === NONE ||
          rackPenalty < bestRack ||
          (rackPenalty === bestRack &&
            (over < bestOver ||
              (over === bestOver &&
                (lag < bestLag ||
                  (lag === bestLag && load[p]! * capacities[best]! < load[best]! * capacities[p]!)))))
        ) {
          best = p;
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

/** The plan per member, from the placement on members (phase B). */
function buildPlan(
  members: readonly AssignmentMember[],
  tasks: readonly AssignmentTask[],
  placement: Placement,
  probingRebalanceNeeded: boolean,
): AssignmentPlan {
  const { activeOf, warmupOf, standbysOf } = placement;
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
