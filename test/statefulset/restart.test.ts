// A StatefulSet, simulated: three app processes named app-0, app-1, app-2, each with its own state directory (its
// volume), under a steady input stream. Restarting a pod under the same name within the session timeout gives it
// exactly its previous tasks with no rebalance (the other members see no new assignment): after a SIGTERM with its
// volume, after a SIGKILL with its volume (it restores only the changelog's tail), and with an empty volume (it
// restores everything). The counts stay exact.
import { describe, expect, it } from 'vitest';
import { brokerList, createTopics, testKafka, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import { readAll } from '../support/read.js';

const apps = appProcesses();

interface Assigned {
  event: 'assigned';
  tasks: string[];
  generation: number;
}

function assignments(app: AppProcess): Assigned[] {
  return app
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"event":"assigned"'))
    .map((l) => JSON.parse(l) as Assigned);
}

const last = (app: AppProcess) => assignments(app).at(-1);

interface Harness {
  pods: AppProcess[];
  before: (Assigned | undefined)[];
  start(ordinal: number, dir?: string, extra?: Record<string, string>): AppProcess;
  expected(): Map<string, number>;
  stop(): Promise<void>;
  input: string;
  output: string;
  applicationId: string;
}

/** Three settled pods under a steady input stream. */
async function statefulSet(): Promise<Harness> {
  const input = uniqueName('words');
  const output = uniqueName('counts');
  const applicationId = uniqueName('sts');
  await createTopics([
    { topic: input, numPartitions: 6 },
    { topic: output, numPartitions: 6 },
  ]);
  const counts = new Map<string, number>();
  const producer = testKafka().producer();
  await producer.connect();
  let producing = true;
  let i = 0;
  const steady = (async () => {
    while (producing) {
      const messages = Array.from({ length: 60 }, () => ({ key: `k${i++ % 97}`, value: 'x' }));
      await producer.send({ topic: input, messages });
      for (const m of messages) counts.set(m.key, (counts.get(m.key) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const dirs = [0, 1, 2].map(() => apps.stateDir());
  const env = (ordinal: number, dir: string, extra: Record<string, string> = {}) => ({
    ...extra,
    KAFKA_BROKERS: brokerList().join(','),
    APPLICATION_ID: applicationId,
    STATE_DIR: dir,
    POD_NAME: `app-${ordinal}`,
    SESSION_TIMEOUT_MS: '30000',
    COMMIT_INTERVAL_MS: '500',
  });
  const start = (
    ordinal: number,
    dir = dirs[ordinal] ?? apps.stateDir(),
    extra: Record<string, string> = {},
  ) => apps.start('examples/word-count/app.ts', [input, output], env(ordinal, dir, extra));
  const pods = [start(0), start(1), start(2)];
  // Settled: the three latest assignments share a generation and split the six tasks between them.
  await waitFor(
    () => {
      const latestOf = pods.map(last);
      if (latestOf.some((a) => a === undefined)) return false;
      const tasks = latestOf.flatMap((a) => a!.tasks);
      return (
        latestOf.every((a) => a!.tasks.length === 2) &&
        new Set(latestOf.map((a) => a!.generation)).size === 1 &&
        tasks.length === 6 &&
        new Set(tasks).size === 6
      );
    },
    { timeoutMs: 60_000, what: 'the three pods to share the six tasks, two each' },
  ).catch((err: Error) => {
    // What each pod printed says why the group did not settle.
    const tails = pods.map((p, i) => `--- app-${i}:\n${p.output().split('\n').slice(-25).join('\n')}`);
    throw new Error(`${err.message}\n${tails.join('\n')}`);
  });
  // And each task's current owner has committed since: an offset commit comes after the state and checkpoint it
  // covers are written, so every pod now has a checkpoint for its tasks.
  const committed = async () => {
    const [c] = await withAdmin((a) => a.fetchOffsets({ groupId: applicationId, topics: [input] }));
    return new Map(c!.partitions.map((p) => [p.partition, Number(p.offset)]));
  };
  const atSettle = await committed();
  await waitFor(
    async () => {
      const now = await committed();
      return [...atSettle].every(([p, o]) => (now.get(p) ?? -1) > o);
    },
    { what: 'every task to commit after the group settled' },
  );
  return {
    pods,
    before: pods.map(last),
    start,
    expected: () => counts,
    input,
    output,
    applicationId,
    async stop() {
      if (!producing) return;
      producing = false;
      await steady;
      await producer.disconnect();
    },
  };
}

/** Waits until the restarted pod processes again and checks that nobody else was reassigned. */
async function expectNoRebalance(sts: Harness, restarted: AppProcess, ordinal: number): Promise<void> {
  const others = [0, 1, 2].filter((o) => o !== ordinal);
  const seen = others.map((o) => assignments(sts.pods[o]!).length);
  await waitFor(() => last(restarted), {
    timeoutMs: 30_000,
    what: `the restarted app-${ordinal} to get its tasks`,
  });
  // Same tasks, same generation: the group did not rebalance.
  expect(last(restarted)).toEqual(sts.before[ordinal]);
  const partitions = sts.before[ordinal]!.tasks.map((t) => Number(t.split('_')[1]));
  const outputOf = async () =>
    (await withAdmin((a) => a.fetchTopicOffsets(sts.output)))
      .filter((o) => partitions.includes(o.partition))
      .reduce((sum, o) => sum + Number(o.high), 0);
  const atRestart = await outputOf();
  await waitFor(async () => (await outputOf()) >= atRestart + 300, {
    what: `app-${ordinal} to output 300 more counts`,
  }).catch((err: Error) => {
    throw new Error(`${err.message}; its output:\n${restarted.output().slice(-4000)}`);
  });
  // The others saw no new assignment while the pod was away and back, nor while it processes again.
  others.forEach((o, i) => {
    expect(assignments(sts.pods[o]!)).toHaveLength(seen[i]!);
    expect(last(sts.pods[o]!)).toEqual(sts.before[o]);
  });
}

/** Stops the input; once the pods have committed all of it, every key's last output is its exact count. */
async function expectExactCounts(sts: Harness): Promise<void> {
  await sts.stop();
  const inputEnd = (await withAdmin((a) => a.fetchTopicOffsets(sts.input))).reduce(
    (n, o) => n + Number(o.high),
    0,
  );
  await waitFor(
    async () => {
      const [c] = await withAdmin((a) => a.fetchOffsets({ groupId: sts.applicationId, topics: [sts.input] }));
      return c!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) === inputEnd;
    },
    { timeoutMs: 60_000, what: 'the pods to commit all input' },
  );
  const outputEnd = (await withAdmin((a) => a.fetchTopicOffsets(sts.output))).reduce(
    (n, o) => n + Number(o.high),
    0,
  );
  const latest = new Map<string, number>();
  for (const r of await readAll(sts.output, outputEnd)) latest.set(r.key!, Number(r.value));
  expect(latest).toEqual(sts.expected());
}

const restores = (app: AppProcess) =>
  app
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"event":"restore-start"'))
    .map((l) => JSON.parse(l) as { partition: number; start: string; end: string });

describe('a StatefulSet with static membership', () => {
  it('restart (SIGTERM): the pod gets its own tasks back without a rebalance and restores nothing', async () => {
    const sts = await statefulSet();
    try {
      sts.pods[1]!.child.kill('SIGTERM');
      expect(await sts.pods[1]!.exited, sts.pods[1]!.output()).toBe(0);
      const restarted = sts.start(1);
      await expectNoRebalance(sts, restarted, 1);
      expect(restores(restarted)).toEqual([]);
      await expectExactCounts(sts);
    } finally {
      await sts.stop().catch(() => undefined);
    }
  }, 180_000);

  it('crash (SIGKILL): the pod comes back to its tasks, restores at most the tail, counts stay exact', async () => {
    const sts = await statefulSet();
    try {
      sts.pods[2]!.child.kill('SIGKILL');
      await sts.pods[2]!.exited;
      const restarted = sts.start(2);
      await expectNoRebalance(sts, restarted, 2);
      for (const r of restores(restarted)) expect(BigInt(r.start)).toBeGreaterThan(0n);
      await expectExactCounts(sts);
    } finally {
      await sts.stop().catch(() => undefined);
    }
  }, 180_000);

  it('lost volume: the pod restarts on an empty state directory, restores fully, and disturbs nobody', async () => {
    const sts = await statefulSet();
    try {
      sts.pods[0]!.child.kill('SIGTERM');
      expect(await sts.pods[0]!.exited, sts.pods[0]!.output()).toBe(0);
      const restarted = sts.start(0, apps.stateDir());
      await expectNoRebalance(sts, restarted, 0);
      const full = restores(restarted);
      expect(full.map((r) => r.partition).sort()).toEqual(
        sts.before[0]!.tasks.map((t) => Number(t.split('_')[1])).sort(),
      );
      for (const r of full) expect(r.start).toBe('0');
      await expectExactCounts(sts);
    } finally {
      await sts.stop().catch(() => undefined);
    }
  }, 180_000);

  it('scale 3 → 5 → 3: balanced after each step, only the tasks balance requires move, counts stay exact', async () => {
    const sts = await statefulSet();
    const settledWith = async (pods: AppProcess[], what: string) => {
      await waitFor(
        () => {
          const latestOf = pods.map(last);
          if (latestOf.some((a) => a === undefined)) return false;
          const tasks = latestOf.flatMap((a) => a!.tasks);
          const sizes = latestOf.map((a) => a!.tasks.length);
          return (
            new Set(latestOf.map((a) => a!.generation)).size === 1 &&
            new Set(tasks).size === 6 &&
            tasks.length === 6 &&
            Math.max(...sizes) - Math.min(...sizes) <= 1
          );
        },
        { timeoutMs: 90_000, what },
      );
      return new Map(pods.flatMap((p, i) => last(p)!.tasks.map((t) => [t, i] as const)));
    };
    const moved = (a: Map<string, number>, b: Map<string, number>, podsOf: (i: number) => string) =>
      [...a].filter(([t, i]) => podsOf(i) !== podsOf(b.get(t)!)).length;
    try {
      const three = new Map(sts.pods.flatMap((p, i) => last(p)!.tasks.map((t) => [t, i] as const)));
      // Scale up: app-3 and app-4 join (dynamic leaves are not needed: they join).
      const up = [
        ...sts.pods,
        sts.start(3, undefined, { LEAVE_GROUP_ON_SHUTDOWN: 'true' }),
        sts.start(4, undefined, { LEAVE_GROUP_ON_SHUTDOWN: 'true' }),
      ];
      const five = await settledWith(up, 'five pods to share the six tasks evenly');
      // 6 tasks over 5 pods: each new pod needs one task; nothing else moves.
      expect(moved(three, five, (i) => `app-${i}`)).toBe(2);
      // Scale down, highest ordinals first, as a StatefulSet does: their tasks go back, nothing else moves.
      up[4]!.child.kill('SIGTERM');
      expect(await up[4]!.exited).toBe(0);
      up[3]!.child.kill('SIGTERM');
      expect(await up[3]!.exited).toBe(0);
      const back = await settledWith(sts.pods, 'three pods to share the six tasks evenly again');
      expect(moved(five, back, (i) => `app-${i}`)).toBe(2);
      await expectExactCounts(sts);
    } finally {
      await sts.stop().catch(() => undefined);
    }
  }, 240_000);
});
