// Replays after a crash with several stores in a task: a crash after the changelog is acknowledged and before the
// local checkpoint is written must not replay input that a store already holds. A store with no changes in the
// crashed commit (so no changelog record of it), an unlogged in-memory store, or a failover to a standby must not
// hold the task back: every output and every store equals that of a crash-free run.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import { followTopic } from '../support/read.js';
import { storedCounts } from '../support/state.js';

const apps = appProcesses();
const APP = 'test/support/apps/two-store-count.ts';
const KEYS = 5;

async function committed(groupId: string, topic: string): Promise<number> {
  const [offsets] = await withAdmin((a) => a.fetchOffsets({ groupId, topics: [topic] }));
  return Number(offsets!.partitions[0]!.offset);
}

function holdsActive(app: AppProcess): boolean {
  const assigned = app
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"event":"assigned"'))
    .map((l) => JSON.parse(l) as { tasks: string[] });
  return assigned.at(-1)?.tasks.includes('0_0') ?? false;
}

/**
 * Topics for one run of the two-store app, input sent with keys `k0`…`k4` in turn, and its output followed.
 * `check(dir)` compares every output and the stores in `dir` with a crash-free run's.
 */
async function scenario() {
  const input = uniqueName('in');
  const output = uniqueName('out');
  const applicationId = uniqueName('two-stores');
  await createTopics([
    { topic: input, numPartitions: 1 },
    { topic: output, numPartitions: 1 },
  ]);
  const values: string[] = [];
  const producer = testProducer();
  await producer.connect();
  const outputs: string[] = [];
  const reader = await followTopic(output, ({ value }) => outputs.push(value!));
  return {
    input,
    output,
    applicationId,
    env: { KAFKA_BROKERS: brokerList().join(','), APPLICATION_ID: applicationId },
    async send(value: string, n: number) {
      const from = values.length;
      for (let i = 0; i < n; i++) values.push(value);
      await producer.send({
        topic: input,
        messages: Array.from({ length: n }, (_, i) => ({ key: `k${(from + i) % KEYS}`, value })),
      });
    },
    committedTo: (n: number, what: string) =>
      waitFor(async () => (await committed(applicationId, input)) === n, { what, timeoutMs: 90_000 }),
    async check(dir: string, { bees = true } = {}) {
      await waitFor(() => new Set(outputs.map((o) => o.split('@')[1])).size === values.length, {
        what: 'an output for every input record',
      });
      // Each output says how many records of its key `counts` held after that input record.
      const wrong = outputs.filter((o) => {
        const [n, offset] = o.split('@').map(Number);
        return n !== Math.floor(offset! / KEYS) + 1;
      });
      expect(wrong, 'outputs whose count never existed at that record').toEqual([]);
      const counts = new Map<string, number>();
      const beeCounts = new Map<string, number>();
      values.forEach((v, i) => {
        const key = `k${i % KEYS}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (v === 'b') beeCounts.set(key, (beeCounts.get(key) ?? 0) + 1);
      });
      expect(await storedCounts(dir, applicationId, 'counts')).toEqual(counts);
      if (bees) expect(await storedCounts(dir, applicationId, 'bees')).toEqual(beeCounts);
    },
    async close() {
      await producer.disconnect();
      await reader.stop();
    },
  };
}

describe('replay with two stores in a task', () => {
  // logged: a second logged store with no change in the crashed commit; memory: an unlogged in-memory one.
  it.each(['logged', 'memory'] as const)(
    'with a second store %s: outputs and stores equal a crash-free run',
    async (bStore) => {
      const s = await scenario();
      const dir = apps.stateDir();
      const run = async (crash: Record<string, string>, until: number) => {
        const app = apps.start(APP, [s.input, s.output], {
          ...s.env,
          STATE_DIR: dir,
          B_STORE: bStore,
          ...crash,
        });
        if (crash.CRASH_PHASE) {
          expect(await app.exited, app.output()).toBe('SIGKILL');
          return;
        }
        await s.committedTo(until, `the app to commit ${until} records`);
        app.child.kill('SIGTERM');
        expect(await app.exited, app.output()).toBe(0);
      };
      try {
        // Both stores change, and the app stops cleanly: both are checkpointed at the same mark.
        await s.send('b', 100);
        await run({}, 100);
        // Only `counts` changes; the first commit dies after its changelog records were acknowledged.
        await s.send('x', 100);
        await run({ CRASH_PHASE: 'changelog-acked', CRASH_AT_COMMIT: '1' }, 0);
        await s.send('b', 50);
        await run({}, 250);
        await s.check(dir, { bees: bStore === 'logged' });
      } finally {
        await s.close();
      }
    },
    180_000,
  );

  it('after failover to a standby: outputs and stores equal a crash-free run', async () => {
    const s = await scenario();
    const crashFile = join(apps.stateDir(), 'crash');
    const dirs = [apps.stateDir(), apps.stateDir()];
    const pods = dirs.map((dir) =>
      apps.start(APP, [s.input, s.output], {
        ...s.env,
        STATE_DIR: dir,
        NUM_STANDBY_REPLICAS: '1',
        CRASH_PHASE: 'changelog-acked',
        CRASH_FILE: crashFile,
      }),
    );
    try {
      await s.send('b', 100);
      await s.committedTo(100, 'the first records committed by the active pod');
      await waitFor(() => pods.some(holdsActive), { what: 'the active pod' });
      const active = pods.findIndex(holdsActive);
      const standby = pods[1 - active]!;
      // The active pod dies in its next commit that writes state, after the changelog was acknowledged.
      writeFileSync(crashFile, '');
      await s.send('x', 100);
      expect(await pods[active]!.exited, pods[active]!.output()).toBe('SIGKILL');
      rmSync(crashFile);
      await s.send('b', 50);
      await s.committedTo(250, 'the standby to take over and commit all input');
      standby.child.kill('SIGTERM');
      expect(await standby.exited, standby.output()).toBe(0);
      await s.check(dirs[1 - active]!);
    } finally {
      await s.close();
    }
  }, 180_000);
});
