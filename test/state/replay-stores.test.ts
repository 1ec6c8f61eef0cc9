// Replays after a crash with several stores in a task: a crash after the changelog is acknowledged and before the
// local checkpoint is written must not replay input that a store already holds. A store with no changes in the
// crashed commit (so no changelog record of it), or an unlogged in-memory store, must not hold the task back:
// every output and every store equals that of a crash-free run.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyValueStore, TaskStateManager } from '@eddy/state';
import { Serdes } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { brokerList, createTopics, testKafka, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import { followTopic } from '../support/read.js';

const apps = appProcesses();
const KEYS = 5;

async function committed(groupId: string, topic: string): Promise<number> {
  const [offsets] = await withAdmin((a) => a.fetchOffsets({ groupId, topics: [topic] }));
  return Number(offsets!.partitions[0]!.offset);
}

/** Each output says how many records of its key `counts` held after that input record: those that do not. */
function wrongOutputs(outputs: string[]): string[] {
  return outputs.filter((o) => {
    const [n, offset] = o.split('@').map(Number);
    return n !== Math.floor(offset! / KEYS) + 1;
  });
}

function expectedStores(values: string[]): { counts: Map<string, number>; bees: Map<string, number> } {
  const counts = new Map<string, number>();
  const bees = new Map<string, number>();
  values.forEach((v, i) => {
    const key = `k${i % KEYS}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (v === 'b') bees.set(key, (bees.get(key) ?? 0) + 1);
  });
  return { counts, bees };
}

function holdsActive(app: AppProcess): boolean {
  const assigned = app
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"event":"assigned"'))
    .map((l) => JSON.parse(l) as { tasks: string[]; standby: string[] });
  return assigned.at(-1)?.tasks.includes('0_0') ?? false;
}

async function stored(dir: string, applicationId: string, name: string): Promise<Map<string, number>> {
  const manager = new TaskStateManager({ applicationId, taskId: '0_0', partition: 0, stateDir: dir });
  const store = manager.register(
    keyValueStore<string, number>({ name, keySerde: Serdes.string(), valueSerde: Serdes.float64() }),
  );
  await manager.open();
  try {
    const out = new Map<string, number>();
    for await (const { key, value } of store.all()) out.set(key, value);
    return out;
  } finally {
    await manager.close();
  }
}

describe('replay with two stores in a task', () => {
  // logged: a second logged store with no change in the crashed commit; memory: an unlogged in-memory one.
  it.each(['logged', 'memory'] as const)(
    'with a second store %s: outputs and stores equal a crash-free run',
    async (bStore) => {
      const input = uniqueName('in');
      const output = uniqueName('out');
      const applicationId = uniqueName('two-stores');
      await createTopics([
        { topic: input, numPartitions: 1 },
        { topic: output, numPartitions: 1 },
      ]);
      const values: string[] = [];
      const producer = testKafka().producer();
      await producer.connect();
      const send = async (value: string, n: number) => {
        const from = values.length;
        for (let i = 0; i < n; i++) values.push(value);
        await producer.send({
          topic: input,
          messages: Array.from({ length: n }, (_, i) => ({ key: `k${(from + i) % KEYS}`, value })),
        });
      };
      const outputs: string[] = [];
      const reader = await followTopic(output, ({ value }) => outputs.push(value!));
      const dir = apps.stateDir();
      const env = {
        KAFKA_BROKERS: brokerList().join(','),
        APPLICATION_ID: applicationId,
        STATE_DIR: dir,
        B_STORE: bStore,
      };
      const run = async (crash: Record<string, string>, until: number) => {
        const app = apps.start('test/support/apps/two-store-count.ts', [input, output], { ...env, ...crash });
        if (crash.CRASH_PHASE) {
          expect(await app.exited, app.output()).toBe('SIGKILL');
          return;
        }
        await waitFor(async () => (await committed(applicationId, input)) === until, {
          what: `the app to commit ${until} records`,
          timeoutMs: 60_000,
        });
        app.child.kill('SIGTERM');
        expect(await app.exited, app.output()).toBe(0);
      };
      try {
        // Both stores change, and the app stops cleanly: both are checkpointed at the same mark.
        await send('b', 100);
        await run({}, 100);
        // Only `counts` changes; the first commit dies after its changelog records were acknowledged.
        await send('x', 100);
        await run({ CRASH_PHASE: 'changelog-acked', CRASH_AT_COMMIT: '1' }, 0);
        await send('b', 50);
        await run({}, 250);

        await waitFor(() => new Set(outputs.map((o) => o.split('@')[1])).size === values.length, {
          what: 'an output for every input record',
        });
        expect(wrongOutputs(outputs), 'outputs whose count never existed at that record').toEqual([]);
        const { counts, bees } = expectedStores(values);
        expect(await stored(dir, applicationId, 'counts')).toEqual(counts);
        if (bStore === 'logged') expect(await stored(dir, applicationId, 'bees')).toEqual(bees);
      } finally {
        await producer.disconnect();
        await reader.stop();
      }
    },
    180_000,
  );

  it('after failover to a standby: outputs and stores equal a crash-free run', async () => {
    const input = uniqueName('in');
    const output = uniqueName('out');
    const applicationId = uniqueName('two-stores');
    await createTopics([
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
    ]);
    const values: string[] = [];
    const producer = testKafka().producer();
    await producer.connect();
    const send = async (value: string, n: number) => {
      const from = values.length;
      for (let i = 0; i < n; i++) values.push(value);
      await producer.send({
        topic: input,
        messages: Array.from({ length: n }, (_, i) => ({ key: `k${(from + i) % KEYS}`, value })),
      });
    };
    const outputs: string[] = [];
    const reader = await followTopic(output, ({ value }) => outputs.push(value!));
    const crashFile = join(apps.stateDir(), 'crash');
    const dirs = [apps.stateDir(), apps.stateDir()];
    const pods = dirs.map((dir) =>
      apps.start('test/support/apps/two-store-count.ts', [input, output], {
        KAFKA_BROKERS: brokerList().join(','),
        APPLICATION_ID: applicationId,
        STATE_DIR: dir,
        NUM_STANDBY_REPLICAS: '1',
        CRASH_PHASE: 'changelog-acked',
        CRASH_FILE: crashFile,
      }),
    );
    try {
      await send('b', 100);
      await waitFor(async () => (await committed(applicationId, input)) === 100 && pods.some(holdsActive), {
        what: 'the first records committed by the active pod',
      });
      const active = pods.findIndex(holdsActive);
      const standby = pods[1 - active]!;
      // The active pod dies in its next commit that writes state, after the changelog was acknowledged.
      writeFileSync(crashFile, '');
      await send('x', 100);
      expect(await pods[active]!.exited, pods[active]!.output()).toBe('SIGKILL');
      rmSync(crashFile);
      await send('b', 50);
      await waitFor(async () => (await committed(applicationId, input)) === 250, {
        what: 'the standby to take over and commit all input',
        timeoutMs: 90_000,
      });
      standby.child.kill('SIGTERM');
      expect(await standby.exited, standby.output()).toBe(0);

      await waitFor(() => new Set(outputs.map((o) => o.split('@')[1])).size === values.length, {
        what: 'an output for every input record',
      });
      expect(wrongOutputs(outputs), 'outputs whose count never existed at that record').toEqual([]);
      const { counts, bees } = expectedStores(values);
      expect(await stored(dirs[1 - active]!, applicationId, 'counts')).toEqual(counts);
      expect(await stored(dirs[1 - active]!, applicationId, 'bees')).toEqual(bees);
    } finally {
      await producer.disconnect();
      await reader.stop();
    }
  }, 180_000);
});
