// Standby and warm-up replicas in a simulated StatefulSet: a standby takes over a killed pod's task with at most the
// changelog's tail to restore; a new pod warms up the tasks balance wants it to have, and probing rebalances move
// them to it once it is caught up. Counts stay exact throughout.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/kafka.js';
import { appProcesses } from '../support/processes.js';
import {
  type Assigned,
  assignments,
  changelogEnds,
  expectExactCounts,
  last,
  partitionOf,
  restores,
  statefulSet,
  TASKS,
  waitSettled,
} from './harness.js';

const apps = appProcesses();

describe('replicas', () => {
  // With two stream threads per pod, each thread is a group member: the standby must still be on another pod.
  it.each([1, 2])(
    'standby (%i stream thread(s) per pod): the standby of a killed pod takes its task over, restoring at most the tail',
    async (threads) => {
      const sts = await statefulSet(apps, {
        // A short session, so that the group notices the killed pod soon.
        env: { NUM_STANDBY_REPLICAS: '1', SESSION_TIMEOUT_MS: '8000', NUM_STREAM_THREADS: String(threads) },
        settledWhen: (latest) => {
          const standbys = latest.flatMap((a) => a.standby);
          return standbys.length === TASKS && new Set(standbys).size === TASKS;
        },
      });
      try {
        const before = sts.before as Assigned[];
        // Standbys are never on the member of their active.
        for (const a of before) for (const t of a.standby) expect(a.tasks).not.toContain(t);
        const victim = 1;
        const standbyHolder = new Map(before.flatMap((a, i) => a.standby.map((t) => [t, i] as const)));
        // Where the changelogs ended a while before the kill: standbys read their tail every second, so by the kill they
        // hold at least this much.
        const endsBefore = await changelogEnds(sts);
        await new Promise((r) => setTimeout(r, 6_000));
        sts.pods[victim]!.child.kill('SIGKILL');
        await sts.pods[victim]!.exited;
        const survivors = sts.pods.filter((_, i) => i !== victim);
        await waitSettled(survivors, 'the two other pods to take over the killed pod’s tasks');
        let tookOver = 0;
        for (const task of before[victim]!.tasks) {
          const holder = standbyHolder.get(task)!;
          const owner = sts.pods.findIndex((p, i) => i !== victim && last(p)!.tasks.includes(task));
          if (owner !== holder) continue;
          tookOver++;
          const partition = partitionOf(task);
          const floor = endsBefore.get(partition)!;
          expect(floor).toBeGreaterThan(0n);
          // Any restore of the task on its new owner starts at or after where the standby had already been.
          for (const r of restores(sts.pods[owner]!).filter((x) => x.partition === partition)) {
            expect(BigInt(r.start), `restore of ${task} on app-${owner}`).toBeGreaterThanOrEqual(floor);
          }
        }
        // Each survivor has room for one more task, so at least one of the two goes to its standby.
        expect(tookOver).toBeGreaterThanOrEqual(1);
        await expectExactCounts(sts);
      } finally {
        await sts.stop().catch(() => undefined);
      }
    },
    240_000,
  );

  it('warm-up: a new pod warms up its tasks first; probing rebalances move them once it is caught up', async () => {
    const acceptableLag = 60;
    const sts = await statefulSet(apps, {
      pods: 1,
      env: { ACCEPTABLE_RECOVERY_LAG: String(acceptableLag), PROBING_REBALANCE_INTERVAL_MS: '120000' },
    });
    try {
      // Enough changelog that a pod without state is far behind on every task.
      await waitFor(
        async () => [...(await changelogEnds(sts)).values()].every((end) => end >= BigInt(4 * acceptableLag)),
        { what: 'every changelog partition to hold a few commits' },
      );
      const joining = sts.start(1);
      const pods = [sts.pods[0]!, joining];
      await waitFor(() => assignments(joining)[0], { timeoutMs: 60_000, what: 'app-1 to join' });
      // Its state is far behind: app-0 keeps every task active while app-1 warms up the ones it should get.
      const first = assignments(joining)[0]!;
      expect(first.tasks).toEqual([]);
      expect(first.warmup.length).toBeGreaterThan(0);
      await waitSettled(
        pods,
        'the warm-ups to be promoted until both pods hold three tasks',
        undefined,
        120_000,
      );
      const moved = last(joining)!.tasks;
      expect(moved).toHaveLength(3);
      // Every task that moved was warmed up on app-1 first, and only its tail was restored when it became active.
      const warmedUp = new Set(assignments(joining).flatMap((a) => a.warmup));
      for (const task of moved) {
        expect(warmedUp, task).toContain(task);
        for (const r of restores(joining).filter((x) => x.partition === partitionOf(task))) {
          expect(BigInt(r.start), `restore of ${task}`).toBeGreaterThan(0n);
        }
      }
      expect(joining.output()).toContain('asking for a probing rebalance');
      await expectExactCounts(sts);
    } finally {
      await sts.stop().catch(() => undefined);
    }
  }, 240_000);
});
