import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssignmentMember, AssignmentOptions, AssignmentTask } from '../src/index.js';
import { assignTasks } from '../src/index.js';
import {
  activeOwners,
  afterCatchUp,
  byIdentity,
  checkPlacement,
  converge,
  member,
  minimalMoves,
  shuffled,
  spread,
  statefulTasks,
} from './helpers.js';

interface ScaleCase {
  readonly subtopologies: number;
  readonly partitions: number;
  readonly stateful: boolean;
  readonly options: AssignmentOptions;
}

interface Scenario {
  readonly members: AssignmentMember[];
  readonly tasks: AssignmentTask[];
  readonly options: AssignmentOptions;
}

const optionsArb = fc.record({
  numStandbyReplicas: fc.integer({ min: 0, max: 2 }),
  acceptableRecoveryLag: fc.integer({ min: 0, max: 100 }),
  maxWarmupReplicas: fc.integer({ min: 1, max: 4 }),
});

const tasksArb = fc
  .array(fc.record({ partitions: fc.integer({ min: 1, max: 12 }), stateful: fc.boolean() }), {
    minLength: 1,
    maxLength: 3,
  })
  .map((subtopologies) =>
    subtopologies.flatMap(({ partitions, stateful }, s) =>
      Array.from({ length: partitions }, (_, p) => ({ id: `${s}_${p}`, stateful })),
    ),
  );

/** Members with arbitrary state (lags), previous owners and racks: any group the leader may see. */
const scenarioArb: fc.Arbitrary<Scenario> = tasksArb.chain((tasks) =>
  fc.record({
    tasks: fc.constant(tasks),
    options: optionsArb,
    members: fc
      .array(
        fc.record({
          lags: fc.array(
            fc.tuple(
              fc.constantFrom(...tasks.map((t) => t.id)),
              fc.oneof(fc.constant(0), fc.nat(200), fc.nat(1e9)),
            ),
          ),
          previous: fc.subarray(tasks.map((t) => t.id)),
          rack: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }),
          memberId: fc.uuid(),
        }),
        { minLength: 1, maxLength: 8 },
      )
      .map((raw) =>
        raw.map((m, i) => ({
          memberId: `${m.memberId}-${i}`,
          identity: `app-${i}`,
          processId: `process-${i}`,
          taskLags: Object.fromEntries(m.lags),
          previousActive: m.previous,
          ...(m.rack === undefined ? {} : { rack: m.rack }),
          endpoint: `app-${i}:7070`,
        })),
      ),
  }),
);

const runs = { numRuns: 300 };

describe('assignTasks properties', () => {
  it('never loses or doubles a task, and never puts a replica on its active member', () => {
    fc.assert(
      fc.property(scenarioArb, ({ members, tasks, options }) => {
        checkPlacement(members, tasks, assignTasks({ members, tasks, options }));
      }),
      runs,
    );
  });

  it('balances active counts within one when no warm-up is pending', () => {
    fc.assert(
      fc.property(scenarioArb, ({ members, tasks, options }) => {
        const plan = assignTasks({ members, tasks, options });
        if (plan.probingRebalanceNeeded) return;
        const own = [...plan.members.values()];
        expect(spread(own.map((m) => m.active.length))).toBeLessThanOrEqual(1);
        const stateful = new Set(tasks.filter((t) => t.stateful).map((t) => t.id));
        expect(spread(own.map((m) => m.active.filter((t) => stateful.has(t)).length))).toBeLessThanOrEqual(1);
        for (const m of own) expect(m.warmup).toEqual([]);
      }),
      runs,
    );
  });

  it('is deterministic whatever the order of members, tasks and lag entries', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer(), ({ members, tasks, options }, seed) => {
        const expected = assignTasks({ members, tasks, options });
        const reordered = shuffled(members, seed).map((m) => ({
          ...m,
          taskLags: new Map(shuffled(Object.entries(m.taskLags), seed + 1)),
        }));
        const actual = assignTasks({ members: reordered, tasks: shuffled(tasks, seed + 2), options });
        expect(actual).toEqual(expected);
        expect([...actual.members.keys()]).toEqual([...expected.members.keys()]);
        expect([...actual.hostOf.keys()]).toEqual([...expected.hostOf.keys()]);
      }),
      runs,
    );
  });

  it('places the requested standbys when there are enough members, off the active rack when possible', () => {
    fc.assert(
      fc.property(scenarioArb, ({ members, tasks, options }) => {
        const plan = assignTasks({ members, tasks, options });
        const racks = new Map(members.map((m) => [m.memberId, m.rack]));
        const activeOf = new Map<string, string>();
        const standbysOf = new Map<string, string[]>();
        const warmupOf = new Map<string, string>();
        for (const [memberId, own] of plan.members) {
          for (const t of own.active) activeOf.set(t, memberId);
          for (const t of own.standby) standbysOf.set(t, [...(standbysOf.get(t) ?? []), memberId]);
          for (const t of own.warmup) warmupOf.set(t, memberId);
        }
        for (const task of tasks.filter((t) => t.stateful)) {
          const active = activeOf.get(task.id)!;
          const standbys = standbysOf.get(task.id) ?? [];
          const eligible = members.length - 1 - (warmupOf.has(task.id) ? 1 : 0);
          expect(standbys.length).toBe(Math.min(options.numStandbyReplicas, eligible));
          const activeRack = racks.get(active);
          if (activeRack !== undefined && standbys.some((s) => racks.get(s) === activeRack)) {
            // A standby shares the active's rack only if every member elsewhere is already a replica.
            for (const m of members) {
              if (m.rack === activeRack || m.memberId === active) continue;
              expect(standbys.includes(m.memberId) || warmupOf.get(task.id) === m.memberId).toBe(true);
            }
          }
        }
      }),
      runs,
    );
  });

  it('is sticky: once settled, the same members with the same state get the same tasks, even after a restart', () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(), ({ members, tasks, options }, pick) => {
        const settled = converge(members, tasks, options);
        const again = afterCatchUp(settled.members, settled.plan);
        const expected = byIdentity(again, assignTasks({ members: again, tasks, options }));
        expect(expected).toEqual(byIdentity(settled.members, settled.plan));
        const restarting = again[pick % again.length]!.memberId;
        const restarted = again.map((m) =>
          m.memberId === restarting ? { ...m, memberId: `${m.memberId}-new` } : m,
        );
        expect(byIdentity(restarted, assignTasks({ members: restarted, tasks, options }))).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  describe('minimal movement', () => {
    const scaleArb: fc.Arbitrary<ScaleCase> = fc.record({
      subtopologies: fc.integer({ min: 1, max: 3 }),
      partitions: fc.integer({ min: 1, max: 16 }),
      stateful: fc.boolean(),
      options: optionsArb,
    });

    function scale(from: number, to: number) {
      return ({ subtopologies, partitions, stateful, options }: ScaleCase) => {
        const tasks = statefulTasks(subtopologies, partitions).map((t) => ({ ...t, stateful }));
        const start = Array.from({ length: from }, (_, i) => member(`app-${i}`));
        const before = converge(start, tasks, options);
        const owners = activeOwners(before.members, before.plan);
        const carried = afterCatchUp(before.members, before.plan);
        // A StatefulSet adds the next ordinals and removes the highest ones.
        const next =
          to > from
            ? [...carried, ...Array.from({ length: to - from }, (_, i) => member(`app-${from + i}`))]
            : carried.slice(0, to);
        const after = converge(next, tasks, options, owners);
        checkPlacement(after.members, tasks, after.plan);
        expect(spread([...after.plan.members.values()].map((m) => m.active.length))).toBeLessThanOrEqual(1);

        const previousCounts = next.map((m) => [...owners.values()].filter((o) => o === m.identity).length);
        const bound = minimalMoves(previousCounts, tasks.length);
        const finalOwners = activeOwners(after.members, after.plan);
        const moved = tasks.filter((t) => finalOwners.get(t.id) !== owners.get(t.id)).length;
        // A task of a removed member goes first to a surviving caught-up standby (no restore, no
        // downtime); that member may then hand one of its own tasks on: at most one extra move each.
        const survivors = new Set(next.map((m) => m.identity));
        const rescued = tasks.filter((t) => {
          if (survivors.has(owners.get(t.id)!)) return false;
          return carried.some(
            (m) => survivors.has(m.identity) && before.plan.members.get(m.memberId)!.standby.includes(t.id),
          );
        }).length;
        expect(moved).toBeGreaterThanOrEqual(bound);
        expect(moved).toBeLessThanOrEqual(bound + rescued);
        // Over the probing rounds a task moves at most twice: to a caught-up member that keeps it
        // available, then to the warmed-up member balance wanted.
        expect(after.moves).toBeLessThanOrEqual(moved + rescued);
        if (options.numStandbyReplicas === 0 || !stateful) expect(after.moves).toBe(bound);
      };
    }

    it('scaling up 3 → 5 moves only the tasks balance requires', () => {
      fc.assert(fc.property(scaleArb, scale(3, 5)), { numRuns: 150 });
    });

    it('scaling down 5 → 3 moves only the tasks of the removed members', () => {
      fc.assert(fc.property(scaleArb, scale(5, 3)), { numRuns: 150 });
    });
  });
});
