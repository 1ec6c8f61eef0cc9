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
import { StreamTask } from '../src/runtime/stream-task.js';
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

/**
 * in → each record to two repartition topics, `left` and `right` (as a foreign-key join's subscriptions, or two
 * joins of one table) → both read by one subtopology → out.
 */
function fanOutTopology(): Topology {
  return new Topology()
    .addSource('in', { topics: ['in'], ...s })
    .addRepartitionTopic('left')
    .addRepartitionTopic('right')
    .addSink('to-left', { repartitionTopic: 'left', ...s }, 'in')
    .addSink('to-right', { repartitionTopic: 'right', ...s }, 'in')
    .addSource('left-in', { repartitionTopic: 'left', ...s })
    .addSource('right-in', { repartitionTopic: 'right', ...s })
    .addSink('out', { topic: 'out', ...s }, 'left-in', 'right-in');
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

  it("a producer's header on an input record reaches neither the topology nor a repartition topic", () => {
    const graph = topology().seal('app');
    const collector = new RecordCollector(DRAIN_ONLY);
    const upstream = createTask({ id: TaskId.of(0, 0), graph, config, collector, state: undefined });
    // Well formed, naming the input partition far ahead: honoured downstream, it would mark later records as replays.
    const forged = {
      [REPARTITION_SOURCE_HEADER]: encodeRepartitionSource(sourcePrefix('in', 0), 2 ** 30, 0),
    };
    // Past MAX_RECORDS_PER_INPUT records of one input, the sink writes no position of its own.
    upstream.addRecords('in', [{ ...input(0, 'o1', 'a'.repeat(4100)), headers: forged }]);
    upstream.process();
    const written = collector.drain();
    expect(written).toHaveLength(4100);
    const marks = written.map((r) => decodeRepartitionSource(r.headers?.[REPARTITION_SOURCE_HEADER])?.offset);
    expect(marks.slice(0, 4096).every((offset) => offset === 0)).toBe(true);
    expect(marks.slice(4096)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('copies of one input in two repartition topics are each processed once, whichever topic is read first', () => {
    const graph = fanOutTopology().seal('app');
    const collector = new RecordCollector(DRAIN_ONLY);
    const upstream = createTask({ id: TaskId.of(0, 0), graph, config, collector, state: undefined });
    upstream.addRecords('in', [input(0, 'o1', 'a'), input(1, 'o2', 'b')]);
    upstream.process();
    const written = collector.drain();
    const of = (topic: string) => written.filter((r) => r.topic === topic);
    expect(of('app-left-repartition')).toHaveLength(2);
    expect(of('app-right-repartition')).toHaveLength(2);

    // The reading task takes all of one topic before the other: its later input positions come first.
    const marks: { topic: string; partition: number; mark: number }[] = [];
    const stores = {
      store: () => undefined,
      setSourcePosition: () => undefined,
      advanceUpstream: (topic: string, partition: number, mark: number) =>
        marks.push({ topic, partition, mark }),
    };
    const options = { id: TaskId.of(1, 0), graph, collector, stores, ...config };
    const downstream = new StreamTask(options);
    // A fetch found `right` empty (caught up), so the task does not wait for it.
    downstream.addRecords('app-right-repartition', [], '0', '-1');
    downstream.addRecords('app-left-repartition', fetched(of('app-left-repartition'), 0), '2');
    downstream.process();
    downstream.addRecords('app-right-repartition', fetched(of('app-right-repartition'), 0), '2');
    downstream.process();
    expect(collector.drain().map((r) => r.value?.toString())).toEqual(['a', 'b', 'a', 'b']);

    // Restarted from those positions (offsets not committed): the reading task gets the originals again, then what a
    // replay of the input wrote, with one new input record; only the new one's copies go through, one per topic.
    const replay = createTask({ id: TaskId.of(0, 0), graph, config, collector, state: undefined });
    replay.addRecords('in', [input(0, 'o1', 'a'), input(1, 'o2', 'b'), input(2, 'o3', 'c')]);
    replay.process();
    const again = collector.drain();
    const upstreamMarks = new Map(marks.map((m) => [`${m.topic}:${m.partition}`, m.mark]));
    const restarted = new StreamTask({ ...options, upstreamMarks });
    for (const topic of ['app-right-repartition', 'app-left-repartition']) {
      const copies = [...of(topic), ...again.filter((r) => r.topic === topic)];
      restarted.addRecords(topic, fetched(copies, 0), String(copies.length));
    }
    restarted.process();
    expect(collector.drain().map((r) => r.value?.toString())).toEqual(['c', 'c']);
  });
});
