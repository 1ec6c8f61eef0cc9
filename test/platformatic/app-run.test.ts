// A StreamsApp on the @platformatic/kafka adapter (`client: 'platformatic'`): a word count under exactly-once, from
// input to exact output, its offsets committed in the tasks' transactions, and a second run that restores the
// counts from the changelog and goes on counting; a start while a transaction of an earlier run holds the group's
// offsets.
import { channel } from 'node:diagnostics_channel';
import {
  Serdes,
  StreamsApp,
  StreamsBuilder,
  type StreamsConfig,
  type StreamsError,
  type Topology,
} from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testKafka, testProducer, uniqueName, waitFor } from '../support/kafka.js';
import { followTopic } from '../support/read.js';

const apps = inProcessApps();

/** The kinds of @platformatic/kafka clients created (the library announces each on a diagnostics channel). */
const created = new Set<string>();
channel('plt:kafka:instances').subscribe((message) => created.add((message as { type: string }).type));
const str = Serdes.string();

describe("a StreamsApp with client: 'platformatic'", () => {
  it('counts words exactly once, and a second run continues from the restored counts', async () => {
    const [input, output] = await topicPair('plt-words', 3);
    const applicationId = uniqueName('plt-app');
    const words = ['apple', 'banana', 'cherry', 'date', 'elder', 'fig', 'grape'];
    const producer = testProducer();
    await producer.connect();
    const send = (from: number, count: number) =>
      producer.send({
        topic: input,
        messages: Array.from({ length: count }, (_, i) => ({
          key: words[(from + i) % words.length]!,
          value: 'x',
        })),
      });
    const expected = (count: number) => {
      const out = new Map<string, string>();
      for (let i = 0; i < count; i++) {
        const w = words[i % words.length]!;
        out.set(w, String(Number(out.get(w) ?? 0) + 1));
      }
      return out;
    };

    const latest = new Map<string, string>();
    let outputs = 0;
    const follower = await followTopic(
      output,
      (r) => {
        outputs++;
        if (r.key !== null && r.value !== null) latest.set(r.key, r.value);
      },
      { readCommitted: true },
    );
    const run = async () => {
      const b = new StreamsBuilder();
      b.stream(input, { keySerde: str, valueSerde: str })
        .groupByKey({ keySerde: str })
        .count({ name: 'counts' })
        .toStream()
        .mapValues((n) => String(n))
        .to(output, { keySerde: str, valueSerde: str });
      const app = exactlyOnceApp(b.build(), applicationId, { sessionTimeoutMs: 10_000 });
      const errors: StreamsError[] = [];
      app.onError((e) => errors.push(e));
      await app.start();
      return { app, errors };
    };
    try {
      const first = await run();
      await send(0, 700);
      await waitFor(() => sameCounts(latest, expected(700)), { what: 'the first counts', timeoutMs: 60_000 });
      expect(first.errors).toEqual([]);
      expect(first.app.metrics.processed).toBe(700);
      expect(first.app.state).toBe('RUNNING');
      await first.app.close();

      // The second run starts from the committed offsets with the counts restored from the changelog.
      const second = await run();
      await send(700, 70);
      await waitFor(() => sameCounts(latest, expected(770)), {
        what: 'the second counts',
        timeoutMs: 60_000,
      });
      expect(second.errors).toEqual([]);
      expect(second.app.metrics.processed).toBe(70);
      expect(outputs).toBeGreaterThanOrEqual(words.length * 2);
      // The app ran on @platformatic/kafka's clients.
      expect([...created]).toEqual(expect.arrayContaining(['admin', 'producer', 'connection-pool']));
    } finally {
      await follower.stop();
      await producer.disconnect();
    }
  });

  it("starts while a transaction of its task from an earlier run still holds the group's offsets", async () => {
    const [input, output] = await topicPair('plt-pending', 1);
    const applicationId = uniqueName('plt-pending');
    const producer = testProducer();
    await producer.connect();
    await producer.send({
      topic: input,
      messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: 'x' })),
    });
    await producer.disconnect();
    // What a run that died mid-commit leaves: its task's transaction open, with output and the group's offsets in it.
    // The broker keeps it open for the transaction timeout (60 s) unless a producer of the same id starts.
    const earlier = testKafka().producer({
      transactionalId: `${applicationId}-0_0`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await earlier.connect();
    const open = await earlier.transaction();
    await open.send({ topic: output, messages: [{ key: 'k0', value: 'from the earlier run' }] });
    await open.sendOffsets({
      consumerGroupId: applicationId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '5' }] }],
    });
    await earlier.disconnect();

    const outputs: string[] = [];
    const follower = await followTopic(output, (r) => outputs.push(`${r.key}=${r.value}`), {
      readCommitted: true,
    });
    try {
      const b = new StreamsBuilder();
      b.stream(input, { keySerde: str, valueSerde: str }).to(output, { keySerde: str, valueSerde: str });
      const app = exactlyOnceApp(b.build(), applicationId, { startTimeoutMs: 3_000, retryBackoff: false });
      // The join does not wait for the pending offsets: the task's producer aborts that transaction once it starts,
      // and the task reads the offsets again after that.
      await app.start();
      await waitFor(() => outputs.length >= 10, { what: 'every input copied', timeoutMs: 60_000 });
      expect(outputs.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}=x`).sort());
      expect(app.metrics.processed).toBe(10);
    } finally {
      await follower.stop();
    }
  });
});

/** A tracked exactly-once app on @platformatic/kafka. */
function exactlyOnceApp(
  topology: Topology,
  applicationId: string,
  config: Partial<StreamsConfig>,
): StreamsApp {
  return apps.track(
    new StreamsApp(topology, {
      applicationId,
      brokers: brokerList(),
      client: 'platformatic',
      processingGuarantee: 'exactly-once',
      stateDir: apps.stateDir(),
      ...config,
    }),
  );
}

/** An input and an output topic of `partitions` partitions each. */
async function topicPair(prefix: string, partitions: number): Promise<[string, string]> {
  const names: [string, string] = [uniqueName(`${prefix}-in`), uniqueName(`${prefix}-out`)];
  await createTopics(names.map((topic) => ({ topic, numPartitions: partitions })));
  return names;
}

function sameCounts(got: Map<string, string>, want: Map<string, string>): boolean {
  return got.size === want.size && [...want].every(([k, v]) => got.get(k) === v);
}
