import { describe, expect, it } from 'vitest';
import type { AssignmentMember } from '../src/index.js';
import { assignTasks, isAssignorError } from '../src/index.js';
import { afterCatchUp, byIdentity, checkPlacement, converge, member, statefulTasks } from './helpers.js';

const options = { numStandbyReplicas: 0, acceptableRecoveryLag: 100, maxWarmupReplicas: 2 };

describe('assignTasks', () => {
  it('spreads fresh tasks evenly, in task order, over members in identity order', () => {
    const members = [member('app-1'), member('app-0'), member('app-2')];
    const tasks = statefulTasks(1, 6);
    const plan = assignTasks({ members, tasks, options });
    checkPlacement(members, tasks, plan);
    expect(plan.probingRebalanceNeeded).toBe(false);
    expect([...plan.members.keys()]).toEqual(['app-0-member', 'app-1-member', 'app-2-member']);
    for (const own of plan.members.values()) expect(own.active).toHaveLength(2);
  });

  it('gives a stateful task to the caught-up member, preferring the previous owner over a lower lag', () => {
    const members = [
      member('app-0', { '0_0': 50 }, { previousActive: ['0_0'] }),
      member('app-1', { '0_0': 0 }),
      member('app-2', { '0_0': 10_000 }),
    ];
    const plan = byIdentity(members, assignTasks({ members, tasks: statefulTasks(1, 1), options }));
    expect(plan.get('app-0')!.active).toEqual(['0_0']);
  });

  it('without a previous owner, the lowest lag wins among the caught-up', () => {
    const members = [member('app-0', { '0_0': 50 }), member('app-1', { '0_0': 3 }), member('app-2')];
    const plan = byIdentity(members, assignTasks({ members, tasks: statefulTasks(1, 1), options }));
    expect(plan.get('app-1')!.active).toEqual(['0_0']);
  });

  it('keeps a stateless task on its previous owner while balance allows', () => {
    const tasks = [
      { id: '1_0', stateful: false },
      { id: '1_1', stateful: false },
    ];
    const members = [member('app-0'), member('app-1', {}, { previousActive: ['1_0', '1_1'] })];
    const plan = byIdentity(members, assignTasks({ members, tasks, options }));
    expect(plan.get('app-1')!.active).toEqual(['1_0']);
    expect(plan.get('app-0')!.active).toEqual(['1_1']);
  });

  it('balances stateful and stateless tasks together', () => {
    const tasks = [...statefulTasks(1, 4), { id: '1_0', stateful: false }, { id: '1_1', stateful: false }];
    const members = [
      member('app-0', { '0_0': 0, '0_1': 0, '0_2': 0 }, { previousActive: ['0_0', '0_1', '0_2'] }),
      member('app-1', { '0_3': 0 }, { previousActive: ['0_3'] }),
    ];
    const plan = assignTasks({ members, tasks, options: { ...options, acceptableRecoveryLag: 0 } });
    checkPlacement(members, tasks, plan);
    const counts = [...plan.members.values()].map((m) => m.active.length);
    // app-0 is the only caught-up holder of three tasks but its stateful quota is two: one warm-up.
    expect(plan.probingRebalanceNeeded).toBe(true);
    expect(counts.reduce((a, b) => a + b)).toBe(6);
  });

  describe('warm-ups and probing rebalances', () => {
    it('keeps the active on the only caught-up member and warms up the member balance wants', () => {
      const members = [
        member('app-0', { '0_0': 0, '0_1': 0 }, { previousActive: ['0_0', '0_1'] }),
        member('app-1'),
      ];
      const tasks = statefulTasks(1, 2);
      const first = assignTasks({ members, tasks, options });
      const mine = byIdentity(members, first);
      expect(mine.get('app-0')!.active).toEqual(['0_0', '0_1']);
      expect(mine.get('app-1')).toEqual({ active: [], standby: [], warmup: ['0_1'] });
      expect(first.probingRebalanceNeeded).toBe(true);

      // Still behind: nothing moves, the warm-up stays where it is.
      const behind = members.map((m) =>
        m.identity === 'app-1'
          ? { ...m, taskLags: { '0_1': 5_000 } }
          : { ...m, previousActive: ['0_0', '0_1'] },
      );
      const second = byIdentity(behind, assignTasks({ members: behind, tasks, options }));
      expect(second.get('app-0')!.active).toEqual(['0_0', '0_1']);
      expect(second.get('app-1')!.warmup).toEqual(['0_1']);

      // Within the acceptable lag: the active moves and probing stops.
      const caughtUp = behind.map((m) => (m.identity === 'app-1' ? { ...m, taskLags: { '0_1': 100 } } : m));
      const third = assignTasks({ members: caughtUp, tasks, options });
      const placed = byIdentity(caughtUp, third);
      expect(placed.get('app-0')!.active).toEqual(['0_0']);
      expect(placed.get('app-1')).toEqual({ active: ['0_1'], standby: [], warmup: [] });
      expect(third.probingRebalanceNeeded).toBe(false);
    });

    it('places at most maxWarmupReplicas warm-ups per rebalance and converges over probing rounds', () => {
      const tasks = statefulTasks(1, 12);
      const all = tasks.map((t) => t.id);
      const members = [
        member('app-0', Object.fromEntries(all.map((t) => [t, 0])), { previousActive: all }),
        member('app-1'),
        member('app-2'),
      ];
      const first = assignTasks({ members, tasks, options: { ...options, maxWarmupReplicas: 3 } });
      const warmups = [...first.members.values()].reduce((sum, m) => sum + m.warmup.length, 0);
      expect(warmups).toBe(3);
      expect(first.members.get('app-0-member')!.active).toHaveLength(12);

      const done = converge(members, tasks, { ...options, maxWarmupReplicas: 3 });
      for (const own of done.plan.members.values()) expect(own.active).toHaveLength(4);
      expect(done.moves).toBe(8);
      expect(done.rounds).toBe(4);
    });

    it('with state far behind everywhere, keeps the least-lag member active and warms up the balanced one', () => {
      const tasks = statefulTasks(1, 2);
      const members = [member('app-0', { '0_0': 90_000, '0_1': 80_000 }), member('app-1', { '0_1': 95_000 })];
      const plan = byIdentity(members, assignTasks({ members, tasks, options }));
      expect(plan.get('app-0')!.active).toEqual(['0_0', '0_1']);
      expect(plan.get('app-1')!.warmup).toEqual(['0_1']);
    });

    it('warms up the highest task of an overloaded member, the one the next rebalance lets go', () => {
      const tasks = statefulTasks(1, 6);
      // 0_1's owner left; its only caught-up copy is a standby on app-0, which is already full.
      const members = [
        member('app-0', { '0_0': 0, '0_1': 0, '0_2': 0 }, { previousActive: ['0_0', '0_2'] }),
        member('app-1', { '0_3': 0, '0_4': 0 }, { previousActive: ['0_3', '0_4'] }),
        member('app-2', { '0_5': 0 }, { previousActive: ['0_5'] }),
      ];
      const first = assignTasks({ members, tasks, options });
      const before = byIdentity(members, first);
      expect(before.get('app-0')!.active).toEqual(['0_0', '0_1', '0_2']);
      expect(before.get('app-2')!.warmup).toEqual(['0_2']);

      const next = afterCatchUp(members, first);
      const second = assignTasks({ members: next, tasks, options });
      const after = byIdentity(next, second);
      expect(second.probingRebalanceNeeded).toBe(false);
      expect(after.get('app-0')!.active).toEqual(['0_0', '0_1']);
      expect(after.get('app-2')!.active).toEqual(['0_2', '0_5']);
    });

    it('assigns by balance alone when no member has state', () => {
      const members = [member('app-0'), member('app-1')];
      const plan = assignTasks({ members, tasks: statefulTasks(2, 2), options });
      expect(plan.probingRebalanceNeeded).toBe(false);
      for (const own of plan.members.values()) expect(own.warmup).toEqual([]);
    });
  });

  describe('standbys', () => {
    it('puts standbys on other members, preferring members that have the state', () => {
      const members = [
        member('app-0', { '0_0': 0 }, { previousActive: ['0_0'] }),
        member('app-1'),
        member('app-2', { '0_0': 40 }),
      ];
      const plan = byIdentity(
        members,
        assignTasks({ members, tasks: statefulTasks(1, 1), options: { ...options, numStandbyReplicas: 1 } }),
      );
      expect(plan.get('app-0')!.active).toEqual(['0_0']);
      expect(plan.get('app-2')!.standby).toEqual(['0_0']);
    });

    it('avoids the rack of the active when another rack is available', () => {
      const members = [
        member('app-0', { '0_0': 0 }, { previousActive: ['0_0'], rack: 'a' }),
        member('app-1', { '0_0': 0 }, { rack: 'a' }),
        member('app-2', {}, { rack: 'b' }),
      ];
      const plan = byIdentity(
        members,
        assignTasks({ members, tasks: statefulTasks(1, 1), options: { ...options, numStandbyReplicas: 1 } }),
      );
      expect(plan.get('app-2')!.standby).toEqual(['0_0']);
    });

    it('places fewer standbys than asked when there are not enough other members', () => {
      const members = [member('app-0'), member('app-1')];
      const plan = assignTasks({
        members,
        tasks: statefulTasks(1, 2),
        options: { ...options, numStandbyReplicas: 3 },
      });
      for (const own of plan.members.values()) expect(own.standby).toHaveLength(1);
    });

    it('gives stateless tasks no standbys', () => {
      const members = [member('app-0'), member('app-1')];
      const tasks = [{ id: '0_0', stateful: false }];
      const plan = assignTasks({ members, tasks, options: { ...options, numStandbyReplicas: 1 } });
      for (const own of plan.members.values()) expect(own.standby).toEqual([]);
    });
  });

  it('maps endpoints to their active and standby tasks', () => {
    const members = [
      member('app-0', {}, { endpoint: 'app-0.svc:7070', rack: 'a' }),
      member('app-1', {}, { endpoint: 'app-1.svc:7070' }),
      member('app-2'),
    ];
    const plan = assignTasks({
      members,
      tasks: statefulTasks(1, 3),
      options: { ...options, numStandbyReplicas: 1 },
    });
    const own = byIdentity(members, plan);
    expect(plan.hostOf).toEqual(
      new Map([
        [
          'app-0.svc:7070',
          { active: own.get('app-0')!.active, standby: own.get('app-0')!.standby, rack: 'a' },
        ],
        ['app-1.svc:7070', { active: own.get('app-1')!.active, standby: own.get('app-1')!.standby }],
      ]),
    );
  });

  it('sorts task lists by subtopology then partition number', () => {
    const members = [member('app-0')];
    const tasks = ['1_0', '0_10', '0_2', '0_1'].map((id) => ({ id, stateful: true }));
    expect(assignTasks({ members, tasks, options }).members.get('app-0-member')!.active).toEqual([
      '0_1',
      '0_2',
      '0_10',
      '1_0',
    ]);
  });

  it('returns an empty plan for an empty group', () => {
    const plan = assignTasks({ members: [], tasks: statefulTasks(1, 2), options });
    expect(plan.members.size).toBe(0);
    expect(plan.probingRebalanceNeeded).toBe(false);
  });

  it('gives a restarted member (new member id, same identity and state) its tasks back', () => {
    const tasks = statefulTasks(2, 5);
    const { members, plan } = converge([member('app-0'), member('app-1'), member('app-2')], tasks, options);
    const settled = afterCatchUp(members, plan);
    const before = byIdentity(settled, assignTasks({ members: settled, tasks, options }));
    const restarted: AssignmentMember[] = settled.map((m) =>
      m.identity === 'app-1' ? { ...m, memberId: 'app-1-new', previousActive: [] } : m,
    );
    expect(byIdentity(restarted, assignTasks({ members: restarted, tasks, options }))).toEqual(before);
  });

  describe('invalid input', () => {
    const cases: [string, () => unknown][] = [
      [
        'duplicate member ids',
        () => assignTasks({ members: [member('a'), { ...member('b'), memberId: 'a-member' }], tasks: [] }),
      ],
      [
        'duplicate task ids',
        () =>
          assignTasks({ members: [member('a')], tasks: [...statefulTasks(1, 1), ...statefulTasks(1, 1)] }),
      ],
      [
        'negative lag',
        () => assignTasks({ members: [member('a', { '0_0': -1 })], tasks: statefulTasks(1, 1) }),
      ],
      ['zero warm-ups', () => assignTasks({ members: [], tasks: [], options: { maxWarmupReplicas: 0 } })],
      [
        'fractional standbys',
        () => assignTasks({ members: [], tasks: [], options: { numStandbyReplicas: 1.5 } }),
      ],
      [
        'negative recovery lag',
        () => assignTasks({ members: [], tasks: [], options: { acceptableRecoveryLag: -1 } }),
      ],
    ];
    it.each(cases)('rejects %s with ASSIGNOR_INVALID_INPUT', (_name, call) => {
      let caught: unknown;
      try {
        call();
      } catch (err) {
        caught = err;
      }
      expect(isAssignorError(caught, 'ASSIGNOR_INVALID_INPUT')).toBe(true);
    });
  });
});
