import { describe, expect, it } from 'vitest';
import {
  assignTasks,
  createQueryRouter,
  decodeAssignment,
  encodeAssignment,
  isAssignorError,
  partitionForKey,
} from '../src/index.js';
import { member, statefulTasks } from './helpers.js';

describe('createQueryRouter', () => {
  const members = [
    member('app-0', {}, { endpoint: 'app-0:7070' }),
    member('app-1', {}, { endpoint: 'app-1:7070' }),
    member('app-2', {}, { endpoint: 'app-2:7070' }),
  ];
  const plan = assignTasks({ members, tasks: statefulTasks(2, 6), options: { numStandbyReplicas: 1 } });
  const storeSubtopologies = { counts: 0, totals: 1 };

  it('finds the active and standby endpoints of a key from the plan', () => {
    const router = createQueryRouter({ hostOf: plan.hostOf, storeSubtopologies });
    for (const key of ['alice', 'bob', 'carol', 'dave', '']) {
      const bytes = Buffer.from(key);
      const location = router.hostFor('totals', bytes, 6);
      const partition = partitionForKey(bytes, 6);
      expect(location.partition).toBe(partition);
      expect(location.taskId).toBe(`1_${partition}`);
      const active = [...plan.hostOf].find(([, tasks]) => tasks.active.includes(location.taskId))![0];
      expect(location.active).toBe(active);
      const standbys = [...plan.hostOf]
        .filter(([, tasks]) => tasks.standby.includes(location.taskId))
        .map(([e]) => e);
      expect(location.standbys).toEqual(standbys);
      expect(location.standbys).not.toContain(active);
    }
  });

  it('works from a decoded assignment, as a non-leader member sees it', () => {
    const own = plan.members.get('app-1-member')!;
    const decoded = decodeAssignment(
      encodeAssignment({ ...own, hostOf: plan.hostOf, probingRebalanceNeeded: false, errorCode: 'NONE' }),
    );
    const fromPlan = createQueryRouter({ hostOf: plan.hostOf, storeSubtopologies });
    const fromBytes = createQueryRouter({
      hostOf: decoded.hostOf,
      storeSubtopologies: new Map([['counts', 0]]),
    });
    const key = Buffer.from('some-key');
    expect(fromBytes.hostFor('counts', key, 6)).toEqual(fromPlan.hostFor('counts', key, 6));
  });

  it('reports no active endpoint for a task nobody hosts', () => {
    const router = createQueryRouter({ hostOf: new Map(), storeSubtopologies });
    expect(router.hostFor('counts', Buffer.from('k'), 4)).toMatchObject({ active: undefined, standbys: [] });
  });

  it('throws ASSIGNOR_UNKNOWN_STORE for a store it does not know', () => {
    const router = createQueryRouter({ hostOf: plan.hostOf, storeSubtopologies });
    let caught: unknown;
    try {
      router.hostFor('missing', Buffer.from('k'), 6);
    } catch (err) {
      caught = err;
    }
    expect(isAssignorError(caught, 'ASSIGNOR_UNKNOWN_STORE')).toBe(true);
  });

  it('rejects a partition count below one', () => {
    const router = createQueryRouter({ hostOf: plan.hostOf, storeSubtopologies });
    expect(() => router.hostFor('counts', Buffer.from('k'), 0)).toThrow(
      expect.objectContaining({ code: 'ASSIGNOR_INVALID_INPUT' }),
    );
  });
});
