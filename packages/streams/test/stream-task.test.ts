import { describe, expect, it } from 'vitest';
import { type ProcessorContext, Serdes, StreamsBuilder, StreamsError, Topology } from '../src/index.js';
import type { ConsumedRecord } from '../src/kafka/port.js';
import type { LogFields, Logger } from '../src/logger.js';
import type { ErrorMode } from '../src/runtime/error-handling.js';
import { RecordCollector } from '../src/runtime/record-collector.js';
import { StreamTask } from '../src/runtime/stream-task.js';
import { TaskId } from '../src/runtime/task-id.js';
import { CapturingProducer } from './capturing-producer.js';

const warnings: LogFields[] = [];
const logger: Logger = { debug() {}, info() {}, warn: (_m, f) => warnings.push(f ?? {}), error() {} };

function taskFor(
  topology: Topology,
  modes: { deserialization?: ErrorMode; processing?: ErrorMode } = {},
  clock = () => 0,
) {
  const producer = new CapturingProducer();
  const collector = new RecordCollector(producer);
  const task = new StreamTask({
    applicationId: 'app',
    id: TaskId.of(0, 2),
    graph: topology.seal('app'),
    collector,
    deserializationErrors: modes.deserialization ?? 'fail',
    processingErrors: modes.processing ?? 'fail',
    logger,
    clock,
  });
  const flush = async () => {
    await collector.flush();
    return producer.sent.map((r) => ({
      topic: r.topic,
      key: r.key?.toString() ?? null,
      value: r.value?.toString() ?? null,
      headers: r.headers,
    }));
  };
  return { task, flush, producer };
}

let offset = 0;
function rec(value: string | null, timestamp = 1000, key: string | null = 'k'): ConsumedRecord {
  return {
    offset: String(offset++),
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    timestamp,
    headers: { h: Buffer.from('v') },
  };
}

const str = { keySerde: Serdes.string(), valueSerde: Serdes.string() };

describe('StreamTask', () => {
  it('merges the records of its input partitions in timestamp order and keeps order within a partition', async () => {
    const b = new StreamsBuilder();
    b.stream(['left', 'right'], str).to('out', str);
    const { task, flush } = taskFor(b.build());
    // Each fetch brought its partition's whole log (log end = the next offset).
    task.addRecords('left', [rec('l1', 10), rec('l2', 30), rec('l3', 31)], String(offset));
    task.addRecords('right', [rec('r1', 5), rec('r2', 20), rec('r3', 40)], String(offset));
    expect(task.process()).toBe(6);
    expect((await flush()).map((r) => r.value)).toEqual(['r1', 'l1', 'r2', 'l2', 'l3', 'r3']);
    expect(task.streamTime).toBe(40);
  });

  it('fires stream-time punctuators as record timestamps advance, once per advance', async () => {
    const b = new StreamsBuilder();
    const fired: number[] = [];
    b.stream('in', str).process<string | null, string | null>(() => {
      let ctx: ProcessorContext<string | null, string | null>;
      return {
        init(c) {
          ctx = c;
          c.schedule(100, 'stream-time', (t) => {
            fired.push(t);
            ctx.forward({ key: 'tick', value: String(t), timestamp: t, headers: {} });
          });
        },
        process() {},
      };
    });
    const { task } = taskFor(b.build());
    task.addRecords('in', [
      rec('a', 1000),
      rec('b', 1050),
      rec('c', 1099),
      rec('d', 1100),
      rec('e', 1450),
      rec('f', 1200),
    ]);
    task.process();
    expect(fired).toEqual([1100, 1450]);
  });

  it('fires wall-clock punctuators from the clock, not from records', () => {
    let now = 5_000;
    const fired: number[] = [];
    const b = new StreamsBuilder();
    b.stream('in', str).process(() => ({
      init: (c) => {
        c.schedule(1_000, 'wall-clock', (t) => fired.push(t));
      },
      process() {},
    }));
    const { task } = taskFor(b.build(), {}, () => now);
    task.punctuateWallClock();
    now = 5_999;
    task.punctuateWallClock();
    now = 6_000;
    task.punctuateWallClock();
    now = 9_500;
    task.punctuateWallClock();
    expect(fired).toEqual([6_000, 9_500]);
  });

  it('fail mode: throws a typed error naming the record, which is not consumed and not partly output', async () => {
    const b = new StreamsBuilder();
    b.stream('in', str)
      .flatMapValues((v) => {
        if (v === 'bad')
          return [
            'partial',
            (() => {
              throw new RangeError('boom');
            })(),
          ];
        return [v];
      })
      .to('out', str);
    const { task, flush } = taskFor(b.build());
    offset = 0;
    task.addRecords('in', [rec('ok'), rec('bad'), rec('later')]);
    const err = (() => {
      try {
        task.process();
      } catch (e) {
        return e;
      }
    })() as StreamsError;
    expect(err).toBeInstanceOf(StreamsError);
    expect(err.code).toBe('PROCESSING_FAILED');
    expect(err.position).toEqual({ topic: 'in', partition: 2, offset: '1' });
    expect(err.cause).toBeInstanceOf(RangeError);
    expect(task.consumedPositions.get('in')).toBe('0');
    expect((await flush()).map((r) => r.value)).toEqual(['ok']);
  });

  it('log-and-continue skips undecodable records and logs them', async () => {
    const b = new StreamsBuilder();
    b.stream('in', { keySerde: Serdes.string(), valueSerde: Serdes.json<{ n: number }>() })
      .mapValues((v) => String(v!.n))
      .to('out', str);
    const { task, flush } = taskFor(b.build(), { deserialization: 'log-and-continue' });
    warnings.length = 0;
    offset = 0;
    task.addRecords('in', [rec('{"n":1}'), rec('{oops'), rec('{"n":3}')]);
    expect(task.process()).toBe(3);
    expect((await flush()).map((r) => r.value)).toEqual(['1', '3']);
    expect(task.consumedPositions.get('in')).toBe('2');
    expect(warnings).toEqual([expect.objectContaining({ code: 'DESERIALIZATION_FAILED', task: '0_2' })]);
  });

  it('dead-letter mode writes the original bytes and headers plus what failed and where', async () => {
    const b = new StreamsBuilder();
    b.stream('in', str)
      .mapValues((v) => {
        if (v === 'bad') throw new TypeError('not today');
        return v;
      })
      .to('out', str);
    const { task, flush } = taskFor(b.build(), { processing: { deadLetterTopic: 'dlq' } });
    offset = 7;
    task.addRecords('in', [rec('good'), rec('bad', 1000, 'kb')]);
    task.process();
    const out = await flush();
    expect(out.map((r) => [r.topic, r.value])).toEqual([
      ['out', 'good'],
      ['dlq', 'bad'],
    ]);
    const dead = out[1]!;
    expect(dead.key).toBe('kb');
    const h = Object.fromEntries(Object.entries(dead.headers ?? {}).map(([k, v]) => [k, v.toString()]));
    expect(h).toMatchObject({
      h: 'v',
      'eddy.error.class': 'TypeError',
      'eddy.error.code': 'PROCESSING_FAILED',
      'eddy.source.topic': 'in',
      'eddy.source.partition': '2',
      'eddy.source.offset': '8',
    });
    expect(h['eddy.error.message']).toContain('not today');
  });

  it('uses the source timestamp extractor and a per-record sink topic', async () => {
    const b = new StreamsBuilder();
    b.stream('in', { ...str, timestampExtractor: (r) => Number(r.value!.toString()) }).to(
      (r) => (r.timestamp >= 100 ? 'late' : 'early'),
      str,
    );
    const { task, flush } = taskFor(b.build());
    task.addRecords('in', [rec('50', 999_999), rec('150', 0)]);
    task.process();
    expect((await flush()).map((r) => [r.topic, r.value])).toEqual([
      ['early', '50'],
      ['late', '150'],
    ]);
    expect(task.streamTime).toBe(150);
  });
});

describe('StreamTask after a rebalance', () => {
  it('skips records re-delivered up to its own position (the client refetches from the committed offset)', async () => {
    const b = new StreamsBuilder();
    b.stream('in', str).to('out', str);
    const { task, flush } = taskFor(b.build());
    offset = 0;
    const first = [rec('a'), rec('b'), rec('c')];
    task.addRecords('in', first);
    task.process();
    // The group rebalanced and kept this partition here; the client fetches again from offset 1.
    offset = 1;
    task.addRecords('in', [rec('b'), rec('c'), rec('d')]);
    expect(task.process()).toBe(3);
    expect((await flush()).map((r) => r.value)).toEqual(['a', 'b', 'c', 'd']);
    expect(task.consumedPositions.get('in')).toBe('3');
  });

  it('moves its position past the transaction markers a fetch returned, only once the records before them are consumed', () => {
    const b = new StreamsBuilder();
    b.stream('in', str).to('out', str);
    const { task } = taskFor(b.build());
    offset = 0;
    // Records 0-1, their commit marker at 2: the position moves to 2 once record 1 is processed.
    expect(task.addRecords('in', [rec('a'), rec('b')], '3', '2', '2')).toBe(false);
    expect(task.consumedPositions.get('in')).toBeUndefined();
    expect(task.process()).toBe(2);
    expect(task.consumedPositions.get('in')).toBe('2');
    // A fetch of markers alone (3-4) with nothing buffered moves it at once.
    expect(task.addRecords('in', [], '5', '4', '4')).toBe(true);
    expect(task.consumedPositions.get('in')).toBe('4');
    // One with records still buffered waits for them; a fetch that returned nothing moves nothing.
    offset = 5;
    task.addRecords('in', [rec('c')], '6', '5', '5');
    expect(task.addRecords('in', [], '8', '7', '7')).toBe(false);
    expect(task.addRecords('in', [], '9', '8')).toBe(false);
    expect(task.consumedPositions.get('in')).toBe('4');
    expect(task.process()).toBe(1);
    expect(task.consumedPositions.get('in')).toBe('7');
    // A re-fetch from an older offset never moves the position back.
    expect(task.addRecords('in', [], '9', '3', '3')).toBe(false);
    expect(task.consumedPositions.get('in')).toBe('7');
  });

  it('writes a record to the partition its sink picks, else leaves the choice to the key', async () => {
    const topology = new Topology()
      .addSource('in', { topics: ['in'], ...str })
      .addSink(
        'out',
        { topic: 'out', ...str, partitioner: (r) => (r.value === 'pick' ? 5 : undefined) },
        'in',
      );
    const { task, flush, producer } = taskFor(topology);
    task.addRecords('in', [rec('pick'), rec('hash')]);
    task.process();
    await flush();
    expect(producer.sent.map((r) => [r.value?.toString(), r.partition])).toEqual([
      ['pick', 5],
      ['hash', undefined],
    ]);
  });
});
