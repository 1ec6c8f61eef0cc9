// A stateless topology run by the runtime against the real broker: the output records' content is checked.
import { Serdes, StreamsApp, StreamsBuilder } from '@eddy/streams';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const apps: StreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('a stateless topology against the broker', () => {
  it('maps, filters and writes every record with its key, headers and timestamp', async () => {
    const input = uniqueName('orders');
    const output = uniqueName('big-orders');
    await createTopics([
      { topic: input, numPartitions: 3 },
      { topic: output, numPartitions: 3 },
    ]);
    const orders = Array.from({ length: 300 }, (_, i) => ({
      id: i,
      amount: (i * 37) % 100,
      customer: `c${i % 7}`,
    }));

    const producer = testProducer();
    await producer.connect();
    await producer.send({
      topic: input,
      messages: orders.map((o) => ({
        key: `o${o.id}`,
        value: JSON.stringify(o),
        timestamp: String(1_700_000_000_000 + o.id),
        headers: { trace: `t${o.id}` },
      })),
    });
    await producer.disconnect();

    const builder = new StreamsBuilder();
    builder
      .stream(input, {
        keySerde: Serdes.string(),
        valueSerde: Serdes.json<{ id: number; amount: number; customer: string }>(),
      })
      .filter((_, o) => o !== null && o.amount >= 50)
      .mapValues((o) => ({ id: o!.id, cents: o!.amount * 100 }))
      .map((_, v) => [`customer-of-${v.id}`, v])
      .to(output, { keySerde: Serdes.string(), valueSerde: Serdes.json() });
    const app = new StreamsApp(builder.build(), { applicationId: uniqueName('app'), brokers: brokerList() });
    apps.push(app);
    await app.start();

    const expected = orders.filter((o) => o.amount >= 50);
    const got = await readAll(output, expected.length);
    expect(got).toHaveLength(expected.length);
    const byKey = new Map(got.map((m) => [m.key, m]));
    for (const o of expected) {
      const m = byKey.get(`customer-of-${o.id}`);
      expect(m, `output for order ${o.id}`).toBeDefined();
      expect(JSON.parse(m!.value!)).toEqual({ id: o.id, cents: o.amount * 100 });
      expect(m!.headers.trace).toBe(`t${o.id}`);
      expect(m!.timestamp).toBe(1_700_000_000_000 + o.id);
    }
    expect(app.state).toBe('RUNNING');
    expect(app.metrics.processed).toBe(orders.length);
  });

  it('commits offsets only for processed input, and a second run continues where the first stopped', async () => {
    const input = uniqueName('in');
    const output = uniqueName('out');
    const applicationId = uniqueName('app');
    await createTopics([
      { topic: input, numPartitions: 2 },
      { topic: output, numPartitions: 2 },
    ]);
    const producer = testProducer();
    await producer.connect();
    const send = (from: number, to: number) =>
      producer.send({
        topic: input,
        messages: Array.from({ length: to - from }, (_, i) => ({
          key: `k${from + i}`,
          value: String(from + i),
        })),
      });
    const topology = () => {
      const b = new StreamsBuilder();
      b.stream(input, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
        .mapValues((v) => String(Number(v) * 2))
        .to(output, { keySerde: Serdes.string(), valueSerde: Serdes.string() });
      return b.build();
    };
    try {
      await send(0, 100);
      const first = new StreamsApp(topology(), { applicationId, brokers: brokerList() });
      await first.start();
      await readAll(output, 100);
      await first.close();
      expect(first.state).toBe('NOT_RUNNING');

      await send(100, 150);
      const second = new StreamsApp(topology(), { applicationId, brokers: brokerList() });
      apps.push(second);
      await second.start();
      const all = await readAll(output, 150);
      expect(all.map((m) => Number(m.value)).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 150 }, (_, i) => i * 2),
      );
      expect(second.metrics.processed).toBe(50);
    } finally {
      await producer.disconnect();
    }
  });
});
