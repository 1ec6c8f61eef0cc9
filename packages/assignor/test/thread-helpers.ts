// Test helpers for members that are threads of one process (instance): building them, simulating
// rounds in which the threads of a process share its state directory, checking where replicas land.

import fc from 'fast-check';
import { expect } from 'vitest';
import type { AssignmentMember, AssignmentOptions, AssignmentPlan, AssignmentTask } from '../src/index.js';
import { assignTasks } from '../src/index.js';
import { statefulTasks } from './helpers.js';

/** Thread `thread` (1-based) of instance `app-<pod>`: its own member id and identity, the pod's process id. */
export function thread(
  pod: number,
  thread: number,
  lags: Record<string, number> = {},
  extra: Partial<AssignmentMember> = {},
): AssignmentMember {
  const identity = thread === 1 ? `app-${pod}` : `app-${pod}.t${thread}`;
  return { memberId: `${identity}-member`, identity, processId: `pid-app-${pod}`, taskLags: lags, ...extra };
}

/** The threads of instances with the given thread counts, each instance reporting `lagsOf(pod)`. */
export function instances(
  threadCounts: readonly number[],
  lagsOf: (pod: number) => Record<string, number> = () => ({}),
): AssignmentMember[] {
  return threadCounts.flatMap((count, pod) =>
    Array.from({ length: count }, (_, i) => thread(pod, i + 1, lagsOf(pod))),
  );
}

/** Where each task's active, standbys and warm-up are, as process ids. */
export function replicaProcesses(members: readonly AssignmentMember[], plan: AssignmentPlan) {
  const processOf = new Map(members.map((m) => [m.memberId, m.processId]));
  const active = new Map<string, string>();
  const standbys = new Map<string, string[]>();
  const warmup = new Map<string, string>();
  for (const [memberId, own] of plan.members) {
    const process = processOf.get(memberId)!;
    for (const t of own.active) active.set(t, process);
    for (const t of own.standby) standbys.set(t, [...(standbys.get(t) ?? []), process]);
    for (const t of own.warmup) warmup.set(t, process);
  }
  return { active, standbys, warmup };
}

/** Throws unless no replica shares a process with its task's active, warm-up or another standby. */
export function checkProcesses(members: readonly AssignmentMember[], plan: AssignmentPlan): void {
  const { active, standbys, warmup } = replicaProcesses(members, plan);
  for (const [task, process] of warmup) {
    if (process === active.get(task)) throw new Error(`warm-up of ${task} on its active's process`);
  }
  for (const [task, processes] of standbys) {
    const others = [active.get(task), warmup.get(task), ...processes];
    if (new Set(others).size !== others.length) throw new Error(`standby of ${task} on a process twice`);
  }
}

/**
 * The members as they subscribe after running `plan` until their replicas caught up, with threads
 * sharing their process's state: a task held by any thread of a process is at lag 0 for all of them.
 */
export function afterSharedCatchUp(
  members: readonly AssignmentMember[],
  plan: AssignmentPlan,
): AssignmentMember[] {
  const lagsOf = new Map<string, Record<string, number>>();
  for (const m of members) {
    const lags = lagsOf.get(m.processId) ?? {};
    for (const [task, lag] of Object.entries(m.taskLags as Record<string, number>)) {
      lags[task] = Math.min(lags[task] ?? Number.POSITIVE_INFINITY, lag + 1_000_000);
    }
    lagsOf.set(m.processId, lags);
  }
  for (const m of members) {
    const own = plan.members.get(m.memberId)!;
    for (const task of [...own.active, ...own.standby, ...own.warmup]) lagsOf.get(m.processId)![task] = 0;
  }
  return members.map((m) => ({
    ...m,
    taskLags: { ...lagsOf.get(m.processId)! },
    previousActive: plan.members.get(m.memberId)!.active,
  }));
}

/** processId → the number of its threads. */
export function threadCounts(members: readonly AssignmentMember[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of members) counts.set(m.processId, (counts.get(m.processId) ?? 0) + 1);
  return counts;
}

/** processId → the active tasks of its threads (those `filter` keeps). */
export function activesPerProcess(
  members: readonly AssignmentMember[],
  plan: AssignmentPlan,
  filter: (task: string) => boolean = () => true,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of members) {
    const own = plan.members.get(m.memberId)!.active.filter(filter).length;
    counts.set(m.processId, (counts.get(m.processId) ?? 0) + own);
  }
  return counts;
}

/**
 * Throws unless `counts` (processId → active tasks) split `total` by the weighted quota: a process
 * with w of the W threads holds ⌊total·w/W⌋ or one more, and at most R = total − Σ⌊total·w/W⌋
 * processes hold one more.
 */
export function checkWeightedQuota(
  members: readonly AssignmentMember[],
  counts: ReadonlyMap<string, number>,
  total: number,
): void {
  const threads = threadCounts(members);
  const capacity = members.length;
  let remainder = total;
  let above = 0;
  for (const [process, w] of threads) {
    const floor = Math.floor((total * w) / capacity);
    const count = counts.get(process) ?? 0;
    remainder -= floor;
    if (count < floor || count > floor + 1) {
      throw new Error(`${process} (${w} of ${capacity} threads) holds ${count} of ${total} tasks`);
    }
    if (count > floor) above++;
  }
  if (above > remainder) throw new Error(`${above} processes above their floor, remainder ${remainder}`);
}

/** Throws unless the active counts (of tasks `filter` keeps) of a process's threads differ by at most one. */
export function checkThreadBalance(
  members: readonly AssignmentMember[],
  plan: AssignmentPlan,
  filter: (task: string) => boolean = () => true,
): void {
  const perProcess = new Map<string, number[]>();
  for (const m of members) {
    const list = perProcess.get(m.processId) ?? [];
    list.push(plan.members.get(m.memberId)!.active.filter(filter).length);
    perProcess.set(m.processId, list);
  }
  for (const [process, counts] of perProcess) {
    if (Math.max(...counts) - Math.min(...counts) > 1) {
      throw new Error(`threads of ${process} hold ${counts.join(', ')} tasks`);
    }
  }
}

/** task → the member that runs it active. */
export function activeMembers(
  members: readonly AssignmentMember[],
  plan: AssignmentPlan,
): Map<string, AssignmentMember> {
  const owners = new Map<string, AssignmentMember>();
  for (const m of members) for (const t of plan.members.get(m.memberId)!.active) owners.set(t, m);
  return owners;
}

export interface SharedRounds {
  readonly members: AssignmentMember[];
  readonly plan: AssignmentPlan;
  readonly rounds: number;
  /** Sum over rounds of tasks whose active moved to another process. */
  readonly processMoves: number;
  /** Sum over rounds of tasks whose active moved to another thread (of any process). */
  readonly threadMoves: number;
}

/**
 * Assigns, lets replicas catch up (threads sharing their process's state), and repeats until no
 * probing rebalance is needed. Moves are counted against `initialOwners` (task → member) in the
 * first round, else against the members' `previousActive`.
 */
export function convergeShared(
  start: readonly AssignmentMember[],
  tasks: readonly AssignmentTask[],
  options: Partial<AssignmentOptions>,
  initialOwners?: ReadonlyMap<string, AssignmentMember>,
  maxRounds = 50,
): SharedRounds {
  let members = [...start];
  let previous = initialOwners ?? previousOwners(members);
  let processMoves = 0;
  let threadMoves = 0;
  for (let rounds = 1; ; rounds++) {
    const plan = assignTasks({ members, tasks, options });
    for (const [task, owner] of activeMembers(members, plan)) {
      const before = previous.get(task);
      if (before === undefined) continue;
      if (before.identity !== owner.identity) threadMoves++;
      if (before.processId !== owner.processId) processMoves++;
    }
    if (!plan.probingRebalanceNeeded) return { members, plan, rounds, processMoves, threadMoves };
    if (rounds >= maxRounds) throw new Error(`no convergence after ${rounds} rounds`);
    members = afterSharedCatchUp(members, plan);
    previous = previousOwners(members);
  }
}

function previousOwners(members: readonly AssignmentMember[]): Map<string, AssignmentMember> {
  const owners = new Map<string, AssignmentMember>();
  for (const m of members) for (const t of m.previousActive ?? []) if (!owners.has(t)) owners.set(t, m);
  return owners;
}

/** A group of threaded processes, its tasks and options, as the property tests draw them. */
export interface ThreadedScenario {
  readonly members: AssignmentMember[];
  readonly tasks: AssignmentTask[];
  readonly options: AssignmentOptions;
}

export interface ScenarioLimits {
  readonly processes: number;
  readonly threads: number;
  readonly partitions: number;
  readonly stateless: number;
  /** Whether processes get a rack. */
  readonly racks: boolean;
}

/**
 * 1 to `processes` processes of 1 to `threads` threads, each process with its lags (its threads report them give
 * or take a few records) and, with `racks`, a rack; each thread with its previous actives.
 */
export function threadedScenario(limits: ScenarioLimits): fc.Arbitrary<ThreadedScenario> {
  return fc
    .record({
      partitions: fc.integer({ min: 1, max: limits.partitions }),
      stateless: fc.integer({ min: 0, max: limits.stateless }),
      options: fc.record({
        numStandbyReplicas: fc.integer({ min: 0, max: 3 }),
        acceptableRecoveryLag: fc.integer({ min: 0, max: 100 }),
        maxWarmupReplicas: fc.integer({ min: 1, max: 4 }),
      }),
    })
    .chain(({ partitions, stateless, options }) => {
      const tasks = [
        ...statefulTasks(1, partitions),
        ...Array.from({ length: stateless }, (_, p) => ({ id: `1_${p}`, stateful: false })),
      ];
      const ids = tasks.map((t) => t.id);
      const processArb = fc.record({
        lags: fc.dictionary(fc.constantFrom(...ids), fc.oneof(fc.constant(0), fc.nat(200), fc.nat(1e6))),
        rack: limits.racks
          ? fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined })
          : fc.constant(undefined),
        threads: fc.array(fc.record({ previous: fc.subarray(ids), jitter: fc.nat(5) }), {
          minLength: 1,
          maxLength: limits.threads,
        }),
      });
      return fc.record({
        tasks: fc.constant(tasks),
        options: fc.constant(options),
        members: fc
          .array(processArb, { minLength: 1, maxLength: limits.processes })
          .map((processes) =>
            processes.flatMap((p, pod) =>
              p.threads.map((t, i) =>
                thread(
                  pod,
                  i + 1,
                  Object.fromEntries(Object.entries(p.lags).map(([id, lag]) => [id, lag + t.jitter])),
                  { previousActive: t.previous, ...(p.rack === undefined ? {} : { rack: p.rack }) },
                ),
              ),
            ),
          ),
      });
    });
}

/** Every stateful task has as many standbys as asked, bounded by the processes other than its active's and warm-up's. */
export function checkStandbyCounts(scenario: ThreadedScenario, plan: AssignmentPlan): void {
  const { members, tasks, options } = scenario;
  const processes = new Set(members.map((m) => m.processId)).size;
  const { standbys, warmup } = replicaProcesses(members, plan);
  for (const task of tasks.filter((t) => t.stateful)) {
    const eligible = processes - 1 - (warmup.has(task.id) ? 1 : 0);
    expect(standbys.get(task.id) ?? []).toHaveLength(Math.min(options.numStandbyReplicas, eligible));
  }
}
