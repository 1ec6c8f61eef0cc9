// A task with several input partitions: timestamp order across them, waiting (maxTaskIdleMs) for an input with
// nothing buffered, never forever, with fetching paused while it holds bufferedRecordsPerPartition of an input; and
// invalid timestamps reach their error path whatever the number of inputs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Serdes, StreamsApp, StreamsBuilder, StreamsError } from '../src/index.js';
import { MemoryKafkaCluster, memoryClientFactory } from '../src/internals.js';
import type { ConsumedRecord } from '../src/kafka/port.js';
import type { Logger } from '../src/logger.js';
import type { ErrorMode } from '../src/runtime/error-handling.js';
import { LAGGING_INPUT_WAIT_MS } from '../src/runtime/partition-group.js';
import { RecordCollector } from '../src/runtime/record-collector.js';
import { StreamTask } from '../src/runtime/stream-task.js';
import { TaskId } from '../src/runtime/task-id.js';
import { CapturingProducer } from './capturing-producer.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const str = { keySerde: Serdes.string(), valueSerde: Serdes.string() };

/** A task reading `left` and `right`, writing each value to `out`, with the timestamp taken from the value's number. */
function twoInputs(options: { maxTaskIdleMs?: number; processing?: ErrorMode } = {}) {
  const b = new StreamsBuilder();
  b.stream(['left', 'right'], {
    ...str,
    timestampExtractor: (r) => Number(r.value!.toString().slice(1)),
  }).to('out', str);
  const producer = new CapturingProducer();
  const collector = new RecordCollector(producer);
  const task = new StreamTask({
    applicationId: 'app',
    id: TaskId.of(0, 0),
    graph: b.build().seal('app'),
    collector,
    deserializationErrors: 'fail',
    processingErrors: options.processing ?? 'fail',
    logger: silent,
    ...(options.maxTaskIdleMs === undefined ? {} : { maxTaskIdleMs: options.maxTaskIdleMs }),
  });
  const values = async () => {
    await collector.flush();
    return producer.sent.map((r) => r.value!.toString());
  };
  return { task, values };
}

const offsets = new Map<string, number>();
/** Records of one input, each value `<letter><timestamp>`, at the input's next offsets. */
function recs(topic: string, ...values: string[]): ConsumedRecord[] {
  return values.map((value) => {
    const offset = offsets.get(topic) ?? 0;
    offsets.set(topic, offset + 1);
    return {
      offset: String(offset),
      key: Buffer.from('k'),
      value: Buffer.from(value),
      timestamp: 0,
      headers: {},
    };
  });
}
function end(topic: string): string {
  return String(offsets.get(topic) ?? 0);
}

describe('a task with two inputs', () => {
  it('waits for an input whose log holds records not fetched yet, then merges in timestamp order', async () => {
    offsets.clear();
    const { task, values } = twoInputs();
    task.addRecords('left', recs('left', 'l10', 'l30'), end('left'));
    // The log of `right` holds two records after this one.
    task.addRecords('right', recs('right', 'r5'), '3');
    expect(task.process(undefined, 0)).toBe(1);
    expect(task.readyToProcess(0)).toBe(false);
    expect(task.process(undefined, 100)).toBe(0);
    task.addRecords('right', recs('right', 'r20', 'r40'), '3');
    expect(task.process(undefined, 0)).toBe(4);
    expect(await values()).toEqual(['r5', 'l10', 'r20', 'l30', 'r40']);
  });

  it('stops before taking a record out of order while an input is still being fetched', async () => {
    offsets.clear();
    const { task, values } = twoInputs();
    task.addRecords('left', recs('left', 'l10', 'l30', 'l50'), end('left'));
    task.addRecords('right', recs('right', 'r20'), '3'); // two more records of `right` are in the log
    expect(task.process(undefined, 0)).toBe(2);
    expect(await values()).toEqual(['l10', 'r20']);
    task.addRecords('right', recs('right', 'r40', 'r60'), '3');
    expect(task.process(undefined, 0)).toBe(4);
    expect((await values()).slice(2)).toEqual(['l30', 'r40', 'l50', 'r60']);
  });

  it('an input whose fetch ended on a transaction marker (no record) is caught up', () => {
    offsets.clear();
    const { task } = twoInputs();
    task.addRecords('left', recs('left', 'l5', 'l6'), end('left'));
    // `right`: a record at offset 0 and the commit marker at offset 1, which is never delivered as a record.
    task.addRecords('right', recs('right', 'r1'), '2', '1');
    expect(task.process(undefined, 0)).toBe(3);
  });

  it('waits for the fetch of an input behind its log end for a bounded time only', () => {
    offsets.clear();
    const { task } = twoInputs();
    task.addRecords('left', recs('left', 'l5', 'l6'), end('left'));
    // The log end says more is coming, but the fetch never brings it (only markers were left, say).
    task.addRecords('right', recs('right', 'r1'), '9');
    expect(task.process(undefined, 1_000)).toBe(1);
    expect(task.process(undefined, 1_000 + LAGGING_INPUT_WAIT_MS - 1)).toBe(0);
    expect(task.process(undefined, 1_000 + LAGGING_INPUT_WAIT_MS)).toBe(2);
  });

  it('with maxTaskIdleMs 0 does not wait for a caught-up input', async () => {
    offsets.clear();
    const { task, values } = twoInputs();
    task.addRecords('right', recs('right', 'r1'), end('right'));
    task.addRecords('left', recs('left', 'l5', 'l6'), end('left'));
    expect(task.process(undefined, 0)).toBe(3);
    expect(await values()).toEqual(['r1', 'l5', 'l6']);
  });

  it('with maxTaskIdleMs > 0 waits that long for a caught-up input, and no longer', async () => {
    offsets.clear();
    const { task, values } = twoInputs({ maxTaskIdleMs: 1_000 });
    task.addRecords('right', recs('right', 'r1'), end('right'));
    task.addRecords('left', recs('left', 'l5'), end('left'));
    expect(task.process(undefined, 10_000)).toBe(1); // r1, then `right` is empty and caught up
    expect(task.readyToProcess(10_500)).toBe(false);
    expect(task.idleUntil).toBe(11_000);
    task.addRecords('right', recs('right', 'r3'), end('right'));
    expect(task.process(undefined, 10_600)).toBe(1); // r3; `right` is empty again: a new wait begins
    expect(task.idleUntil).toBe(11_600);
    task.addRecords('left', recs('left', 'l9'), end('left'));
    expect(task.process(undefined, 11_500)).toBe(0);
    expect(task.process(undefined, 11_600)).toBe(2);
    expect(await values()).toEqual(['r1', 'r3', 'l5', 'l9']);
  });

  it('with maxTaskIdleMs -1 never waits, not even for records known to be in the log', async () => {
    offsets.clear();
    const { task } = twoInputs({ maxTaskIdleMs: -1 });
    task.addRecords('left', recs('left', 'l1'), end('left'));
    task.addRecords('right', recs('right', 'r0'), '5');
    expect(task.process(undefined, 0)).toBe(2);
  });

  it('with maxTaskIdleMs 0 waits for an input no fetch has reported on yet (its lag is unknown)', async () => {
    offsets.clear();
    const { task, values } = twoInputs();
    task.addRecords('left', recs('left', 'l10', 'l30'), end('left'));
    expect(task.readyToProcess(0)).toBe(false);
    expect(task.process(undefined, 100)).toBe(0);
    // The first fetch of `right` brings a record older than both of `left`'s.
    task.addRecords('right', recs('right', 'r5'), end('right'));
    expect(task.process(undefined, 100)).toBe(3);
    expect(await values()).toEqual(['r5', 'l10', 'l30']);
  });

  it('goes on once a fetch that found nothing reports the unknown input caught up', async () => {
    offsets.clear();
    const { task, values } = twoInputs();
    task.addRecords('left', recs('left', 'l10'), end('left'));
    expect(task.process(undefined, 0)).toBe(0);
    // An empty fetch: the log ends at 0, and the fetch covered everything before it.
    task.addRecords('right', [], '0', '-1');
    expect(task.process(undefined, 0)).toBe(1);
    expect(await values()).toEqual(['l10']);
  });

  it('an empty fetch ends the wait for an input that was behind its log end', () => {
    offsets.clear();
    const { task } = twoInputs();
    task.addRecords('left', recs('left', 'l5', 'l6'), end('left'));
    task.addRecords('right', recs('right', 'r1'), '4');
    expect(task.process(undefined, 0)).toBe(1);
    expect(task.process(undefined, 0)).toBe(0);
    // Read committed: the rest of `right` was aborted; the next fetch finds nothing up to the log end.
    task.addRecords('right', [], '4', '3');
    expect(task.process(undefined, 0)).toBe(2);
  });

  it('waits for an input of unknown lag for a bounded time only', () => {
    offsets.clear();
    const { task } = twoInputs();
    task.addRecords('left', recs('left', 'l1'), end('left'));
    expect(task.process(undefined, 1_000)).toBe(0);
    expect(task.process(undefined, 1_000 + LAGGING_INPUT_WAIT_MS - 1)).toBe(0);
    expect(task.process(undefined, 1_000 + LAGGING_INPUT_WAIT_MS)).toBe(1);
  });

  it('records handed over without a log end leave the lag unknown once they are taken', () => {
    offsets.clear();
    const { task } = twoInputs();
    task.addRecords('left', recs('left', 'l1', 'l2'), end('left'));
    task.addRecords('right', recs('right', 'r0'));
    expect(task.process(undefined, 0)).toBe(1);
    expect(task.process(undefined, 0)).toBe(0);
  });

  it('with maxTaskIdleMs > 0 waits for the unknown input to be reported, then that long for new records', () => {
    offsets.clear();
    const { task } = twoInputs({ maxTaskIdleMs: 50 });
    task.addRecords('left', recs('left', 'l1'), end('left'));
    expect(task.process(undefined, 0)).toBe(0);
    expect(task.process(undefined, 100)).toBe(0);
    expect(task.idleUntil).toBeUndefined();
    task.addRecords('right', [], '0', '-1');
    expect(task.process(undefined, 200)).toBe(0);
    expect(task.idleUntil).toBe(250);
    expect(task.process(undefined, 250)).toBe(1);
  });

  it('with maxTaskIdleMs -1 does not wait for an input of unknown lag', () => {
    offsets.clear();
    const { task } = twoInputs({ maxTaskIdleMs: -1 });
    task.addRecords('left', recs('left', 'l1'));
    expect(task.process(undefined, 0)).toBe(1);
  });
});

describe('invalid timestamps with two inputs', () => {
  for (const bad of ['NaN', 'Infinity', '-Infinity']) {
    it(`fail mode: a ${bad} timestamp stops the task with PROCESSING_FAILED`, async () => {
      offsets.clear();
      const { task, values } = twoInputs();
      task.addRecords('left', recs('left', 'l1', `l${bad}`, 'l3'), end('left'));
      task.addRecords('right', recs('right', 'r2', 'r4'), end('right'));
      let error: unknown;
      try {
        task.process(undefined, 0);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(StreamsError);
      expect((error as StreamsError).code).toBe('PROCESSING_FAILED');
      expect((error as StreamsError).position).toEqual({ topic: 'left', partition: 0, offset: '1' });
      expect(await values()).toEqual(['l1']);
    });
  }

  it('log-and-continue: the record is skipped and both inputs go on', async () => {
    offsets.clear();
    const { task, values } = twoInputs({ processing: 'log-and-continue' });
    task.addRecords('left', recs('left', 'l1', 'lNaN', 'l3'), end('left'));
    task.addRecords('right', recs('right', 'r2', 'r4'), end('right'));
    expect(task.process(undefined, 0)).toBe(5);
    expect(await values()).toEqual(['l1', 'r2', 'l3', 'r4']);
    expect(task.buffered).toBe(0);
    expect(task.consumedPositions.get('left')).toBe('2');
  });

  it('dead letter: the record goes to the dead-letter topic', async () => {
    offsets.clear();
    const { task, values } = twoInputs({ processing: { deadLetterTopic: 'dlq' } });
    task.addRecords('left', recs('left', 'lInfinity'), end('left'));
    task.addRecords('right', recs('right', 'r2'), end('right'));
    expect(task.process(undefined, 0)).toBe(2);
    expect(await values()).toEqual(['lInfinity', 'r2']);
  });
});

describe('an app whose task reads two inputs, on the in-memory Kafka', () => {
  it('with the default maxTaskIdleMs does not run ahead on the input fetched first', async () => {
    const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
    for (const topic of ['left', 'right', 'out']) cluster.createTopic({ topic, partitions: 1 });
    const factory = memoryClientFactory(cluster);
    const producer = factory.producer();
    await producer.connect();
    // `left` holds the even timestamps, `right` the odd ones; all written before the app starts.
    for (const [topic, parity] of [
      ['left', 0],
      ['right', 1],
    ] as const) {
      await producer.send(
        Array.from({ length: 20 }, (_, i) => ({
          topic,
          key: Buffer.from('k'),
          value: Buffer.from(String(2 * i + parity)),
          timestamp: 1_000 + 2 * i + parity,
        })),
      );
    }
    const b = new StreamsBuilder();
    b.stream(['left', 'right'], str).to('out', str);
    const dir = await mkdtemp(join(tmpdir(), 'eddy-sync-inputs-'));
    const app = new StreamsApp(
      b.build(),
      { applicationId: 'sync', brokers: ['memory:9092'], stateDir: dir, logger: silent },
      { clientFactory: factory },
    );
    try {
      await app.start();
      await vi.waitFor(() => expect(cluster.topicRecords('out')).toHaveLength(40), {
        timeout: 3_000,
        interval: 10,
      });
      const order = cluster.topicRecords('out').map((r) => Number(r.value!.toString()));
      expect(order).toEqual(Array.from({ length: 40 }, (_, i) => i));
    } finally {
      await app.close();
      await producer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('bufferedRecordsPerPartition', () => {
  it('pauses fetching an input while its waiting task holds that many of its records, and resumes as it processes', async () => {
    const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000, maxBatchRecords: 100 });
    for (const topic of ['left', 'right', 'out']) cluster.createTopic({ topic, partitions: 1 });
    const factory = memoryClientFactory(cluster);
    let fetched = 0;
    const consumer = factory.consumer.bind(factory);
    factory.consumer = (options) => {
      const c = consumer(options);
      const run = c.run.bind(c);
      c.run = (handler) =>
        run((batch, control) => {
          if (batch.topic === 'left') fetched += batch.records.length;
          return handler(batch, control);
        });
      return c;
    };
    const producer = factory.producer();
    await producer.connect();
    await producer.send(
      Array.from({ length: 1_000 }, (_, i) => ({
        topic: 'left',
        key: Buffer.from('k'),
        value: Buffer.from(String(i)),
        timestamp: 1_000 + i,
      })),
    );
    const b = new StreamsBuilder();
    b.stream(['left', 'right'], str).to('out', str);
    const dir = await mkdtemp(join(tmpdir(), 'eddy-sync-inputs-'));
    const app = new StreamsApp(
      b.build(),
      {
        applicationId: 'bounded',
        brokers: ['memory:9092'],
        stateDir: dir,
        logger: silent,
        // The task waits for the caught-up right input; the left one's records pile up meanwhile.
        maxTaskIdleMs: 60_000,
        bufferedRecordsPerPartition: 300,
      },
      { clientFactory: factory },
    );
    try {
      await app.start();
      await vi.waitFor(() => expect(fetched).toBeGreaterThanOrEqual(300), { timeout: 3_000, interval: 10 });
      await cluster.settle();
      expect(fetched).toBe(300);
      expect(cluster.topicRecords('out')).toHaveLength(0);
      // A right record later than every left one: the task processes the left records (the right one then waits for
      // the caught-up left input), and the left input is fetched to its end.
      await producer.send([
        { topic: 'right', key: Buffer.from('k'), value: Buffer.from('r'), timestamp: 5_000 },
      ]);
      await vi.waitFor(() => expect(cluster.topicRecords('out')).toHaveLength(1_000), {
        timeout: 3_000,
        interval: 10,
      });
      expect(fetched).toBe(1_000);
    } finally {
      await app.close();
      await producer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
