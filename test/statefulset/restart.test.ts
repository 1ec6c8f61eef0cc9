// A StatefulSet, simulated: three app processes named app-0, app-1, app-2, each with its own state directory (its
// volume). Restarting app-1 (SIGTERM, start again under the same name and directory within the session timeout)
// gives it exactly its previous tasks, with no rebalance: the other members see no new assignment.
import { describe, expect, it } from 'vitest';
import { brokerList, createTopics, testKafka, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';

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

describe('StatefulSet restart with static membership', () => {
  it('gives a restarted pod its own tasks back without a rebalance', async () => {
    const input = uniqueName('words');
    const output = uniqueName('counts');
    const applicationId = uniqueName('sts');
    await createTopics([
      { topic: input, numPartitions: 6 },
      { topic: output, numPartitions: 6 },
    ]);
    const producer = testKafka().producer();
    await producer.connect();
    let producing = true;
    const steady = (async () => {
      let i = 0;
      while (producing) {
        await producer.send({
          topic: input,
          messages: Array.from({ length: 60 }, () => ({ key: `k${i++ % 97}`, value: 'x' })),
        });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const env = (pod: string, dir: string) => ({
      KAFKA_BROKERS: brokerList().join(','),
      APPLICATION_ID: applicationId,
      STATE_DIR: dir,
      POD_NAME: pod,
      SESSION_TIMEOUT_MS: '30000',
      COMMIT_INTERVAL_MS: '500',
    });
    const dirs = ['app-0', 'app-1', 'app-2'].map(() => apps.stateDir());
    const start = (ordinal: number) =>
      apps.start('examples/word-count/app.ts', [input, output], env(`app-${ordinal}`, dirs[ordinal]!));
    try {
      const pods = [start(0), start(1), start(2)];
      // Settled: the three latest assignments share a generation and split the six tasks between them.
      const settled = () => {
        const latest = pods.map(last);
        if (latest.some((a) => a === undefined)) return false;
        const generations = new Set(latest.map((a) => a!.generation));
        const tasks = latest.flatMap((a) => a!.tasks);
        return generations.size === 1 && tasks.length === 6 && new Set(tasks).size === 6;
      };
      await waitFor(settled, { timeoutMs: 60_000, what: 'the three pods to share the six tasks' });
      const before = pods.map(last);
      const seenBy0 = assignments(pods[0]!).length;
      const seenBy2 = assignments(pods[2]!).length;

      pods[1]!.child.kill('SIGTERM');
      expect(await pods[1]!.exited, pods[1]!.output()).toBe(0);
      const restarted = start(1);
      await waitFor(() => last(restarted), {
        timeoutMs: 30_000,
        what: 'the restarted app-1 to get its tasks',
      });

      // Same tasks, same generation: the group did not rebalance.
      expect(last(restarted)).toEqual(before[1]);
      // It kept processing: its state was intact (closed cleanly), so nothing was restored.
      await waitFor(() => restarted.output().includes('"state":"RUNNING"'), { what: 'app-1 running again' });
      expect(restarted.output()).not.toContain('"event":"restore-start"');

      // The others saw nothing: no new assignment while app-1 was away and back, nor while it processes again.
      const partitionsOf1 = before[1]!.tasks.map((t) => Number(t.split('_')[1]));
      const outputOf1 = async () =>
        (await withAdmin((a) => a.fetchTopicOffsets(output)))
          .filter((o) => partitionsOf1.includes(o.partition))
          .reduce((sum, o) => sum + Number(o.high), 0);
      const atRestart = await outputOf1();
      await waitFor(async () => (await outputOf1()) >= atRestart + 300, {
        what: 'app-1 to output 300 more counts',
      });
      expect(assignments(pods[0]!)).toHaveLength(seenBy0);
      expect(assignments(pods[2]!)).toHaveLength(seenBy2);
      expect(last(pods[0]!)).toEqual(before[0]);
      expect(last(pods[2]!)).toEqual(before[2]);
    } finally {
      producing = false;
      await steady;
      await producer.disconnect();
    }
  }, 180_000);
});
