// A poison pill in dead-letter mode, against the broker: the dead-letter topic holds exactly that record with its
// error headers, and every other record is processed.
import { Serdes, StreamsApp, StreamsBuilder } from '@eddy/streams';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const apps: StreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('dead-letter mode', () => {
  it('routes the undecodable record to the dead-letter topic and processes the rest', async () => {
    const input = uniqueName('in');
    const output = uniqueName('out');
    const dlq = uniqueName('dlq');
    await createTopics([
      { topic: input, numPartitions: 2 },
      { topic: output, numPartitions: 2 },
      { topic: dlq, numPartitions: 1 },
    ]);
    const producer = testProducer();
    await producer.connect();
    const good = Array.from({ length: 200 }, (_, n) => ({
      key: `k${n}`,
      value: JSON.stringify({ n }),
      partition: n % 2,
    }));
    await producer.send({ topic: input, messages: good.slice(0, 100) });
    await producer.send({
      topic: input,
      messages: [
        { key: 'poison', value: Buffer.from([0xff, 0x00, 0x7b]), partition: 1, headers: { origin: 'test' } },
      ],
    });
    await producer.send({ topic: input, messages: good.slice(100) });
    await producer.disconnect();

    const b = new StreamsBuilder();
    b.stream(input, { keySerde: Serdes.string(), valueSerde: Serdes.json<{ n: number }>() })
      .mapValues((v) => ({ doubled: v!.n * 2 }))
      .to(output, { keySerde: Serdes.string(), valueSerde: Serdes.json() });
    const app = new StreamsApp(b.build(), {
      applicationId: uniqueName('app'),
      brokers: brokerList(),
      deserializationErrors: { deadLetterTopic: dlq },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    apps.push(app);
    await app.start();

    const out = await readAll(output, 200, { settleMs: 300 });
    expect(out).toHaveLength(200);
    expect(new Set(out.map((m) => m.key))).toEqual(new Set(good.map((g) => g.key)));
    const dead = await readAll(dlq, 1, { settleMs: 300 });
    expect(dead).toHaveLength(1);
    const d = dead[0]!;
    expect(d.key).toBe('poison');
    expect(d.headers.origin).toBe('test');
    expect(d.headers['eddy.error.code']).toBe('DESERIALIZATION_FAILED');
    expect(d.headers['eddy.error.class']).toBe('SyntaxError');
    expect(d.headers['eddy.source.topic']).toBe(input);
    expect(d.headers['eddy.source.partition']).toBe('1');
    expect(d.headers['eddy.source.offset']).toBe('50');
    expect(app.state).toBe('RUNNING');
  });
});
