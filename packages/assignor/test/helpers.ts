// Test helpers for the assignment algorithm: building members, simulating rounds, checking invariants.

import type { AssignmentMember, AssignmentOptions, AssignmentPlan, AssignmentTask } from '../src/index.js';
import { assignTasks } from '../src/index.js';

export function member(
  identity: string,
  lags: Record<string, number> = {},
  extra: Partial<AssignmentMember> = {},
): AssignmentMember {
  return {
    memberId: `${identity}-member`,
    identity,
    processId: `pid-${identity}`,
    taskLags: lags,
    ...extra,
  };
}

export function statefulTasks(subtopologies: number, partitions: number): AssignmentTask[] {
  const tasks: AssignmentTask[] = [];
  for (let s = 0; s < subtopologies; s++) {
    for (let p = 0; p < partitions; p++) tasks.push({ id: `${s}_${p}`, stateful: true });
  }
  return tasks;
}

/** The tasks of the plan per member identity. */
export function byIdentity(
  members: readonly AssignmentMember[],
  plan: AssignmentPlan,
): Map<string, { active: readonly string[]; standby: readonly string[]; warmup: readonly string[] }> {
  const out = new Map<
    string,
    { active: readonly string[]; standby: readonly string[]; warmup: readonly string[] }
  >();
  for (const m of members) out.set(m.identity, plan.members.get(m.memberId)!);
  return out;
}

/** task → identity of its active member. */
export function activeOwners(
  members: readonly AssignmentMember[],
  plan: AssignmentPlan,
): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [identity, own] of byIdentity(members, plan))
    for (const t of own.active) owners.set(t, identity);
  return owners;
}

/**
 * The members as they subscribe after running `plan` until their replicas caught up: every task
 * they hold (active, standby, warm-up) at lag 0, state of tasks they no longer hold gone stale.
 */
export function afterCatchUp(members: readonly AssignmentMember[], plan: AssignmentPlan): AssignmentMember[] {
  return members.map((m) => {
    const own = plan.members.get(m.memberId)!;
    const lags: Record<string, number> = {};
    const old: Record<string, number> =
      m.taskLags instanceof Map
        ? Object.fromEntries(m.taskLags)
        : { ...(m.taskLags as Record<string, number>) };
    for (const [task, lag] of Object.entries(old)) lags[task] = lag + 1_000_000;
    for (const task of [...own.active, ...own.standby, ...own.warmup]) lags[task] = 0;
    return { ...m, taskLags: lags, previousActive: own.active };
  });
}

export interface Converged {
  readonly members: AssignmentMember[];
  readonly plan: AssignmentPlan;
  readonly rounds: number;
  /** Sum over rounds of tasks whose active member changed from one round to the next. */
  readonly moves: number;
}

/** Assigns, lets replicas catch up, and repeats until no probing rebalance is needed. */
export function converge(
  start: readonly AssignmentMember[],
  tasks: readonly AssignmentTask[],
  options: Partial<AssignmentOptions>,
  /** task → identity of its active member before the first round, if it differs from `previousActive`. */
  initialOwners?: ReadonlyMap<string, string>,
  maxRounds = 500,
): Converged {
  let members = [...start];
  let plan = assignTasks({ members, tasks, options });
  let moves = countMoves(members, plan, initialOwners);
  let rounds = 1;
  while (plan.probingRebalanceNeeded) {
    if (rounds >= maxRounds) throw new Error(`no convergence after ${rounds} rounds`);
    members = afterCatchUp(members, plan);
    plan = assignTasks({ members, tasks, options });
    moves += countMoves(members, plan);
    rounds++;
  }
  return { members, plan, rounds, moves };
}

function countMoves(
  members: readonly AssignmentMember[],
  plan: AssignmentPlan,
  initialOwners?: ReadonlyMap<string, string>,
): number {
  const previous = new Map<string, string>(initialOwners);
  if (initialOwners === undefined) {
    for (const m of members) for (const t of m.previousActive ?? []) previous.set(t, m.identity);
  }
  let moves = 0;
  for (const [task, owner] of activeOwners(members, plan)) {
    const before = previous.get(task);
    if (before !== undefined && before !== owner) moves++;
  }
  return moves;
}

/** Throws unless every task is active exactly once and replicas never share a member with the active. */
export function checkPlacement(
  members: readonly AssignmentMember[],
  tasks: readonly AssignmentTask[],
  plan: AssignmentPlan,
): void {
  const active = new Map<string, string>();
  for (const [memberId, own] of plan.members) {
    for (const t of own.active) {
      if (active.has(t)) throw new Error(`task ${t} active twice`);
      active.set(t, memberId);
    }
  }
  if (active.size !== tasks.length) throw new Error(`${tasks.length - active.size} task(s) lost`);
  const stateful = new Set(tasks.filter((t) => t.stateful).map((t) => t.id));
  for (const [memberId, own] of plan.members) {
    for (const t of [...own.standby, ...own.warmup]) {
      if (!stateful.has(t)) throw new Error(`replica of stateless task ${t}`);
      if (active.get(t) === memberId) throw new Error(`replica of ${t} on its active member`);
    }
    const replicas = new Set([...own.standby, ...own.warmup]);
    if (replicas.size !== own.standby.length + own.warmup.length)
      throw new Error('standby and warm-up overlap');
  }
  if (plan.members.size !== members.length) throw new Error('a member is missing from the plan');
}

export function spread(counts: readonly number[]): number {
  return counts.length === 0 ? 0 : Math.max(...counts) - Math.min(...counts);
}

/**
 * The fewest tasks that must move when members with `previousCounts` (0 for new members) share
 * `total` tasks in balance: each keeps at most its quota, the larger quotas going to the largest.
 */
export function minimalMoves(previousCounts: readonly number[], total: number): number {
  const n = previousCounts.length;
  const floor = Math.floor(total / n);
  const sorted = [...previousCounts].sort((a, b) => b - a);
  let kept = 0;
  sorted.forEach((count, i) => {
    kept += Math.min(count, i < total % n ? floor + 1 : floor);
  });
  return total - kept;
}

/** `items` in an order that depends only on `seed`. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
