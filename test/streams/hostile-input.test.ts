// Input nobody planned for, against the broker: forged eddy.* headers on input and repartition records, records in a
// changelog topic that no store wrote, and records larger than the broker takes. Each ends as documented.
import { Serdes, StreamsApp, StreamsBuilder, type StreamsConfig, type StreamsError } from '@eddy/streams';
import type { IHeaders } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeRepartitionSource,
  sourcePrefix,
} from '../../packages/streams/src/runtime/repartition-header.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { followTopic, readAll } from '../support/read.js';

const apps: StreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const str = Serdes.string();

function run(builder: StreamsBuilder, applicationId: string, extra: Partial<StreamsConfig> = {}) {
  const app = new StreamsApp(builder.build(), {
    applicationId,
    brokers: brokerList(),
    commitIntervalMs: 100,
    ...extra,
  });
  apps.push(app);
  const errors: StreamsError[] = [];
  app.onError((e) => errors.push(e));
  return { app, errors };
}

async function send(
  topic: string,
  messages: { key: string | null; value: string | null; headers?: IHeaders }[],
) {
  const producer = testProducer();
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

describe('forged eddy.* headers', () => {
  it('are ignored on input and repartition records: every record is counted once, the app keeps running', async () => {
    const input = uniqueName('in');
    const output = uniqueName('out');
    const applicationId = uniqueName('app');
    await createTopics([
      { topic: input, numPartitions: 2 },
      { topic: output, numPartitions: 1 },
    ]);
    const b = new StreamsBuilder();
    b.stream(input, { keySerde: str, valueSerde: str })
      .groupBy((_k, v) => v, { keySerde: str, valueSerde: str })
      .count({ name: 'by-value' })
      .toStream()
      .mapValues((n) => String(n))
      .to(output, { keySerde: str, valueSerde: str });
    const { app, errors } = run(b, applicationId);
    const latest = new Map<string, number>();
    const reader = await followTopic(output, ({ key, value }) => latest.set(key!, Number(value)));
    try {
      await app.start();
      const repartition = await waitFor(
        async () =>
          (await withAdmin((a) => a.listTopics())).find(
            (t) => t.startsWith(applicationId) && t.endsWith('-repartition'),
          ),
        { what: 'the repartition topic' },
      );

      const plain = (n: number, from: number) =>
        Array.from({ length: n }, (_, i) => ({
          key: `k${from + i}`,
          value: (from + i) % 2 === 0 ? 'a' : 'b',
        }));
      // Well formed, naming input partition 0 far ahead: honoured, it would drop later records as replays.
      const ahead = encodeRepartitionSource(sourcePrefix(input, 0), 2 ** 30, 0);
      const forged: IHeaders[] = [
        { 'eddy.rp': ahead },
        { 'eddy.rp': Buffer.from('junk') },
        { 'eddy.rp': Buffer.alloc(0) },
        { 'eddy.rp': Buffer.alloc(300_000, 1) },
        { 'eddy.rp': [ahead, Buffer.from('second')] },
        { 'eddy.src': Buffer.from([1, 0, 9]) },
        { 'eddy.error.code': 'POISON_RECORD', 'eddy.source.offset': '-5', traceparent: 'not-a-trace' },
      ];
      await send(input, plain(20, 0));
      await send(
        input,
        forged.map((headers, i) => ({ key: `f${i}`, value: 'f', headers })),
      );
      // Records written straight into the repartition topic (keyed by the value, as the app writes them), with
      // headers no app wrote: processed as records without a position.
      await send(
        repartition,
        [Buffer.from('junk'), Buffer.alloc(0), Buffer.alloc(17, 1), [Buffer.from('a'), Buffer.from('b')]].map(
          (rp) => ({ key: 'r', value: 'r', headers: { 'eddy.rp': rp } }),
        ),
      );
      await send(input, plain(20, 20));

      const expected = { a: 20, b: 20, f: forged.length, r: 4 };
      await waitFor(() => Object.entries(expected).every(([k, n]) => latest.get(k) === n), {
        what: `counts ${JSON.stringify(expected)} (have ${JSON.stringify([...latest])})`,
        timeoutMs: 60_000,
      });
      expect(Object.fromEntries(latest)).toEqual(expected);
      expect(errors).toEqual([]);
      expect(app.state).toBe('RUNNING');
    } finally {
      await reader.stop();
    }
  });
});

describe('a changelog record no store wrote', () => {
  it('stops the app with STATE_FAILED, caused by INVALID_CHANGELOG_RECORD naming the record', async () => {
    const input = uniqueName('in');
    const output = uniqueName('out');
    const applicationId = uniqueName('app');
    const changelog = `${applicationId}-counts-changelog`;
    await createTopics([
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
      { topic: changelog, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ]);
    // The first is shaped like a count's entry (timestamp and value); the second is too short for its timestamp.
    await send(changelog, [
      { key: 'a', value: Buffer.alloc(16).toString('latin1') },
      { key: 'b', value: 'xyz' },
    ]);
    const b = new StreamsBuilder();
    b.stream(input, { keySerde: str, valueSerde: str })
      .groupByKey({ keySerde: str })
      .count({ name: 'counts' })
      .toStream()
      .to(output, { keySerde: str, valueSerde: Serdes.float64() });
    const { app, errors } = run(b, applicationId);
    await app.start().catch(() => undefined);
    await waitFor(() => app.state === 'ERROR', { what: 'the app to stop in ERROR', timeoutMs: 90_000 });
    expect(errors).toHaveLength(1);
    const err = errors[0]!;
    expect(err.code).toBe('STATE_FAILED');
    expect((err.cause as { code?: string }).code).toBe('INVALID_CHANGELOG_RECORD');
    expect(err.message).toContain(`${changelog}-0@1`);
    expect(err.message).toContain('"counts"');
  });
});

describe('records larger than the broker takes', () => {
  const bigValue = 'x'.repeat(1_100_000);

  it('an output record: RECORD_TOO_LARGE through processingErrors, before anything is sent', async () => {
    const input = uniqueName('in');
    const output = uniqueName('out');
    await createTopics([
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
    ]);
    const topology = () => {
      const b = new StreamsBuilder();
      b.stream(input, { keySerde: str, valueSerde: str })
        .mapValues((v) => (v === 'big' ? bigValue : v))
        .to(output, { keySerde: str, valueSerde: str });
      return b;
    };
    await send(input, [
      { key: '1', value: 'a' },
      { key: '2', value: 'big' },
      { key: '3', value: 'c' },
    ]);

    // log-and-continue: the large record is skipped, the others are written.
    const skipping = run(topology(), uniqueName('app'), { processingErrors: 'log-and-continue' });
    await skipping.app.start();
    const out = await readAll(output, 2, { settleMs: 1000 });
    expect(out.map((r) => r.value)).toEqual(['a', 'c']);
    expect(skipping.errors).toEqual([]);

    // fail: the app stops at once with the record's position; nothing of it was written.
    const failing = run(topology(), uniqueName('app'));
    const began = Date.now();
    await failing.app.start();
    await waitFor(() => failing.app.state === 'ERROR', { what: 'the app to stop in ERROR' });
    const err = failing.errors[0]!;
    expect(err.code).toBe('RECORD_TOO_LARGE');
    expect(err.position).toEqual({ topic: input, partition: 0, offset: '1' });
    expect(err.message).toContain(output);
    expect(Date.now() - began).toBeLessThan(30_000);
  });

  it('a changelog record: the app stops with RECORD_TOO_LARGE naming the store, nothing of the commit written', async () => {
    const input = uniqueName('in');
    const output = uniqueName('out');
    const applicationId = uniqueName('app');
    await createTopics([
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
    ]);
    const b = new StreamsBuilder();
    b.stream(input, { keySerde: str, valueSerde: str })
      .groupByKey({ keySerde: str })
      .reduce((agg, v) => agg + v, { name: 'joined', valueSerde: str })
      .toStream()
      .mapValues((v) => String(v?.length))
      .to(output, { keySerde: str, valueSerde: str });
    // Each below the broker's limit; their aggregate is above it.
    await send(input, [{ key: 'k', value: 'y'.repeat(600_000) }]);
    await send(input, [{ key: 'k', value: 'z'.repeat(600_000) }]);
    const { app, errors } = run(b, applicationId);
    await app.start();
    await waitFor(() => app.state === 'ERROR', { what: 'the app to stop in ERROR', timeoutMs: 90_000 });
    expect(errors[0]?.code).toBe('RECORD_TOO_LARGE');
    expect(errors[0]?.message).toContain('"joined"');
    // At most the first value alone reached the changelog, when a commit fell between the two records: one record
    // and its transaction's commit marker.
    const offsets = await withAdmin((a) => a.fetchTopicOffsets(`${applicationId}-joined-changelog`));
    expect(['0', '2']).toContain(offsets[0]?.high);
  });
});
