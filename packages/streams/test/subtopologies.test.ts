// Topology.seal() splits a topology into subtopologies at repartition topics; resolveTopicLayout gives each its
// partition count and lists the internal topics the app needs.
import { keyValueStore, sessionStore, windowStore } from '@eddy/state';
import { describe, expect, it } from 'vitest';
import { Serdes, Topology } from '../src/index.js';
import { resolveTopicLayout } from '../src/runtime/topic-layout.js';
import { codeOf } from './error-codes.js';

const s = { keySerde: Serdes.string(), valueSerde: Serdes.string() };
const pass = () => ({ process() {} });

/** in → rekey → [by-key] → count (store) → out; and an independent part clicks → log. */
function rekeyAndCount(partitions?: number): Topology {
  return new Topology()
    .addSource('orders', { topics: ['in'], ...s })
    .addProcessor('rekey', pass, 'orders')
    .addRepartitionTopic('by-key', partitions === undefined ? {} : { partitions })
    .addSink('to-by-key', { repartitionTopic: 'by-key', ...s }, 'rekey')
    .addSource('by-key-in', { repartitionTopic: 'by-key', ...s })
    .addProcessor('count', pass, 'by-key-in')
    .addStateStore(keyValueStore({ name: 'counts', ...s }), 'count')
    .addSink('out', { topic: 'out', ...s }, 'count')
    .addSource('clicks', { topics: ['clicks-a', 'clicks-b'], ...s })
    .addSink('log', { topic: 'click-log', ...s }, 'clicks');
}

describe('subtopologies', () => {
  it('splits at repartition topics and keeps unconnected parts apart, numbered by their first node', () => {
    const sealed = rekeyAndCount().seal('app');
    expect(sealed.subtopologies.map((t) => [t.id, t.nodes.map((n) => n.name), t.sourceTopics])).toEqual([
      [0, ['orders', 'rekey', 'to-by-key'], ['in']],
      [1, ['by-key-in', 'count', 'out'], ['app-by-key-repartition']],
      [2, ['clicks', 'log'], ['clicks-a', 'clicks-b']],
    ]);
    expect(sealed.subtopologies.map((t) => t.stores.map((st) => st.name))).toEqual([[], ['counts'], []]);
    expect(Object.fromEntries(sealed.subtopologyOfTopic)).toEqual({
      in: 0,
      'app-by-key-repartition': 1,
      'clicks-a': 2,
      'clicks-b': 2,
    });
    expect(sealed.subtopologyOfStore.get('counts')).toBe(1);
    expect(sealed.repartitionTopics).toEqual([
      {
        name: 'by-key',
        topic: 'app-by-key-repartition',
        partitions: undefined,
        copartitionWithReader: false,
        writers: [0],
        reader: 1,
      },
    ]);
    // The sink writes the internal topic by its full name; user topics do not list internal ones.
    const sink = sealed.nodes.find((n) => n.name === 'to-by-key');
    expect(sink?.kind === 'sink' && sink.topic).toBe('app-by-key-repartition');
    expect(rekeyAndCount().sourceTopics()).toEqual(['in', 'clicks-a', 'clicks-b']);
    expect(rekeyAndCount().sinkTopics()).toEqual(['out', 'click-log']);
  });

  it('processors that share a store are one subtopology', () => {
    const sealed = new Topology()
      .addSource('a', { topics: ['ta'], ...s })
      .addProcessor('pa', pass, 'a')
      .addSource('b', { topics: ['tb'], ...s })
      .addProcessor('pb', pass, 'b')
      .addStateStore(keyValueStore({ name: 'shared', ...s }), 'pa', 'pb')
      .seal('app');
    expect(sealed.subtopologies.map((t) => t.sourceTopics)).toEqual([['ta', 'tb']]);
  });

  it('describes each subtopology in stable names', () => {
    expect(rekeyAndCount().describe()).toBe(
      [
        'Topology',
        '  Sub-topology: 0',
        '    Source: orders (topics: [in]) --> rekey',
        '    Processor: rekey --> to-by-key <-- orders',
        '    Sink: to-by-key (topic: by-key-repartition) <-- rekey',
        '  Sub-topology: 1',
        '    Source: by-key-in (topics: [by-key-repartition]) --> count',
        '    Processor: count (stores: [counts]) --> out <-- by-key-in',
        '    Sink: out (topic: out) <-- count',
        '  Sub-topology: 2',
        '    Source: clicks (topics: [clicks-a, clicks-b]) --> log',
        '    Sink: log (topic: click-log) <-- clicks',
        '',
      ].join('\n'),
    );
  });

  it('rejects repartition topics that are undeclared, unread, unwritten or read by their writer', () => {
    expect(codeOf(() => new Topology().addSource('x', { repartitionTopic: 'nope', ...s }))).toBe(
      'INVALID_TOPOLOGY',
    );
    expect(codeOf(() => new Topology().addSource('x', { topics: ['t'], repartitionTopic: 'r', ...s }))).toBe(
      'INVALID_TOPOLOGY',
    );
    expect(codeOf(() => new Topology().addRepartitionTopic('r', { partitions: 0 }))).toBe('INVALID_TOPOLOGY');
    const unread = new Topology()
      .addSource('a', { topics: ['t'], ...s })
      .addRepartitionTopic('r')
      .addSink('w', { repartitionTopic: 'r', ...s }, 'a');
    expect(codeOf(() => unread.seal('app'))).toBe('INVALID_TOPOLOGY');
    const unwritten = new Topology()
      .addSource('a', { topics: ['t'], ...s })
      .addRepartitionTopic('r')
      .addSource('b', { repartitionTopic: 'r', ...s });
    expect(codeOf(() => unwritten.seal('app'))).toBe('INVALID_TOPOLOGY');
    const loop = new Topology()
      .addRepartitionTopic('r')
      .addSource('b', { repartitionTopic: 'r', ...s })
      .addSink('w', { repartitionTopic: 'r', ...s }, 'b');
    expect(codeOf(() => loop.seal('app'))).toBe('INVALID_TOPOLOGY');
    expect(
      codeOf(() =>
        new Topology()
          .addSource('a', { topics: ['t'], ...s })
          .addRepartitionTopic('r')
          .addSink('w', { topic: 'x', repartitionTopic: 'r', ...s }, 'a'),
      ),
    ).toBe('INVALID_TOPOLOGY');
  });
});

describe('resolveTopicLayout', () => {
  const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

  it("a windowed store's changelog keeps records its retention plus a margin (one day unless configured)", () => {
    const windowed = () =>
      new Topology()
        .addSource('in', { topics: ['in'], ...s })
        .addProcessor('agg', pass, 'in')
        .addStateStore(windowStore({ name: 'windows', retentionMs: 15, ...s }), 'agg')
        .addStateStore(sessionStore({ name: 'sessions', retentionMs: 60_000, ...s }), 'agg')
        .addStateStore(keyValueStore({ name: 'plain', ...s }), 'agg')
        .seal('app');
    const configs = (additional?: number) =>
      resolveTopicLayout(windowed(), counts({ in: 1 }), additional).changelogTopics.map((t) => [
        t.topic,
        t.config,
      ]);
    // A window written now must outlive its store's retention in the changelog: the broker deletes by the
    // record's write time, however far stream time has moved.
    expect(configs()).toEqual([
      [
        'app-windows-changelog',
        { 'cleanup.policy': 'compact,delete', 'retention.ms': String(15 + 86_400_000) },
      ],
      [
        'app-sessions-changelog',
        { 'cleanup.policy': 'compact,delete', 'retention.ms': String(60_000 + 86_400_000) },
      ],
      ['app-plain-changelog', { 'cleanup.policy': 'compact' }],
    ]);
    expect(
      configs(0)
        .slice(0, 2)
        .map(([, c]) => (c as Record<string, string>)['retention.ms']),
    ).toEqual(['15', '60000']);
  });

  it('a repartition topic takes the largest count of its writers unless configured; tasks follow', () => {
    const layout = resolveTopicLayout(
      rekeyAndCount().seal('app'),
      counts({ in: 3, 'clicks-a': 2, 'clicks-b': 2 }),
    );
    expect(Object.fromEntries(layout.partitions)).toEqual({ 0: 3, 1: 3, 2: 2 });
    expect(layout.repartitionTopics).toEqual([
      {
        topic: 'app-by-key-repartition',
        partitions: 3,
        config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
      },
    ]);
    expect(layout.changelogTopics.map((t) => [t.topic, t.partitions, t.subtopology])).toEqual([
      ['app-counts-changelog', 3, 1],
    ]);
    expect(layout.tasks.map(String)).toEqual(['0_0', '0_1', '0_2', '1_0', '1_1', '1_2', '2_0', '2_1']);
    expect(layout.statefulTasks.map(String)).toEqual(['1_0', '1_1', '1_2']);

    const configured = resolveTopicLayout(
      rekeyAndCount(8).seal('app'),
      counts({ in: 3, 'clicks-a': 2, 'clicks-b': 2 }),
    );
    expect(configured.partitions.get(1)).toBe(8);
    expect(configured.changelogTopics[0]?.partitions).toBe(8);
  });

  it('a repartition topic that copartitions with its reader takes the count of the other sources of its reader', () => {
    // left → [sub] → right side (with the right topic) → [resp] → left side: the shape of a foreign-key join.
    const there = (copartitionWithReader: boolean) =>
      new Topology()
        .addSource('left', { topics: ['left'], ...s })
        .addProcessor('send', pass, 'left')
        .addRepartitionTopic('sub', { copartitionWithReader })
        .addSink('to-sub', { repartitionTopic: 'sub', ...s }, 'send')
        .addSource('sub-in', { repartitionTopic: 'sub', ...s })
        .addSource('right', { topics: ['right'], ...s })
        .addProcessor('answer', pass, 'sub-in', 'right')
        .addRepartitionTopic('resp', { copartitionWithReader })
        .addSink('to-resp', { repartitionTopic: 'resp', ...s }, 'answer')
        .addSource('resp-in', { repartitionTopic: 'resp', ...s })
        .addProcessor('join', pass, 'resp-in', 'send')
        .seal('app');
    const layout = resolveTopicLayout(there(true), counts({ left: 2, right: 3 }));
    expect(Object.fromEntries(layout.partitions)).toEqual({ 0: 2, 1: 3 });
    expect(layout.repartitionTopics.map((t) => [t.topic, t.partitions])).toEqual([
      ['app-sub-repartition', 3],
      ['app-resp-repartition', 2],
    ]);
    // Without the mark the counts come out the same here: each topic's reader has a user topic of fixed count.
    const unmarked = resolveTopicLayout(there(false), counts({ left: 2, right: 3 }));
    expect(unmarked.repartitionTopics.map((t) => t.partitions)).toEqual([3, 2]);
    expect(
      codeOf(() =>
        new Topology().addRepartitionTopic('both', { partitions: 2, copartitionWithReader: true }),
      ),
    ).toBe('INVALID_TOPOLOGY');
  });

  it('fails with PARTITION_COUNT_MISMATCH when the sources of one subtopology differ', () => {
    expect(
      codeOf(() =>
        resolveTopicLayout(rekeyAndCount().seal('app'), counts({ in: 3, 'clicks-a': 2, 'clicks-b': 4 })),
      ),
    ).toBe('PARTITION_COUNT_MISMATCH');
  });

  it('fails with INVALID_TOPOLOGY when repartition counts depend on each other in a cycle', () => {
    // a → [r1] → b → [r2] → a: neither count can be derived.
    const cycle = new Topology()
      .addRepartitionTopic('r1')
      .addRepartitionTopic('r2')
      .addSource('a', { repartitionTopic: 'r2', ...s })
      .addSink('a-out', { repartitionTopic: 'r1', ...s }, 'a')
      .addSource('b', { repartitionTopic: 'r1', ...s })
      .addSink('b-out', { repartitionTopic: 'r2', ...s }, 'b');
    expect(codeOf(() => resolveTopicLayout(cycle.seal('app'), counts({})))).toBe('INVALID_TOPOLOGY');
  });
});
