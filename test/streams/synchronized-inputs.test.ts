// Two co-partitioned input topics read by one task are merged in timestamp order by the runtime, not in the
// order their fetched batches arrive: with the default maxTaskIdleMs (0), as in Kafka Streams, a task waits for an
// input until a fetch has said how far its log goes, so the topic fetched first does not run ahead. While a task
// waits, fetching an input pauses once the task holds bufferedRecordsPerPartition of its records.
import { Serdes, StreamsApp, StreamsBuilder } from '@eddy/streams';
import { kafkajsClientFactory } from '@eddy/streams/internals';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, waitFor } from '../support/kafka.js';
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

  it('pauses fetching an input while the waiting task holds bufferedRecordsPerPartition of it, then resumes', async () => {
    const left = uniqueName('left');
    const right = uniqueName('right');
    const output = uniqueName('merged');
    await createTopics([
      { topic: left, numPartitions: 1 },
      { topic: right, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
    ]);
    const base = 1_700_000_000_000;
    const producer = testProducer();
    await producer.connect();
    // 30 record batches of 100: with 2 KiB per partition, a fetch returns one of them.
    for (let send = 0; send < 30; send++) {
      await producer.send({
        topic: left,
        messages: Array.from({ length: 100 }, (_, i) => ({
          key: 'k',
          value: `l${send * 100 + i}`,
          timestamp: String(base + send * 100 + i),
        })),
      });
    }
    const factory = kafkajsClientFactory({
      clientId: uniqueName('client'),
      brokers: brokerList(),
      connectionTimeoutMs: 3_000,
      requestTimeoutMs: 30_000,
      retryBudgetMs: 10_000,
    });
    let leftFetched = 0;
    let rightFetches = 0;
    const consumer = factory.consumer.bind(factory);
    factory.consumer = (options) => {
      const c = consumer(options);
      const run = c.run.bind(c);
      c.run = (handler) =>
        run((batch, control) => {
          if (batch.topic === left) leftFetched += batch.records.length;
          else rightFetches++;
          return handler(batch, control);
        });
      return c;
    };
    const b = new StreamsBuilder();
    b.stream([left, right], { keySerde: Serdes.string(), valueSerde: Serdes.string() }).to(output, {
      keySerde: Serdes.string(),
      valueSerde: Serdes.string(),
    });
    const app = new StreamsApp(
      b.build(),
      {
        applicationId: uniqueName('app'),
        brokers: brokerList(),
        // The task waits for the caught-up right input; the left one's records pile up meanwhile.
        maxTaskIdleMs: 120_000,
        bufferedRecordsPerPartition: 300,
        fetchMaxBytesPerPartition: 2048,
      },
      { clientFactory: factory },
    );
    apps.push(app);
    await app.start();
    await waitFor(() => leftFetched >= 300, { what: '300 left records fetched' });
    // Ten more fetches of the right input: the left one, unpaused, would have handed over ten more batches by then.
    const after = rightFetches + 10;
    await waitFor(() => rightFetches >= after, { what: 'ten more fetches' });
    expect(leftFetched).toBeLessThan(400);
    // A right record later than every left one: the task processes the left records and the left input goes on.
    await producer.send({
      topic: right,
      messages: [{ key: 'k', value: 'r', timestamp: String(base + 10_000) }],
    });
    await producer.disconnect();
    // A timed-out read says how far the consumer got, to tell a stall in fetching from one in processing.
    const out = await readAll(output, 3_000).catch((e: Error) => {
      throw new Error(
        `${e.message}; left records fetched ${leftFetched}, right fetches ${rightFetches}, app ${app.state}`,
      );
    });
    expect(out.map((r) => r.value)).toEqual(Array.from({ length: 3_000 }, (_, i) => `l${i}`));
    expect(leftFetched).toBe(3_000);
  }, 90_000);
});
