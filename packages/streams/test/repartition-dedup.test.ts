// Records a repartition sink writes carry their input's position; the reading task skips a copy a replay wrote again.
import { describe, expect, it } from 'vitest';
import { Serdes, Topology } from '../src/index.js';
import type { ConsumedRecord, OutgoingRecord } from '../src/kafka/port.js';
import { createTask } from '../src/runtime/create-task.js';
import { DRAIN_ONLY, RecordCollector } from '../src/runtime/record-collector.js';
import {
  decodeRepartitionSource,
  encodeRepartitionSource,
  REPARTITION_SOURCE_HEADER,
  sourcePrefix,
} from '../src/runtime/repartition-header.js';
import { TaskId } from '../src/runtime/task-id.js';

const s = { keySerde: Serdes.string(), valueSerde: Serdes.string() };
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const config = {
  applicationId: 'app',
  deserializationErrors: 'fail',
  processingErrors: 'fail',
  logger: silent,
} as const;

/** in → split each value into its letters, keyed by letter → [letters] → out. */
function topology(): Topology {
  return new Topology()
    .addSource('in', { topics: ['in'], ...s })
    .addProcessor(
      'split',
      () => {
        let forward: (r: {
          key: string;
          value: string;
          timestamp: number;
          headers: Record<string, Buffer>;
        }) => void;
        return {
          init: (c) => {
            forward = (r) => c.forward(r);
          },
          process: (r: {
            key: string;
            value: string;
            timestamp: number;
            headers: Record<string, Buffer>;
          }) => {
            for (const letter of r.value) forward({ ...r, key: letter, value: `${r.key}:${letter}` });
          },
        };
      },
      'in',
    )
    .addRepartitionTopic('letters')
    .addSink('to-letters', { repartitionTopic: 'letters', ...s }, 'split')
    .addSource('letters-in', { repartitionTopic: 'letters', ...s })
    .addSink('out', { topic: 'out', ...s }, 'letters-in');
}

const input = (offset: number, key: string, value: string): ConsumedRecord => ({
  offset: String(offset),
  key: Buffer.from(key),
  value: Buffer.from(value),
  timestamp: 1_000 + offset,
  headers: {},
});

/** Repartition records as the reading task fetches them, at consecutive offsets from `first`. */
const fetched = (records: OutgoingRecord[], first: number): ConsumedRecord[] =>
  records.map((r, i) => ({
    offset: String(first + i),
    key: r.key,
    value: r.value,
    timestamp: r.timestamp ?? 0,
    headers: r.headers ?? {},
  }));

describe('repartition records', () => {
  it('carry the topic, partition, offset and index of the input record that wrote them', () => {
    const graph = topology().seal('app');
    const collector = new RecordCollector(DRAIN_ONLY);
    const upstream = createTask({ id: TaskId.of(0, 2), graph, config, collector, state: undefined });
    upstream.addRecords('in', [input(7, 'o1', 'ab'), input(8, 'o2', 'c')]);
    upstream.process();
    const written = collector.drain();
    expect(written.map((r) => r.topic)).toEqual(Array(3).fill('app-letters-repartition'));
    expect(written.map((r) => decodeRepartitionSource(r.headers?.[REPARTITION_SOURCE_HEADER]))).toEqual([
      { topic: 'in', partition: 2, offset: 7, seq: 0 },
      { topic: 'in', partition: 2, offset: 7, seq: 1 },
      { topic: 'in', partition: 2, offset: 8, seq: 0 },
    ]);
  });

  it('a copy written again by a replay is skipped; the header does not reach the output', () => {
    const graph = topology().seal('app');
    const collector = new RecordCollector(DRAIN_ONLY);
    const upstream = createTask({ id: TaskId.of(0, 0), graph, config, collector, state: undefined });
    upstream.addRecords('in', [input(0, 'o1', 'ab'), input(1, 'o2', 'cd')]);
    upstream.process();
    const first = collector.drain();
    // A replay of the same input after a crash writes the same records again, after the first ones.
    const replay = createTask({ id: TaskId.of(0, 0), graph, config, collector, state: undefined });
    replay.addRecords('in', [input(0, 'o1', 'ab'), input(1, 'o2', 'cd'), input(2, 'o3', 'e')]);
    replay.process();
    const second = collector.drain();
    expect(second).toHaveLength(5);

    const downstream = createTask({ id: TaskId.of(1, 0), graph, config, collector, state: undefined });
    downstream.addRecords('app-letters-repartition', fetched([...first, ...second], 0));
    downstream.process();
    const out = collector.drain();
    expect(out.map((r) => r.value?.toString())).toEqual(['o1:a', 'o1:b', 'o2:c', 'o2:d', 'o3:e']);
    expect(out.every((r) => r.headers?.[REPARTITION_SOURCE_HEADER] === undefined)).toBe(true);
    expect(downstream.consumedPositions.get('app-letters-repartition')).toBe('8');
  });

  it('a malformed header is treated as none: the record is processed', () => {
    expect(decodeRepartitionSource(Buffer.from([9, 0, 0]))).toBeUndefined();
    expect(decodeRepartitionSource(encodeRepartitionSource(sourcePrefix('t', 1), 2 ** 40 + 5, 2))).toEqual({
      topic: 't',
      partition: 1,
      offset: 2 ** 40 + 5,
      seq: 2,
    });
    const graph = topology().seal('app');
    const collector = new RecordCollector(DRAIN_ONLY);
    const downstream = createTask({ id: TaskId.of(1, 0), graph, config, collector, state: undefined });
    const forged = { [REPARTITION_SOURCE_HEADER]: Buffer.from('junk') };
    downstream.addRecords('app-letters-repartition', [
      { ...input(0, 'k', 'x:y'), headers: forged },
      { ...input(1, 'k', 'x:y'), headers: forged },
    ]);
    downstream.process();
    expect(collector.drain()).toHaveLength(2);
  });
});
