// Benchmarks the pure assignment function at 1000 tasks × 100 members, then a member's restart against the broker
// (restart.ts); writes benchmarks/results/assignor.json.

import type { AssignmentInput, AssignmentMember, AssignmentPlan, AssignmentTask } from '@eddy/assignor';
import { assignTasks } from '@eddy/assignor';
import { bench, do_not_optimize, run } from 'mitata';
import { writeResults } from '../support/results.js';
import { measureRestart } from './restart.js';

const TASKS = 1000;
const MEMBERS = 100;
const options = { numStandbyReplicas: 1, acceptableRecoveryLag: 10_000, maxWarmupReplicas: 2 };

// 750 stateful tasks in 3 subtopologies, 250 stateless in a fourth.
const tasks: AssignmentTask[] = Array.from({ length: TASKS }, (_, i) => ({
  id: `${Math.floor(i / 250)}_${i % 250}`,
  stateful: i < 750,
}));

const statefulIds = new Set(tasks.filter((t) => t.stateful).map((t) => t.id));

function freshMembers(count: number, offset = 0): AssignmentMember[] {
  return Array.from({ length: count }, (_, i) => ({
    memberId: `member-${offset + i}`,
    identity: `app-${offset + i}`,
    processId: `00000000-0000-4000-8000-${String(offset + i).padStart(12, '0')}`,
    taskLags: {},
    endpoint: `app-${offset + i}.app:7070`,
  }));
}

/** Members as they subscribe after running `plan`: actives at lag 0, standbys slightly behind. */
function settledMembers(members: AssignmentMember[], plan: AssignmentPlan): AssignmentMember[] {
  return members.map((m) => {
    const own = plan.members.get(m.memberId)!;
    const taskLags = new Map<string, number>();
    for (const t of own.active) if (statefulIds.has(t)) taskLags.set(t, 0);
    for (const [i, t] of own.standby.entries()) taskLags.set(t, 10 + i);
    return { ...m, taskLags, previousActive: own.active };
  });
}

// Steady state: every member rejoins with its previous tasks and state (a rolling restart).
const initial = freshMembers(MEMBERS);
const steady: AssignmentInput = {
  members: settledMembers(initial, assignTasks({ members: initial, tasks, options })),
  tasks,
  options,
};
// Scale-up: 90 settled members plus 10 new ones without state (warm-ups and probing).
const ninety = freshMembers(90);
const scaleUp: AssignmentInput = {
  members: [
    ...settledMembers(ninety, assignTasks({ members: ninety, tasks, options })),
    ...freshMembers(10, 90),
  ],
  tasks,
  options,
};
// Cold start: nobody has state.
const cold: AssignmentInput = { members: freshMembers(MEMBERS), tasks, options };

const scenarios: Record<string, AssignmentInput> = {
  'assignor.assign.1000-tasks-100-members.ms': steady,
  'assignor.assign.1000-tasks-100-members.scale-up.ms': scaleUp,
  'assignor.assign.1000-tasks-100-members.cold.ms': cold,
};
for (const [name, input] of Object.entries(scenarios)) {
  bench(name, () => do_not_optimize(assignTasks(input)));
}

const { benchmarks } = await run();
const results = benchmarks.map((trial) => {
  const stats = trial.runs[0]?.stats;
  if (stats === undefined) throw new Error(`benchmark ${trial.alias} failed`);
  return { name: trial.alias, value: Number((stats.avg / 1e6).toFixed(3)), unit: 'ms' };
});

await writeResults('assignor', results);

await writeResults(
  'assignor',
  await measureRestart({
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(','),
    records: Number(process.env.RESTART_RECORDS ?? 1_000_000),
    rounds: Number(process.env.RESTART_ROUNDS ?? 3),
  }),
);
