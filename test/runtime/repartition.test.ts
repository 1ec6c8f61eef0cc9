// A topology that rekeys through a repartition topic, against the broker, under both guarantees: the app is
// SIGKILLed mid-stream and restarted on its volume; the counts per customer are exact, and the repartition topic is
// purged below the committed offsets.
import { keyValueStore, TaskStateManager } from '@eddy/state';
import { Serdes } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { REPARTITION_PARTITIONS } from '../support/apps/repartition-count.js';
import { brokerList, createTopics, testKafka, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { appProcesses } from '../support/processes.js';
import { followTopic } from '../support/read.js';

const INPUT_PARTITIONS = 3;
const CUSTOMERS = 40;
const TOTAL = 6_000;
const apps = appProcesses();

/** Reads the counts of every task of the counting subtopology (1) straight from a state directory. */
async function countsIn(dir: string, applicationId: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let partition = 0; partition < REPARTITION_PARTITIONS; partition++) {
    const manager = new TaskStateManager({
      applicationId,
      taskId: `1_${partition}`,
      partition,
      stateDir: dir,
    });
    const store = manager.register(
      keyValueStore<string, number>({
        name: 'customer-counts',
        keySerde: Serdes.string(),
        valueSerde: Serdes.float64(),
      }),
    );
    await manager.open();
    try {
      for await (const { key, value } of store.all()) counts.set(key, value);
    } finally {
      await manager.close();
    }
  }
  return counts;
}

/** Sum of committed offsets of `groupId` on `topic`. */
async function committed(groupId: string, topic: string): Promise<number> {
  const [offsets] = await withAdmin((a) => a.fetchOffsets({ groupId, topics: [topic] }));
  return offsets!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

describe.each(['at-least-once', 'exactly-once'] as const)('a repartitioned count (%s)', (guarantee) => {
  it('counts every order exactly once per customer across a SIGKILL, through a repartition topic', async () => {
    const input = uniqueName('orders');
    const output = uniqueName('customer-counts');
    const applicationId = uniqueName('repartition');
    const repartition = `${applicationId}-customers-repartition`;
    await createTopics([
      { topic: input, numPartitions: INPUT_PARTITIONS },
      { topic: output, numPartitions: INPUT_PARTITIONS },
    ]);
    const customerOf = (i: number) => `c${(i * 7) % CUSTOMERS}`;
    const expected = new Map<string, number>();
    for (let i = 0; i < TOTAL; i++) expected.set(customerOf(i), (expected.get(customerOf(i)) ?? 0) + 1);

    // Per customer, every count the output holds (read_committed under exactly-once).
    const outputs = new Map<string, number[]>();
    const reader = await followTopic(
      output,
      ({ key, value }) => {
        outputs.set(key!, [...(outputs.get(key!) ?? []), Number(value)]);
      },
      { readCommitted: guarantee === 'exactly-once' },
    );

    const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let produced = 0;
    /** Produces orders up to `until` in small chunks, as a steady stream. */
    const produce = async (until: number) => {
      while (produced < until) {
        const chunk = Array.from({ length: 100 }, (_, j) => ({
          key: `o${produced + j}`,
          value: customerOf(produced + j),
        }));
        await producer.send({ topic: input, messages: chunk });
        produced += chunk.length;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    let producing = produce(TOTAL / 2);

    const dir = apps.stateDir();
    const env = {
      KAFKA_BROKERS: brokerList().join(','),
      APPLICATION_ID: applicationId,
      STATE_DIR: dir,
      PROCESSING_GUARANTEE: guarantee,
      COMMIT_INTERVAL_MS: '200',
      SESSION_TIMEOUT_MS: '6000',
      REPARTITION_PURGE_INTERVAL_MS: '200',
    };
    const script = 'test/support/apps/repartition-count.ts';
    try {
      if (guarantee === 'at-least-once') {
        // Killed after its output (the rekeyed orders in the repartition topic among it) was acknowledged and before
        // its input offsets were committed: the restarted process sends those orders to the repartition topic again.
        const first = apps.start(script, [input, output], {
          ...env,
          CRASH_PHASE: 'outputs-acked',
          CRASH_AT_COMMIT: '2',
        });
        expect(await first.exited, first.output()).toBe('SIGKILL');
        expect(first.output()).toContain('"phase":"outputs-acked"');
      } else {
        const first = apps.start(script, [input, output], env);
        await waitFor(() => [...outputs.values()].reduce((n, v) => n + v.length, 0) >= 500, {
          what: 'the first process to count 500 orders',
        });
        first.child.kill('SIGKILL');
        expect(await first.exited).toBe('SIGKILL');
      }

      // The rest of the input arrives while the restarted process catches up.
      await producing;
      producing = produce(TOTAL);
      const second = apps.start(script, [input, output], env);
      await producing;
      // Done once every order's input offset is committed and every customer's count has reached its total (a
      // transaction's commit marker sits after its last record, so the repartition topic's end is not a committed
      // offset under exactly-once).
      await waitFor(
        async () =>
          [...expected].every(([c, n]) => (outputs.get(c)?.at(-1) ?? 0) >= n) &&
          (await committed(applicationId, input)) === TOTAL,
        { timeoutMs: 120_000, what: 'the app to commit all of its input and count every order' },
      );
      second.child.kill('SIGTERM');
      expect(await second.exited, second.output()).toBe(0);

      // The stores hold exactly one count per order.
      expect(await countsIn(dir, applicationId)).toEqual(expected);
      // The last count written per customer is exact.
      expect(new Map([...outputs].map(([c, counts]) => [c, counts.at(-1)]))).toEqual(expected);
      if (guarantee === 'exactly-once') {
        // Every order produced exactly one committed output: each customer's counts run 1, 2, ..., n.
        for (const [c, n] of expected) {
          expect(outputs.get(c), c).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        }
      }
      // Consumed records of the repartition topic were deleted, never past the committed offsets.
      const [groupOffsets] = await withAdmin((a) =>
        a.fetchOffsets({ groupId: applicationId, topics: [repartition] }),
      );
      const starts = await withAdmin((a) => a.fetchTopicOffsets(repartition));
      expect(starts.reduce((sum, p) => sum + Number(p.low), 0)).toBeGreaterThan(0);
      for (const p of starts) {
        const c = groupOffsets!.partitions.find((x) => x.partition === p.partition)!;
        expect(Number(p.low)).toBeLessThanOrEqual(Number(c.offset));
      }
    } finally {
      await producing.catch(() => undefined);
      await producer.disconnect();
      await reader.stop();
    }
  }, 300_000);
});
