// Records over maxRecordBytes, and records the broker refused as too large: RECORD_TOO_LARGE, not a generic failure.
import { describe, expect, it } from 'vitest';
import { Serdes, StreamsError, Topology } from '../src/index.js';
import type { ProducerPort } from '../src/kafka/port.js';
import { createTask } from '../src/runtime/create-task.js';
import { DRAIN_ONLY, RecordCollector } from '../src/runtime/record-collector.js';
import { recordBytes } from '../src/runtime/record-size.js';
import { TaskId } from '../src/runtime/task-id.js';

const s = { keySerde: Serdes.string(), valueSerde: Serdes.string() };
const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('record size', () => {
  it('counts key, value, header names and header values', () => {
    expect(recordBytes({ key: Buffer.from('ab'), value: null, headers: { é: Buffer.alloc(3) } })).toBe(7);
  });

  it('an output record over maxRecordBytes is a processing error; log-and-continue skips it alone', () => {
    const graph = new Topology()
      .addSource('in', { topics: ['in'], ...s })
      .addSink('out', { topic: 'out', ...s }, 'in')
      .seal('app');
    const collector = new RecordCollector(DRAIN_ONLY);
    const config = {
      applicationId: 'app',
      deserializationErrors: 'fail',
      processingErrors: 'log-and-continue',
      logger: silent,
      maxRecordBytes: 10,
    } as const;
    const task = createTask({ id: TaskId.of(0, 0), graph, config, collector, state: undefined });
    const record = (offset: number, value: string) => ({
      offset: String(offset),
      key: Buffer.from('k'),
      value: Buffer.from(value),
      timestamp: 1,
      headers: {},
    });
    task.addRecords('in', [record(0, 'short'), record(1, 'much too long'), record(2, 'fine')]);
    task.process();
    expect(collector.drain().map((r) => r.value?.toString())).toEqual(['short', 'fine']);

    const failing = createTask({
      id: TaskId.of(0, 0),
      graph,
      config: { ...config, processingErrors: 'fail' },
      collector,
      state: undefined,
    });
    failing.addRecords('in', [record(0, 'much too long')]);
    let error: unknown;
    try {
      failing.process();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StreamsError);
    expect((error as StreamsError).code).toBe('RECORD_TOO_LARGE');
    expect((error as StreamsError).position).toEqual({ topic: 'in', partition: 0, offset: '0' });
  });

  it('a send the broker refused as too large is RECORD_TOO_LARGE, another failure PRODUCE_FAILED', async () => {
    const refusing = (type: string): ProducerPort => ({
      connect: async () => {},
      close: async () => {},
      send: async () => {
        throw Object.assign(new Error('refused'), { type });
      },
    });
    for (const [type, code] of [
      ['MESSAGE_TOO_LARGE', 'RECORD_TOO_LARGE'],
      ['RECORD_LIST_TOO_LARGE', 'RECORD_TOO_LARGE'],
      ['NOT_ENOUGH_REPLICAS', 'PRODUCE_FAILED'],
    ]) {
      const collector = new RecordCollector(refusing(type!));
      collector.add({ topic: 'out', key: null, value: Buffer.from('v') });
      await expect(collector.flush()).rejects.toMatchObject({ code });
      expect(collector.pending).toBe(1);
    }
  });
});
