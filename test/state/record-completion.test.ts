// The stores' source position covers a record only once it is done: a record whose processing failed is
// processed after a restart (and counted once), and writes made outside a record (wall-clock punctuators) are
// never taken for replays of committed input, under both guarantees.
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import { type ProcessorContext, Serdes, StreamsApp, StreamsBuilder, Topology } from '@eddy/streams';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { appProcesses } from '../support/processes.js';
import { followTopic } from '../support/read.js';
import { storedCounts } from '../support/state.js';

const apps: StreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});
const dirs = appProcesses();
const str = { keySerde: Serdes.string(), valueSerde: Serdes.string() };

async function committedOffset(groupId: string, topic: string): Promise<number> {
  const [offsets] = await withAdmin((a) => a.fetchOffsets({ groupId, topics: [topic] }));
  return Number(offsets!.partitions[0]!.offset);
}

describe('a record is covered by the source marks only once it is done', () => {
  it.each(['before', 'after'] as const)(
    "'fail' mode: a record that failed %s writing to a store is processed after the fix and restart, and counted once",
    async (when) => {
      const input = uniqueName('in');
      const output = uniqueName('out');
      const applicationId = uniqueName('app');
      const stateDir = dirs.stateDir();
      await createTopics([
        { topic: input, numPartitions: 1 },
        { topic: output, numPartitions: 1 },
      ]);
      const producer = testProducer();
      await producer.connect();
      await producer.send({
        topic: input,
        messages: ['x', 'x', 'poison', 'x', 'x'].map((value) => ({ key: 'a', value })),
      });
      await producer.disconnect();
      const topology = (broken: boolean) => {
        const b = new StreamsBuilder();
        const bug = (fails: boolean) => {
          if (broken && fails) throw new Error('a bug, fixed in the next release');
        };
        b.stream(input, str)
          .peek((_, v) => bug(when === 'before' && v === 'poison'))
          .groupByKey({ keySerde: Serdes.string() })
          .count({ name: 'counts', caching: false })
          .toStream()
          .peek((_, n) => bug(when === 'after' && n === 3))
          .mapValues((n) => String(n))
          .to(output, str);
        return b.build();
      };
      const config = { applicationId, brokers: brokerList(), stateDir, commitIntervalMs: 100 };

      const first = new StreamsApp(topology(true), config);
      apps.push(first);
      await first.start();
      await waitFor(() => first.state === 'ERROR', { what: 'the app to stop on the failing record' });
      expect(first.error?.code).toBe('PROCESSING_FAILED');
      await first.close();
      // Before: what preceded the record is committed. After: nothing of that task is, as its state is torn.
      expect(await committedOffset(applicationId, input)).toBe(when === 'before' ? 2 : -1);

      const second = new StreamsApp(topology(false), config);
      apps.push(second);
      await second.start();
      await waitFor(async () => (await committedOffset(applicationId, input)) === 5, {
        what: 'the fixed app to commit all input',
      });
      await second.close();
      expect(await storedCounts(stateDir, applicationId, 'counts', { format: 'timestamped' })).toEqual(
        new Map([['a', 5]]),
      );
    },
    120_000,
  );

  for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
    it(`${guarantee}: every write of a wall-clock punctuator is kept after commits with no new input`, async () => {
      const input = uniqueName('in');
      const output = uniqueName('ticks');
      await createTopics([
        { topic: input, numPartitions: 1 },
        { topic: output, numPartitions: 1 },
      ]);
      // Each tick reads its counter from the store, adds one, writes it back and outputs it.
      const topology = new Topology()
        .addSource('source', { topics: [input], ...str })
        .addProcessor<string, string, string, string>(
          'ticker',
          () => {
            let ctx: ProcessorContext<string, string>;
            let store: KeyValueStore<string, number>;
            return {
              init(c) {
                ctx = c;
                store = c.getStateStore<KeyValueStore<string, number>>('counts');
                c.schedule(50, 'wall-clock', (now) => {
                  const n = (store.get('tick') ?? 0) + 1;
                  store.put('tick', n);
                  ctx.forward({ key: 'tick', value: String(n), timestamp: now, headers: {} });
                });
              },
              process(record) {
                store.put(record.key, (store.get(record.key) ?? 0) + 1);
              },
            };
          },
          'source',
        )
        .addStateStore(
          keyValueStore<string, number>({
            name: 'counts',
            keySerde: Serdes.string(),
            valueSerde: Serdes.float64(),
          }),
          'ticker',
        )
        .addSink('sink', { topic: output, ...str }, 'ticker');
      const ticks: number[] = [];
      const reader = await followTopic(output, ({ value }) => ticks.push(Number(value)), {
        readCommitted: guarantee === 'exactly-once',
      });
      const applicationId = uniqueName('app');
      try {
        const producer = testProducer();
        await producer.connect();
        await producer.send({ topic: input, messages: [{ key: 'a', value: 'x' }] });
        await producer.disconnect();
        const app = new StreamsApp(topology, {
          applicationId,
          brokers: brokerList(),
          stateDir: dirs.stateDir(),
          commitIntervalMs: 100,
          processingGuarantee: guarantee,
        });
        apps.push(app);
        await app.start();
        await waitFor(async () => (await committedOffset(applicationId, input)) === 1, {
          what: 'the input record to be committed',
        });
        const committedAt = ticks.length;
        await waitFor(() => ticks.length >= committedAt + 10, { what: 'ten more ticks', timeoutMs: 30_000 });
        // Every tick saw the previous tick's write: 1, 2, 3, ... without a repeat.
        expect(ticks).toEqual(ticks.map((_, i) => i + 1));
      } finally {
        await reader.stop();
      }
    }, 120_000);
  }
});
