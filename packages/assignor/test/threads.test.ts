import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignTasks } from '../src/index.js';
import { byIdentity, checkPlacement, shuffled, spread, statefulTasks } from './helpers.js';
import {
  afterSharedCatchUp,
  checkProcesses,
  checkStandbyCounts,
  instances,
  replicaProcesses,
  thread,
  threadedScenario,
} from './thread-helpers.js';

const options = { numStandbyReplicas: 1, acceptableRecoveryLag: 100, maxWarmupReplicas: 2 };

describe('assignTasks with several threads per process', () => {
  it('2 processes × 2 threads: two actives per thread, one standby per task on the other process', () => {
    const members = instances([2, 2]);
    const tasks = statefulTasks(1, 8);
    const plan = assignTasks({ members, tasks, options });
    checkPlacement(members, tasks, plan);
    for (const own of plan.members.values()) expect(own.active).toHaveLength(2);
    const { active, standbys } = replicaProcesses(members, plan);
    for (const task of tasks) {
      expect(standbys.get(task.id)).toHaveLength(1);
      expect(standbys.get(task.id)![0]).not.toBe(active.get(task.id));
    }
    // Spread evenly: each thread holds two standbys.
    for (const own of plan.members.values()) expect(own.standby).toHaveLength(2);
  });

  it('places no standbys when the group is a single process', () => {
    const members = instances([2], () => ({ '0_0': 0, '0_1': 0 }));
    const plan = assignTasks({ members, tasks: statefulTasks(1, 4), options });
    for (const own of plan.members.values()) {
      expect(own.active).toHaveLength(2);
      expect(own.standby).toEqual([]);
      expect(own.warmup).toEqual([]);
    }
    expect(plan.probingRebalanceNeeded).toBe(false);
  });

  it('bounds the standbys of a task by the number of other processes', () => {
    // Three processes, 2 + 1 + 1 threads: with 3 standbys asked, each task gets the 2 other processes.
    const members = instances([2, 1, 1]);
    const tasks = statefulTasks(1, 8);
    const plan = assignTasks({ members, tasks, options: { ...options, numStandbyReplicas: 3 } });
    checkPlacement(members, tasks, plan);
    checkProcesses(members, plan);
    const { standbys } = replicaProcesses(members, plan);
    for (const task of tasks) expect(standbys.get(task.id)).toHaveLength(2);
  });

  it('3 processes with 1, 2 and 3 threads: actives weighted by threads, standbys off the active process', () => {
    const members = instances([1, 2, 3]);
    const tasks = [
      ...statefulTasks(2, 7),
      ...Array.from({ length: 5 }, (_, p) => ({ id: `2_${p}`, stateful: false })),
    ];
    const plan = assignTasks({ members, tasks, options: { ...options, numStandbyReplicas: 2 } });
    checkPlacement(members, tasks, plan);
    checkProcesses(members, plan);
    const own = [...plan.members.values()];
    expect(spread(own.map((m) => m.active.length))).toBeLessThanOrEqual(1);
    const stateful = new Set(tasks.filter((t) => t.stateful).map((t) => t.id));
    expect(spread(own.map((m) => m.active.filter((t) => stateful.has(t)).length))).toBeLessThanOrEqual(1);
    // Per process: proportional to its threads (19 tasks over 6 threads: ⌊19·w/6⌋ or one more).
    const byProcess = new Map<string, number>();
    for (const m of members) {
      const count = plan.members.get(m.memberId)!.active.length;
      byProcess.set(m.processId, (byProcess.get(m.processId) ?? 0) + count);
    }
    expect(byProcess.get('pid-app-0')).toBeGreaterThanOrEqual(3);
    expect(byProcess.get('pid-app-0')).toBeLessThanOrEqual(4);
    expect(byProcess.get('pid-app-2')).toBeGreaterThanOrEqual(9);
    const { standbys } = replicaProcesses(members, plan);
    for (const id of stateful) expect(standbys.get(id)).toHaveLength(2);
  });

  it('keeps each thread its own previous actives when caught up, with standbys on the other process', () => {
    const all = Object.fromEntries(statefulTasks(1, 8).map((t) => [t.id, 0]));
    const previous: Record<string, string[]> = {
      'app-0': ['0_0', '0_5'],
      'app-0.t2': ['0_2', '0_7'],
      'app-1': ['0_1', '0_4'],
      'app-1.t2': ['0_3', '0_6'],
    };
    // Every thread reads its process's state directory: all tasks at lag 0 (actives and standbys).
    const members = instances([2, 2], () => all).map((m) => ({
      ...m,
      previousActive: previous[m.identity]!,
    }));
    const tasks = statefulTasks(1, 8);
    const plan = assignTasks({ members: shuffled(members, 7), tasks, options });
    expect(plan.probingRebalanceNeeded).toBe(false);
    const own = byIdentity(members, plan);
    for (const [identity, active] of Object.entries(previous))
      expect(own.get(identity)!.active).toEqual(active);
    checkProcesses(members, plan);
    const { standbys } = replicaProcesses(members, plan);
    for (const task of tasks) expect(standbys.get(task.id)).toHaveLength(1);
  });

  describe('warm-ups', () => {
    it('never lands on the active process, even when its threads report slightly different lags', () => {
      // Both threads of app-0 read the same (far behind) state, at moments a few records apart. The
      // process's lag is the lowest of its threads'; it keeps its share active on both threads and
      // holds the rest back while app-1 warms them up.
      const tasks = statefulTasks(1, 4);
      const lags = (lag: number) => Object.fromEntries(tasks.map((t) => [t.id, lag]));
      const members = [thread(0, 1, lags(5_000)), thread(0, 2, lags(5_003)), thread(1, 1), thread(1, 2)];
      const plan = assignTasks({ members, tasks, options: { ...options, numStandbyReplicas: 0 } });
      checkPlacement(members, tasks, plan);
      checkProcesses(members, plan);
      const own = byIdentity(members, plan);
      // The second thread of app-0 shares the state: it runs tasks active instead of warming them up.
      expect(own.get('app-0')!.active).toEqual(['0_0', '0_2']);
      expect(own.get('app-0.t2')!.active).toEqual(['0_1', '0_3']);
      expect(own.get('app-0.t2')!.warmup).toEqual([]);
      expect(own.get('app-0')!.warmup).toEqual([]);
      expect(own.get('app-1')!.warmup).toEqual(['0_2']);
      expect(own.get('app-1.t2')!.warmup).toEqual(['0_3']);
      expect(plan.probingRebalanceNeeded).toBe(true);
    });

    it('goes to another process than the active when a sibling thread of the active is closest', () => {
      // app-0 (2 threads) is caught up on all three tasks and keeps 0_0 and 0_1 sticky; 0_2 exceeds
      // its share and is held back there. app-0.t2 reports the closest state, but it shares the
      // active's state directory: the warm-up goes to app-1.
      const tasks = statefulTasks(1, 3);
      const all = (lag: number) => Object.fromEntries(tasks.map((t) => [t.id, lag]));
      const members = [
        thread(0, 1, all(0), { previousActive: ['0_0', '0_1', '0_2'] }),
        thread(0, 2, all(3)),
        thread(1, 1, { '0_2': 101 }),
      ];
      const plan = assignTasks({ members, tasks, options: { ...options, numStandbyReplicas: 0 } });
      checkPlacement(members, tasks, plan);
      checkProcesses(members, plan);
      const own = byIdentity(members, plan);
      expect(own.get('app-0')!.active).toEqual(['0_0', '0_1']);
      expect(own.get('app-0.t2')!.active).toEqual(['0_2']);
      expect(own.get('app-0.t2')!.warmup).toEqual([]);
      expect(own.get('app-1')!.warmup).toEqual(['0_2']);
      expect(plan.probingRebalanceNeeded).toBe(true);
    });

    it('scaling out from one process to two warms up only the new process, then settles balanced', () => {
      const tasks = statefulTasks(1, 8);
      const all = tasks.map((t) => t.id);
      const state = Object.fromEntries(all.map((t) => [t, 0]));
      let members = [
        thread(0, 1, state, { previousActive: all.slice(0, 4) }),
        thread(0, 2, state, { previousActive: all.slice(4) }),
        thread(1, 1),
        thread(1, 2),
      ];
      let plan = assignTasks({ members, tasks, options });
      for (let round = 0; plan.probingRebalanceNeeded; round++) {
        expect(round).toBeLessThan(10);
        checkPlacement(members, tasks, plan);
        checkProcesses(members, plan);
        const own = byIdentity(members, plan);
        expect([...own.get('app-0')!.warmup, ...own.get('app-0.t2')!.warmup]).toEqual([]);
        members = afterSharedCatchUp(members, plan);
        plan = assignTasks({ members, tasks, options });
      }
      checkPlacement(members, tasks, plan);
      checkProcesses(members, plan);
      for (const own of plan.members.values()) {
        expect(own.active).toHaveLength(2);
        expect(own.standby).toHaveLength(2);
        expect(own.warmup).toEqual([]);
      }
    });
  });

  it('is deterministic: shuffled members and lag entries give the same plan', () => {
    const tasks = statefulTasks(2, 6);
    const lagsOf = (pod: number) =>
      Object.fromEntries(tasks.filter((_, i) => i % 3 === pod).map((t, i) => [t.id, i * 40]));
    const members = instances([3, 2, 1], lagsOf);
    const expected = assignTasks({ members, tasks, options: { ...options, numStandbyReplicas: 2 } });
    checkProcesses(members, expected);
    for (const seed of [1, 2, 3, 42, 1234]) {
      const reordered = shuffled(members, seed).map((m) => ({
        ...m,
        taskLags: new Map(shuffled(Object.entries(m.taskLags), seed + 1)),
      }));
      const actual = assignTasks({
        members: reordered,
        tasks: shuffled(tasks, seed + 2),
        options: { ...options, numStandbyReplicas: 2 },
      });
      expect(actual).toEqual(expected);
      expect([...actual.members.keys()]).toEqual([...expected.members.keys()]);
    }
  });

  describe('properties', () => {
    const scenarioArb = threadedScenario({
      processes: 4,
      threads: 3,
      partitions: 12,
      stateless: 4,
      racks: false,
    });

    it('never puts a replica on the process of its active, warm-up or another standby', () => {
      fc.assert(
        fc.property(scenarioArb, ({ members, tasks, options }) => {
          const plan = assignTasks({ members, tasks, options });
          checkPlacement(members, tasks, plan);
          checkProcesses(members, plan);
          checkStandbyCounts({ members, tasks, options }, plan);
          if (!plan.probingRebalanceNeeded) {
            expect(spread([...plan.members.values()].map((m) => m.active.length))).toBeLessThanOrEqual(1);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
