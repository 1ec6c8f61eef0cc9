// Joins against the broker: a stream rekeyed through a repartition topic joins a table of another topic (the
// repartition topic gets the table topic's partition count), and joined topics with different counts fail at start.
import { JoinWindows, Serdes, StreamsApp, StreamsBuilder, StreamsError, type Topology } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const s = Serdes.string();
const str = { keySerde: s, valueSerde: s };
const apps = inProcessApps();

const CUSTOMERS = 30;
const ORDERS = 300;

/** Orders (key: order id, value: customer id) rekeyed by customer, joined with the customers' names. */
function ordersWithNames(orders: string, customers: string, output: string): Topology {
  const builder = new StreamsBuilder();
  const names = builder.table(customers, str, { name: 'customer-names' });
  builder
    .stream(orders, str)
    .map((orderId, customerId) => [customerId, orderId])
    .join(names, (orderId, name) => `${orderId}:${name}`, { name: 'orders-by-customer', valueSerde: s })
    .to(output, str);
  return builder.build();
}

describe('joins on the broker', () => {
  it('joins a rekeyed stream with a table of another topic; the repartition topic takes the table topic count', async () => {
    const orders = uniqueName('orders');
    const customers = uniqueName('customers');
    const output = uniqueName('named-orders');
    const applicationId = uniqueName('join');
    await createTopics([
      { topic: orders, numPartitions: 2 },
      { topic: customers, numPartitions: 4 },
      { topic: output, numPartitions: 1 },
    ]);
    const app = apps.track(
      new StreamsApp(ordersWithNames(orders, customers, output), {
        applicationId,
        brokers: brokerList(),
        stateDir: apps.stateDir(),
        commitIntervalMs: 200,
      }),
    );
    await app.start();

    const producer = testProducer();
    await producer.connect();
    try {
      const t0 = Date.now() - 60_000;
      await producer.send({
        topic: customers,
        messages: Array.from({ length: CUSTOMERS }, (_, c) => ({
          key: `c${c}`,
          value: `name-${c}`,
          timestamp: String(t0),
        })),
      });
      // The table is complete before the first order is looked up.
      await waitFor(() => app.metrics.processed >= CUSTOMERS, { what: 'the customers to be read' });
      await producer.send({
        topic: orders,
        messages: Array.from({ length: ORDERS }, (_, i) => ({
          key: `o${i}`,
          value: `c${(i * 7) % CUSTOMERS}`,
          timestamp: String(t0 + 1_000 + i),
        })),
      });
    } finally {
      await producer.disconnect();
    }

    const got = await readAll(output, ORDERS, { settleMs: 500 });
    expect(got).toHaveLength(ORDERS);
    const expected = Array.from({ length: ORDERS }, (_, i) => {
      const c = (i * 7) % CUSTOMERS;
      return `c${c} o${i}:name-${c}`;
    }).sort();
    expect(got.map((r) => `${r.key} ${r.value}`).sort()).toEqual(expected);

    const repartition = `${applicationId}-orders-by-customer-repartition`;
    const metadata = await withAdmin((a) => a.fetchTopicMetadata({ topics: [repartition] }));
    expect(metadata.topics[0]?.partitions).toHaveLength(4);
  });

  it('a left join resumes from its changelogs: held records still join or close; stream and store times are kept', async () => {
    const left = uniqueName('left');
    const right = uniqueName('right');
    const output = uniqueName('out');
    const applicationId = uniqueName('left-join');
    await createTopics([left, right, output].map((topic) => ({ topic, numPartitions: 1 })));
    const topology = () => {
      const builder = new StreamsBuilder();
      builder
        .stream(left, str)
        .leftJoin(
          builder.stream(right, str),
          (l, r) => `${l}+${r}`,
          JoinWindows.ofTimeDifferenceWithNoGrace(1_000),
          { name: 'pairs' },
        )
        .to(output, str);
      return builder.build();
    };
    const producer = testProducer();
    await producer.connect();
    const t0 = Date.now() - 600_000;
    const send = (topic: string, key: string, value: string, at: number) =>
      producer.send({ topic, messages: [{ key, value, timestamp: String(at) }] });
    try {
      const first = apps.track(
        new StreamsApp(topology(), { applicationId, brokers: brokerList(), stateDir: apps.stateDir() }),
      );
      await first.start();
      await send(left, 'A', 'a1', t0);
      await send(left, 'B', 'b1', t0 + 10);
      await waitFor(() => first.metrics.processed >= 2, { what: 'the left records to be processed' });
      await first.close();

      // A fresh state directory: the stores come back from their changelogs.
      const second = apps.track(
        new StreamsApp(topology(), { applicationId, brokers: brokerList(), stateDir: apps.stateDir() }),
      );
      await second.start();
      // Too old for the left store by the time it reached before the restart (t0 + 10 - 2_000, window size +
      // grace): counted as expired, and its window has ended, so it is emitted with null at once.
      await send(left, 'D', 'd1', t0 - 2_000);
      await waitFor(() => second.metrics.processed >= 1, { what: 'the expired record to be processed' });
      expect(second.metrics.droppedRecords.expired).toBe(1);
      await send(right, 'A', 'r1', t0 + 500);
      await waitFor(() => second.metrics.processed >= 2, { what: 'the right record to be processed' });
      await send(left, 'C', 'c1', t0 + 5_000);
    } finally {
      await producer.disconnect();
    }
    const got = await readAll(output, 3, { settleMs: 1_000 });
    expect(got.map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['D', 'd1+null', t0 - 2_000],
      ['A', 'a1+r1', t0 + 500],
      ['B', 'b1+null', t0 + 10],
    ]);
  });

  it('fails at start with PARTITION_COUNT_MISMATCH when the joined topics have different partition counts', async () => {
    const left = uniqueName('left');
    const right = uniqueName('right');
    const output = uniqueName('out');
    await createTopics([
      { topic: left, numPartitions: 2 },
      { topic: right, numPartitions: 3 },
      { topic: output, numPartitions: 1 },
    ]);
    const builder = new StreamsBuilder();
    builder
      .stream(left, str)
      .join(builder.stream(right, str), (l, r) => `${l}+${r}`, JoinWindows.ofTimeDifferenceWithNoGrace(1_000))
      .to(output, str);
    const app = apps.track(
      new StreamsApp(builder.build(), {
        applicationId: uniqueName('join-mismatch'),
        brokers: brokerList(),
        stateDir: apps.stateDir(),
      }),
    );
    const err = await app.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamsError);
    expect((err as StreamsError).code).toBe('PARTITION_COUNT_MISMATCH');
    expect((err as StreamsError).message).toContain(`${left}=2`);
    expect((err as StreamsError).message).toContain(`${right}=3`);
    expect(app.state).toBe('ERROR');
  });
});
