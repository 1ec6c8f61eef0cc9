// Bad input ends with a typed error within a bounded time: unreachable broker, missing topic,
// partition count mismatch, and a record that cannot be deserialized (which is not committed, nor retried in a loop).
import { Serdes, StreamsApp, StreamsBuilder, StreamsError, type StreamsState } from '@eddy/streams';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const apps: StreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function passThrough(input: string | string[], output: string) {
  const b = new StreamsBuilder();
  b.stream(input, { keySerde: Serdes.string(), valueSerde: Serdes.json<{ n: number }>() }).to(output, {
    keySerde: Serdes.string(),
    valueSerde: Serdes.json(),
  });
  return b.build();
}

async function startFails(app: StreamsApp): Promise<StreamsError> {
  apps.push(app);
  const err = await app.start().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StreamsError);
  expect(app.state).toBe('ERROR');
  return err as StreamsError;
}

describe('bad input', () => {
  it('fails with BROKER_UNREACHABLE within the start timeout when no broker answers', async () => {
    const began = Date.now();
    const err = await startFails(
      new StreamsApp(passThrough('a', 'b'), {
        applicationId: uniqueName('app'),
        brokers: ['127.0.0.1:1'],
        startTimeoutMs: 3_000,
        retryBackoff: false,
        clientLogLevel: 'nothing',
      }),
    );
    expect(err.code).toBe('BROKER_UNREACHABLE');
    expect(err.message).toContain('127.0.0.1:1');
    expect(Date.now() - began).toBeLessThan(15_000);
  });

  it('fails with TOPIC_MISSING naming the missing topic', async () => {
    const missing = uniqueName('does-not-exist');
    const output = uniqueName('out');
    await createTopics([{ topic: output, numPartitions: 1 }]);
    const err = await startFails(
      new StreamsApp(passThrough(missing, output), {
        applicationId: uniqueName('app'),
        brokers: brokerList(),
      }),
    );
    expect(err.code).toBe('TOPIC_MISSING');
    expect(err.message).toContain(missing);
  });

  it('fails with PARTITION_COUNT_MISMATCH when co-partitioned sources differ', async () => {
    const a = uniqueName('a');
    const b = uniqueName('b');
    const out = uniqueName('out');
    await createTopics([
      { topic: a, numPartitions: 2 },
      { topic: b, numPartitions: 3 },
      { topic: out, numPartitions: 1 },
    ]);
    const err = await startFails(
      new StreamsApp(passThrough([a, b], out), { applicationId: uniqueName('app'), brokers: brokerList() }),
    );
    expect(err.code).toBe('PARTITION_COUNT_MISMATCH');
    expect(err.message).toContain(`${a}=2`);
    expect(err.message).toContain(`${b}=3`);
  });

  it('stops with DESERIALIZATION_FAILED naming topic, partition and offset; earlier records are output and committed', async () => {
    const input = uniqueName('in');
    const output = uniqueName('out');
    const applicationId = uniqueName('app');
    await createTopics([
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
    ]);
    const producer = testProducer();
    await producer.connect();
    await producer.send({
      topic: input,
      messages: [
        ...Array.from({ length: 10 }, (_, n) => ({ key: `k${n}`, value: JSON.stringify({ n }) })),
        { key: 'poison', value: '{not json' },
        ...Array.from({ length: 5 }, (_, n) => ({ key: `k${n + 11}`, value: JSON.stringify({ n: n + 11 }) })),
      ],
    });
    await producer.disconnect();

    const app = new StreamsApp(passThrough(input, output), { applicationId, brokers: brokerList() });
    apps.push(app);
    const states: StreamsState[] = [];
    app.onStateChange((s) => states.push(s));
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    await app.start();
    await waitFor(() => app.state === 'ERROR', { what: 'the app to stop in ERROR' });

    expect(errors).toHaveLength(1);
    const err = errors[0]!;
    expect(err.code).toBe('DESERIALIZATION_FAILED');
    expect(err.position).toEqual({ topic: input, partition: 0, offset: '10' });
    expect(err.message).toContain(`${input}-0@10`);
    expect(app.error).toBe(err);
    // It stopped once, with no restart loop through REBALANCING.
    expect(states).toEqual(['REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'ERROR']);

    const out = await readAll(output, 10, { settleMs: 500 });
    expect(out.map((m) => m.key)).toEqual(Array.from({ length: 10 }, (_, n) => `k${n}`));
    const committed = await withAdmin((admin) =>
      admin.fetchOffsets({ groupId: applicationId, topics: [input] }),
    );
    expect(committed[0]!.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '10' })]);
  });
});
