// Instance first, then thread: tasks are balanced over processes weighted by their threads, then
// over the threads of each process.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssignmentTask } from '../src/index.js';
import { assignTasks, compareTaskIds } from '../src/index.js';
import { byIdentity, checkPlacement, shuffled, spread, statefulTasks } from './helpers.js';
import {
  activeMembers,
  activesPerProcess,
  afterSharedCatchUp,
  checkProcesses,
  checkStandbyCounts,
  checkThreadBalance,
  checkWeightedQuota,
  convergeShared,
  instances,
  replicaProcesses,
  thread,
  threadedScenario,
} from './thread-helpers.js';

const statelessTasks = (subtopology: number, partitions: number): AssignmentTask[] =>
  statefulTasks(1, partitions).map((t) => ({ id: t.id.replace(/^0_/, `${subtopology}_`), stateful: false }));

const kinds: { name: string; stateful: boolean; numStandbyReplicas: number }[] = [
  { name: 'stateless tasks', stateful: false, numStandbyReplicas: 0 },
  { name: 'stateful tasks', stateful: true, numStandbyReplicas: 0 },
  { name: 'stateful tasks with a standby', stateful: true, numStandbyReplicas: 1 },
];

describe('assignTasks balances processes by their threads, then threads within a process', () => {
  describe.each(kinds)(
    'scaling a StatefulSet of 2-thread pods, $name',
    ({ stateful, numStandbyReplicas }) => {
      const tasks = statefulTasks(1, 6).map((t) => ({ ...t, stateful }));
      const options = { numStandbyReplicas, acceptableRecoveryLag: 100, maxWarmupReplicas: 2 };

      /** 3 pods × 2 threads settled with one task per thread. */
      function settledOnThree() {
        const start = convergeShared(instances([2, 2, 2]), tasks, options);
        for (const own of start.plan.members.values()) expect(own.active).toHaveLength(1);
        return start;
      }

      it('3 × 2 → 5 × 2 moves exactly 2 tasks, one to each new pod; 5 × 2 → 3 × 2 moves back only those', () => {
        const before = settledOnThree();
        const owners = activeMembers(before.members, before.plan);
        const scaledUp = [...afterSharedCatchUp(before.members, before.plan), ...instances([0, 0, 0, 2, 2])];
        const up = convergeShared(scaledUp, tasks, options, owners);
        checkPlacement(up.members, tasks, up.plan);
        checkProcesses(up.members, up.plan);
        expect(up.processMoves).toBe(2);
        expect(up.threadMoves).toBe(2);
        const upOwners = activeMembers(up.members, up.plan);
        const moved = tasks.filter((t) => upOwners.get(t.id)!.identity !== owners.get(t.id)!.identity);
        expect(moved.map((t) => upOwners.get(t.id)!.processId).sort()).toEqual(['pid-app-3', 'pid-app-4']);
        expect([...activesPerProcess(up.members, up.plan).values()].sort()).toEqual([1, 1, 1, 1, 2]);
        checkThreadBalance(up.members, up.plan);

        const scaledDown = afterSharedCatchUp(up.members, up.plan).filter(
          (m) => m.processId !== 'pid-app-3' && m.processId !== 'pid-app-4',
        );
        const down = convergeShared(scaledDown, tasks, options, upOwners);
        checkPlacement(down.members, tasks, down.plan);
        checkProcesses(down.members, down.plan);
        expect(down.processMoves).toBe(2);
        expect(down.threadMoves).toBe(2);
        const downOwners = activeMembers(down.members, down.plan);
        const back = tasks.filter((t) => downOwners.get(t.id)!.identity !== upOwners.get(t.id)!.identity);
        expect(back.map((t) => t.id)).toEqual(moved.map((t) => t.id));
        for (const own of down.plan.members.values()) expect(own.active).toHaveLength(1);
      });
    },
  );

  it.each([true, false])(
    '6 tasks over 5 pods × 2 threads from scratch: 2, 1, 1, 1, 1 (stateful: %s)',
    (stateful) => {
      const members = instances([2, 2, 2, 2, 2]);
      const tasks = statefulTasks(1, 6).map((t) => ({ ...t, stateful }));
      const plan = assignTasks({ members, tasks, options: { numStandbyReplicas: 1 } });
      checkPlacement(members, tasks, plan);
      checkProcesses(members, plan);
      expect([...activesPerProcess(members, plan).values()].sort()).toEqual([1, 1, 1, 1, 2]);
      for (const own of plan.members.values()) expect(own.active.length).toBeLessThanOrEqual(1);
      expect(plan.probingRebalanceNeeded).toBe(false);
    },
  );

  it('processes with 1 and 3 threads share 8 tasks as 2 and 6, two per thread', () => {
    const members = instances([1, 3]);
    const tasks = statefulTasks(1, 8);
    const plan = assignTasks({ members, tasks, options: { numStandbyReplicas: 1 } });
    checkPlacement(members, tasks, plan);
    checkProcesses(members, plan);
    expect(activesPerProcess(members, plan)).toEqual(
      new Map([
        ['pid-app-0', 2],
        ['pid-app-1', 6],
      ]),
    );
    for (const own of plan.members.values()) expect(own.active).toHaveLength(2);
    // Each task's standby is on the other process; app-0's one thread holds the 6 standbys of app-1.
    const { active, standbys } = replicaProcesses(members, plan);
    for (const task of tasks) expect(standbys.get(task.id)).not.toContain(active.get(task.id));
    expect(byIdentity(members, plan).get('app-0')!.standby).toHaveLength(6);
  });

  it('leaves the totals a balanced split when placing stateful tasks (1, 1, 2 and 2 threads)', () => {
    // 2 stateful tasks alone could go to the two 1-thread processes (⌊2·1/6⌋ = 0, remainder 2),
    // but then the totals (3 tasks: 0, 0, 1, 1 and a remainder of 1) could not be met.
    const members = instances([1, 1, 2, 2]);
    const tasks = [...statefulTasks(1, 2), ...statelessTasks(1, 1)];
    const plan = assignTasks({ members, tasks });
    checkPlacement(members, tasks, plan);
    checkWeightedQuota(members, activesPerProcess(members, plan), 3);
    checkWeightedQuota(
      members,
      activesPerProcess(members, plan, (t) => t.startsWith('0_')),
      2,
    );
    expect([...activesPerProcess(members, plan).values()]).toEqual([1, 0, 1, 1]);
  });

  it('keeps thread counts of a process within one, stateful and all tasks, however uneven the previous owners', () => {
    // app-0's first thread ran everything before; app-0.t2 and app-0.t3 are new threads.
    const tasks = [...statefulTasks(1, 7), ...statelessTasks(1, 4)];
    const state = Object.fromEntries(tasks.filter((t) => t.stateful).map((t) => [t.id, 0]));
    const members = [
      thread(0, 1, state, { previousActive: tasks.map((t) => t.id) }),
      thread(0, 2, state),
      thread(0, 3, state),
    ];
    const plan = assignTasks({ members, tasks });
    checkPlacement(members, tasks, plan);
    checkThreadBalance(members, plan);
    checkThreadBalance(members, plan, (t) => t.startsWith('0_'));
    // The first thread keeps the tasks it had, lowest first, up to its share.
    expect(byIdentity(members, plan).get('app-0')!.active).toEqual(['0_0', '0_1', '0_2', '1_0']);
    expect(plan.probingRebalanceNeeded).toBe(false);
  });

  it('restart: every thread keeps its previous actives when they are balanced, nothing moves', () => {
    // Processes of 1, 2 and 3 threads, each thread with 2 stateful and 1 stateless task.
    const tasks = [...statefulTasks(1, 12), ...statelessTasks(1, 6)];
    const members = instances([1, 2, 3]);
    const previous = new Map(
      members.map((m, i) => [
        m.identity,
        [`0_${(i * 5) % 12}`, `0_${(i * 5 + 6) % 12}`, `1_${(i * 5) % 6}`].sort(compareTaskIds),
      ]),
    );
    // Each process holds the state of its threads' tasks (and of nothing else).
    const stateOf = new Map<string, Record<string, number>>();
    for (const m of members) {
      const lags = stateOf.get(m.processId) ?? {};
      for (const t of previous.get(m.identity)!) if (t.startsWith('0_')) lags[t] = 0;
      stateOf.set(m.processId, lags);
    }
    const restarted = members.map((m) => ({
      ...m,
      memberId: `${m.memberId}-restarted`,
      taskLags: stateOf.get(m.processId)!,
      previousActive: previous.get(m.identity)!,
    }));
    for (const seed of [1, 2, 3]) {
      const plan = assignTasks({
        members: shuffled(restarted, seed),
        tasks: shuffled(tasks, seed + 1),
        options: { numStandbyReplicas: 1 },
      });
      checkPlacement(restarted, tasks, plan);
      checkProcesses(restarted, plan);
      expect(plan.probingRebalanceNeeded).toBe(false);
      for (const [identity, own] of byIdentity(restarted, plan)) {
        expect(own.active).toEqual(previous.get(identity));
      }
    }
  });

  describe('properties', () => {
    const scenarioArb = threadedScenario({
      processes: 5,
      threads: 4,
      partitions: 16,
      stateless: 6,
      racks: true,
    });

    it('balances processes by their threads and threads within a process; replicas off the active process', () => {
      fc.assert(
        fc.property(scenarioArb, ({ members, tasks, options }) => {
          const plan = assignTasks({ members, tasks, options });
          checkPlacement(members, tasks, plan);
          checkProcesses(members, plan);
          const isStateful = (t: string) => t.startsWith('0_');
          // Within a process, always: whatever phase A held back stays on the process.
          checkThreadBalance(members, plan);
          checkThreadBalance(members, plan, isStateful);
          if (!plan.probingRebalanceNeeded) {
            checkWeightedQuota(members, activesPerProcess(members, plan), tasks.length);
            const statefulCount = tasks.filter((t) => t.stateful).length;
            checkWeightedQuota(members, activesPerProcess(members, plan, isStateful), statefulCount);
            // So every thread holds ⌊T/W⌋ or one more, stateful tasks alone too.
            const own = [...plan.members.values()];
            expect(spread(own.map((m) => m.active.length))).toBeLessThanOrEqual(1);
            expect(spread(own.map((m) => m.active.filter(isStateful).length))).toBeLessThanOrEqual(1);
            for (const m of own) expect(m.warmup).toEqual([]);
          }
          checkStandbyCounts({ members, tasks, options }, plan);
        }),
        { numRuns: 400 },
      );
    });

    it('is sticky per thread: once settled, a restart of every thread gives the same plan', () => {
      fc.assert(
        fc.property(scenarioArb, fc.integer(), ({ members, tasks, options }, seed) => {
          const settled = convergeShared(members, tasks, options);
          const again = afterSharedCatchUp(settled.members, settled.plan).map((m) => ({
            ...m,
            memberId: `${m.memberId}-restarted`,
          }));
          const plan = assignTasks({ members: shuffled(again, seed), tasks, options });
          expect(byIdentity(again, plan)).toEqual(byIdentity(settled.members, settled.plan));
        }),
        { numRuns: 150 },
      );
    });
  });
});
