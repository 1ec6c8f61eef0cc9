// Two co-partitioned input topics read by one task are merged in timestamp order by the runtime, not in the
// order their fetched batches arrive: with the default maxTaskIdleMs (0), as in Kafka Streams, a task waits for an
// input until a fetch has said how far its log goes, so the topic fetched first does not run ahead.
import { Serdes, StreamsApp, StreamsBuilder } from '@eddy/streams';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const apps: StreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('a task with two input topics', () => {
  it('processes the records of both in timestamp order across the topics, with the default maxTaskIdleMs', async () => {
    const left = uniqueName('left');
    const right = uniqueName('right');
    const output = uniqueName('merged');
    await createTopics([
      { topic: left, numPartitions: 2 },
      { topic: right, numPartitions: 2 },
      { topic: output, numPartitions: 1 },
    ]);
    const base = 1_700_000_000_000;
    const producer = testProducer();
    await producer.connect();
    // Per partition: `left` holds the even timestamps, `right` the odd ones.
    for (const [topic, parity] of [
      [left, 0],
      [right, 1],
    ] as const) {
      await producer.send({
        topic,
        messages: Array.from({ length: 100 }, (_, i) => {
          const t = 2 * Math.floor(i / 2) + parity;
          return { partition: i % 2, key: `p${i % 2}`, value: `${i % 2}:${t}`, timestamp: String(base + t) };
        }),
      });
    }
    await producer.disconnect();

    const b = new StreamsBuilder();
    b.stream([left, right], { keySerde: Serdes.string(), valueSerde: Serdes.string() }).to(output, {
      keySerde: Serdes.string(),
      valueSerde: Serdes.string(),
    });
    const app = new StreamsApp(b.build(), {
      applicationId: uniqueName('app'),
      brokers: brokerList(),
    });
    apps.push(app);
    await app.start();

    const out = await readAll(output, 200);
    for (const partition of ['0', '1']) {
      const timestamps = out
        .map((r) => r.value!.split(':'))
        .filter(([p]) => p === partition)
        .map(([, t]) => Number(t));
      expect(timestamps, `input partition ${partition}`).toEqual([...timestamps].sort((x, y) => x - y));
      expect(timestamps).toHaveLength(100);
    }
  }, 60_000);
});
