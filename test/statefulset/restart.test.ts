// A StatefulSet, simulated: three app processes named app-0, app-1, app-2, each with its own state directory (its
// volume), under a steady input stream. Restarting a pod under the same name within the session timeout gives it
// exactly its previous tasks with no rebalance (the other members see no new assignment): after a SIGTERM with its
// volume, after a SIGKILL with its volume (it restores only the changelog's tail), and with an empty volume (it
// restores everything). The counts stay exact. Each case runs with one stream thread per pod and with two (a threaded
// app: each thread a static member of its own, `app-1` and `app-1.t2`).
import { describe, expect, it } from 'vitest';
import { waitFor, withAdmin } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import {
  assignments,
  expectExactCounts,
  type Harness,
  last,
  partitionOf,
  restores,
  statefulSet as statefulSetOf,
  waitSettled,
} from './harness.js';

const apps = appProcesses();

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
  const partitions = sts.before[ordinal]!.tasks.map(partitionOf);
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

describe.each([1, 2])('a StatefulSet with static membership, %i stream thread(s) per pod', (threads) => {
  const statefulSet = (a: typeof apps) => statefulSetOf(a, { env: { NUM_STREAM_THREADS: String(threads) } });

  it('restart (SIGTERM): the pod gets its own tasks back without a rebalance and restores nothing', async () => {
    const sts = await statefulSet(apps);
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
    const sts = await statefulSet(apps);
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
    const sts = await statefulSet(apps);
    try {
      sts.pods[0]!.child.kill('SIGTERM');
      expect(await sts.pods[0]!.exited, sts.pods[0]!.output()).toBe(0);
      const restarted = sts.start(0, apps.stateDir());
      await expectNoRebalance(sts, restarted, 0);
      const full = restores(restarted);
      expect(full.map((r) => r.partition).sort()).toEqual(sts.before[0]!.tasks.map(partitionOf).sort());
      for (const r of full) expect(r.start).toBe('0');
      await expectExactCounts(sts);
    } finally {
      await sts.stop().catch(() => undefined);
    }
  }, 180_000);

  it('scale 3 → 5 → 3: balanced after each step, only the tasks balance requires move, counts stay exact', async () => {
    const sts = await statefulSet(apps);
    const settledWith = async (pods: AppProcess[], what: string) => {
      await waitSettled(pods, what);
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
