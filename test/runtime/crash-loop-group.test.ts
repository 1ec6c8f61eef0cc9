// Crash-loop protection seen from the group: while one instance crash-loops on a poison record (restarting as the
// same static member, backing off before each join), its healthy peer keeps its task and goes through a bounded
// number of rebalances, not one per crash.
import { describe, expect, it } from 'vitest';
import { brokerList, createTopics, testKafka, uniqueName, waitFor } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import { followTopic, readAll } from '../support/read.js';

const apps = appProcesses();
const APP = 'test/support/apps/poison-count.ts';
const MAX_CRASHES = 3;

interface Event {
  event: string;
  at: number;
  [field: string]: unknown;
}

function events(app: AppProcess, name: string): Event[] {
  return app
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"event"'))
    .map((l) => JSON.parse(l) as Event)
    .filter((e) => e.event === name);
}

/** The input partitions of the tasks of an `assigned` event (task ids `<subtopology>_<partition>`). */
function partitionsOf(e: Event): number[] {
  return (e.tasks as unknown[]).map((t) => Number(String(t).split('_')[1]));
}

async function produce(topic: string, messages: { key: string; value: string; partition: number }[]) {
  const producer = testKafka().producer();
  await producer.connect();
  await producer.send({ topic, messages });
  await producer.disconnect();
}

describe('crash-loop protection in a group', () => {
  it('a peer crash-looping on a poison record costs its healthy peer a bounded number of rebalances', async () => {
    const input = uniqueName('group-poison-in');
    const output = uniqueName('group-poison-out');
    const dlq = uniqueName('group-poison-dlq');
    await createTopics([
      { topic: input, numPartitions: 2 },
      { topic: output, numPartitions: 2 },
      { topic: dlq, numPartitions: 1 },
    ]);
    const expected = new Map<string, number>();
    const batch = (tag: string, n: number) =>
      Array.from({ length: n }, (_, i) => {
        const partition = i % 2;
        const key = `p${partition}-k${i % 6}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
        return { key, value: tag, partition };
      });
    await produce(input, batch('a', 60));
    const latest = new Map<string, number>();
    const reader = await followTopic(output, ({ key, value }) => latest.set(key!, Number(value)));
    const common = {
      KAFKA_BROKERS: brokerList().join(','),
      APPLICATION_ID: uniqueName('group-poison'),
      CRASH_LOOP_ACTION: 'dead-letter',
      MAX_CRASHES: String(MAX_CRASHES),
      DEAD_LETTER_TOPIC: dlq,
      BACKOFF_INITIAL_MS: '400',
      BACKOFF_MAX_MS: '1200',
      // Room for a process restart (tsx start-up on a loaded machine, plus the back-off) within the session.
      SESSION_TIMEOUT_MS: '30000',
    };
    const crashingEnv = { ...common, INSTANCE_ID: 'poison-0', STATE_DIR: apps.stateDir() };
    const healthy = apps.start(APP, [input, output], {
      ...common,
      INSTANCE_ID: 'poison-1',
      STATE_DIR: apps.stateDir(),
    });
    const runs: AppProcess[] = [];
    let stopped = false;
    try {
      await waitFor(() => events(healthy, 'assigned').length > 0, { what: 'the healthy instance to join' });
      runs.push(apps.start(APP, [input, output], crashingEnv));
      // Both in the group, one task each.
      const split = await waitFor(
        () => {
          const mine = events(runs[0]!, 'assigned').at(-1);
          const its = events(healthy, 'assigned').at(-1);
          if (mine === undefined || its === undefined) return undefined;
          const [a, b] = [partitionsOf(mine), partitionsOf(its)];
          return a.length === 1 && b.length === 1 && a[0] !== b[0] ? a[0] : undefined;
        },
        { what: 'the two instances to share the two tasks' },
      );
      await waitFor(() => [...expected].every(([k, n]) => latest.get(k) === n), {
        what: 'the counts of the first input',
      });
      const assignedBefore = events(healthy, 'assigned').length;

      // The poison record goes to the crashing instance's partition; restarted like a pod on each exit 137.
      await produce(input, [{ key: 'poisoned', value: 'poison', partition: split! }, ...batch('b', 40)]);
      const loop = (async () => {
        while (!stopped) {
          const code = await runs.at(-1)!.exited;
          if (code !== 137 || stopped) return code;
          runs.push(apps.start(APP, [input, output], crashingEnv));
        }
        return undefined;
      })();
      await waitFor(
        () => {
          if (healthy.child.exitCode !== null) {
            throw new Error(
              `the healthy instance exited ${healthy.child.exitCode}: it took the poison record over`,
            );
          }
          return [...expected].every(([k, n]) => latest.get(k) === n);
        },
        {
          timeoutMs: 90_000,
          failFast: true,
          what: 'exact counts of every key after the poison record was dead-lettered',
        },
      );
      const [dead] = await readAll(dlq, 1, { settleMs: 500 });
      expect(dead).toMatchObject({ key: 'poisoned', value: 'poison' });
      // maxCrashes runs died at the record; the next one dead-lettered it and went on.
      expect(runs).toHaveLength(MAX_CRASHES + 1);

      const assignedDuring = events(healthy, 'assigned').length - assignedBefore;
      console.log(
        `healthy peer: ${assignedBefore} assignment(s) before the poison record, ${assignedDuring} while its peer ` +
          `crashed ${MAX_CRASHES} times and restarted`,
      );
      // The crashing member restarts as the same static member within its session: its task waits for it, and the
      // healthy peer neither takes the poison record over nor rebalances at every crash.
      expect(assignedDuring).toBeLessThanOrEqual(1);
      for (const e of events(healthy, 'assigned').slice(assignedBefore)) {
        expect(partitionsOf(e)).not.toContain(split);
      }
      expect(events(healthy, 'poison-exit')).toEqual([]);
      expect(healthy.child.exitCode).toBeNull();
      stopped = true;
      for (const run of runs) run.child.kill('SIGTERM');
      await loop;
    } finally {
      stopped = true;
      for (const run of runs) run.child.kill('SIGTERM');
      healthy.child.kill('SIGTERM');
      await reader.stop();
    }
  });
});
