// KTable.suppress in the test driver: final results once per window on window close, time-limited tables, and
// full buffers that emit early or fail.
import {
  BufferConfig,
  type Change,
  KTable,
  type ProcessorContext,
  Serdes,
  SessionWindows,
  type StreamRecord,
  StreamsBuilder,
  StreamsError,
  Suppressed,
  TimeWindows,
  type Windowed,
  WindowedSerdes,
} from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../src/index.js';

const s = Serdes.string();
const windowed = WindowedSerdes.sessionWindowed(s);

/** Session counts (gap 10, grace 5: a session closes once stream time reaches its end + 15), suppressed. */
function finalSessionCounts(bufferConfig = BufferConfig.unbounded(), caching = false) {
  const builder = new StreamsBuilder();
  builder
    .stream('clicks', { keySerde: s, valueSerde: s })
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5))
    .count({ caching })
    .suppress(Suppressed.untilWindowCloses(bufferConfig).withName('final'))
    .toStream()
    .to('final', { keySerde: windowed, valueSerde: Serdes.float64() });
  return builder.build();
}

function sessionLines(driver: TopologyTestDriver): string[] {
  return driver
    .createOutputTopic('final', windowed, Serdes.float64())
    .readRecordsToList()
    .map((r) => {
      const w = r.key as Windowed<string>;
      return `${w.key} [${w.window.start},${w.window.end}] ${r.value} @${r.timestamp}`;
    });
}

/** Counts per key (caching off), suppressed by `suppressed`. */
function suppressedCounts(suppressed: Suppressed<string>) {
  const builder = new StreamsBuilder();
  const counts: KTable<string, number> = builder
    .stream('clicks', { keySerde: s, valueSerde: s })
    .groupByKey()
    .count({ caching: false });
  counts.suppress(suppressed).toStream().to('out', { keySerde: s, valueSerde: Serdes.float64() });
  return builder.build();
}

function lines(driver: TopologyTestDriver): string[] {
  return driver
    .createOutputTopic('out', s, Serdes.float64())
    .readRecordsToList()
    .map((r) => `${r.key} ${r.value} @${r.timestamp}`);
}

describe('suppress(untilWindowCloses)', () => {
  for (const caching of [false, true]) {
    it(`emits each session once, when stream time reaches its end + gap + grace, and drops merged-away sessions (caching ${caching ? 'on' : 'off'})`, async () => {
      await using driver = await TopologyTestDriver.create(
        finalSessionCounts(BufferConfig.unbounded(), caching),
      );
      const clicks = driver.createInputTopic('clicks', s, s);
      clicks.pipeInput('a', 'x', 0);
      clicks.pipeInput('a', 'x', 5); // [0,0] merged into [0,5]: its deletion is buffered, then dropped
      clicks.pipeInput('b', 'x', 8);
      clicks.pipeInput('a', 'x', 3);
      clicks.pipeInput('z', 'x', 19); // stream time 19: nothing has closed (5 + 15 > 19)
      expect(sessionLines(driver)).toEqual([]);
      clicks.pipeInput('z', 'x', 20); // 5 + 15 <= 20: a's session closes
      expect(sessionLines(driver)).toEqual(['a [0,5] 3 @5']);
      clicks.pipeInput('z', 'x', 23); // 8 + 15 <= 23: b's session closes
      expect(sessionLines(driver)).toEqual(['b [8,8] 1 @8']);
      clicks.pipeInput('z', 'x', 100);
      expect(sessionLines(driver)).toEqual(['z [19,23] 3 @23']);
      expect(driver.producedTopicNames()).toEqual(['final']);
    });
  }

  it('shutDownWhenFull: a buffer past its bound fails with SUPPRESSION_BUFFER_FULL', async () => {
    await using driver = await TopologyTestDriver.create(
      finalSessionCounts(BufferConfig.maxRecords(2).shutDownWhenFull()),
    );
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('a', 'x', 0);
    clicks.pipeInput('b', 'x', 0);
    let error: unknown;
    try {
      clicks.pipeInput('c', 'x', 0);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StreamsError);
    expect((error as StreamsError).code).toBe('SUPPRESSION_BUFFER_FULL');
    expect((error as StreamsError).position).toMatchObject({ topic: 'clicks', offset: '2' });
  });

  it('finds the window close time through table operations downstream of the windowed aggregation', async () => {
    const builder = new StreamsBuilder();
    const sessions = builder
      .stream('clicks', { keySerde: s, valueSerde: s })
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5))
      .count({ caching: false });
    // A pass-through node stands for a table operation (filter, mapValues, ...) between aggregation and suppress.
    const node = sessions.graph.processor('passthrough', [sessions.nodeName], undefined, () => {
      let ctx: ProcessorContext<Windowed<string>, Change<number>>;
      return {
        init: (c: ProcessorContext<Windowed<string>, Change<number>>) => {
          ctx = c;
        },
        process: (r: StreamRecord<Windowed<string>, Change<number>>) => ctx.forward(r),
      };
    });
    new KTable<Windowed<string>, number>(sessions.graph, node, sessions.serdes, undefined, undefined)
      .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
      .toStream()
      .to('final', { keySerde: windowed, valueSerde: Serdes.float64() });
    await using driver = await TopologyTestDriver.create(builder.build());
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('a', 'x', 0);
    clicks.pipeInput('z', 'x', 14);
    expect(sessionLines(driver)).toEqual([]);
    clicks.pipeInput('z', 'x', 15); // 0 + gap 10 + grace 5
    expect(sessionLines(driver)).toEqual(['a [0,0] 1 @0']);
  });

  it('emits each tumbling window once, when stream time reaches its end + grace', async () => {
    const builder = new StreamsBuilder();
    const timeWindowed = WindowedSerdes.timeWindowed(s, 10);
    builder
      .stream('clicks', { keySerde: s, valueSerde: s })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
      .count()
      .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
      .toStream()
      .to('final', { keySerde: timeWindowed, valueSerde: Serdes.float64() });
    await using driver = await TopologyTestDriver.create(builder.build());
    const clicks = driver.createInputTopic('clicks', s, s);
    const out = driver.createOutputTopic('final', timeWindowed, Serdes.float64());
    const read = () =>
      out.readRecordsToList().map((r) => {
        const w = r.key as Windowed<string>;
        return `${w.key} [${w.window.start},${w.window.end}) ${r.value}`;
      });
    clicks.pipeInput('a', 'x', 1);
    clicks.pipeInput('a', 'x', 9);
    clicks.pipeInput('b', 'x', 12);
    clicks.pipeInput('a', 'x', 3); // late for [0,10) only once stream time passes 15
    expect(read()).toEqual([]);
    clicks.pipeInput('b', 'x', 14);
    expect(read()).toEqual([]);
    clicks.pipeInput('b', 'x', 15); // 0 + size 10 + grace 5: [0,10) closes
    expect(read()).toEqual(['a [0,10) 3']);
    clicks.pipeInput('a', 'x', 4); // past grace: dropped, counted
    expect(driver.droppedRecords('late')).toBe(1);
    clicks.pipeInput('c', 'x', 25); // [10,20) closes
    expect(read()).toEqual(['b [10,20) 3']);
  });

  it('needs a windowed table', () => {
    const builder = new StreamsBuilder();
    const counts = builder.stream('clicks', { keySerde: s, valueSerde: s }).groupByKey().count();
    // @ts-expect-error: untilWindowCloses fits only tables keyed by Windowed keys
    const suppress = () => counts.suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()));
    expect(suppress).toThrow(expect.objectContaining({ code: 'INVALID_TOPOLOGY' }));
  });
});

describe('suppress(untilTimeLimit)', () => {
  it('forwards a key’s latest change once its first buffered update is the time limit old', async () => {
    await using driver = await TopologyTestDriver.create(
      suppressedCounts(Suppressed.untilTimeLimit(10, BufferConfig.unbounded())),
    );
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('a', 'x', 0);
    clicks.pipeInput('a', 'x', 3); // updates a's entry; it stays due at 0 + 10
    clicks.pipeInput('b', 'x', 5);
    clicks.pipeInput('c', 'x', 9);
    expect(lines(driver)).toEqual([]);
    clicks.pipeInput('c', 'x', 10); // stream time 10: a is due; it carries its last update's timestamp
    expect(lines(driver)).toEqual(['a 2 @3']);
    clicks.pipeInput('b', 'x', 15); // b's update is buffered first, then b (due at 15) leaves with it
    expect(lines(driver)).toEqual(['b 2 @15']);
    clicks.pipeInput('a', 'x', 16); // a buffered again, due at 26
    clicks.pipeInput('d', 'x', 26); // c (due at 19) then a (due at 26), in buffer-time order
    expect(lines(driver)).toEqual(['c 2 @10', 'a 3 @16']);
  });

  it('keeps buffer-time order within a time bucket that is partly emitted, when a late update joins it', async () => {
    // A limit of 160 buckets the buffer by 10 ms: 0, 3 and 5 share a bucket.
    await using driver = await TopologyTestDriver.create(
      suppressedCounts(Suppressed.untilTimeLimit(160, BufferConfig.unbounded())),
    );
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('b', 'x', 0);
    clicks.pipeInput('a', 'x', 5);
    clicks.pipeInput('z', 'x', 160);
    expect(lines(driver)).toEqual(['b 1 @0']);
    clicks.pipeInput('c', 'x', 3); // out of order, into the bucket being emitted
    expect(lines(driver)).toEqual([]);
    clicks.pipeInput('y', 'x', 165);
    expect(lines(driver)).toEqual(['c 1 @3', 'a 1 @5']);
  });

  it('emitEarlyWhenFull: past maxRecords, the oldest entries leave early', async () => {
    await using driver = await TopologyTestDriver.create(
      suppressedCounts(Suppressed.untilTimeLimit(1_000, BufferConfig.maxRecords(2))),
    );
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('b', 'x', 1);
    clicks.pipeInput('a', 'x', 1);
    expect(lines(driver)).toEqual([]);
    clicks.pipeInput('c', 'x', 2); // three entries: the oldest by buffer time, then key bytes, leaves
    expect(lines(driver)).toEqual(['a 1 @1']);
    clicks.pipeInput('c', 'x', 3); // an update of a buffered key does not grow the buffer
    expect(lines(driver)).toEqual([]);
    clicks.pipeInput('d', 'x', 4);
    expect(lines(driver)).toEqual(['b 1 @1']);
  });

  it('emitEarlyWhenFull with maxBytes: entries leave until the estimate fits', async () => {
    // Each entry is about 8 + 8 + 1 (key) + 8 (new value) + 8 (old value, from the second update) bytes.
    await using driver = await TopologyTestDriver.create(
      suppressedCounts(Suppressed.untilTimeLimit(1_000, BufferConfig.maxBytes(60))),
    );
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('a', 'x', 1); // 25 bytes
    clicks.pipeInput('b', 'x', 2); // 50 bytes
    expect(lines(driver)).toEqual([]);
    clicks.pipeInput('c', 'x', 3); // 75 bytes: a leaves
    expect(lines(driver)).toEqual(['a 1 @1']);
  });

  it('shutDownWhenFull: a buffer past maxBytes fails with SUPPRESSION_BUFFER_FULL', async () => {
    await using driver = await TopologyTestDriver.create(
      suppressedCounts(Suppressed.untilTimeLimit(1_000, BufferConfig.maxBytes(60).shutDownWhenFull())),
    );
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('a', 'x', 1);
    clicks.pipeInput('b', 'x', 2);
    expect(() => clicks.pipeInput('c', 'x', 3)).toThrow(
      expect.objectContaining({ code: 'SUPPRESSION_BUFFER_FULL' }),
    );
  });

  it('a time limit of 0 forwards every change as it comes', async () => {
    await using driver = await TopologyTestDriver.create(
      suppressedCounts(Suppressed.untilTimeLimit(0, BufferConfig.unbounded())),
    );
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('a', 'x', 5);
    clicks.pipeInput('a', 'x', 2);
    // The count's update carries the highest timestamp of its records (5), as in Kafka Streams.
    expect(lines(driver)).toEqual(['a 1 @5', 'a 2 @5']);
  });

  it('reads, through its value getter, what downstream last saw of a buffered key, else the upstream table', async () => {
    const builder = new StreamsBuilder();
    const suppressed = builder
      .stream('clicks', { keySerde: s, valueSerde: s })
      .groupByKey()
      .count({ caching: false })
      .suppress(Suppressed.untilTimeLimit(10, BufferConfig.unbounded()));
    suppressed.toStream().to('out', { keySerde: s, valueSerde: Serdes.float64() });
    const getter = suppressed.valueGetter!;
    const lookups = builder.stream('lookups', { keySerde: s, valueSerde: s });
    const node = lookups.graph.processor('lookup', [lookups.nodeName], undefined, () => {
      let ctx: ProcessorContext<string, string>;
      let read: (key: string) => number | undefined;
      return {
        init(c: ProcessorContext<string, string>) {
          ctx = c;
          const get = getter.create(c as ProcessorContext<unknown, unknown>);
          read = (key) => get(key)?.value;
        },
        process(r: StreamRecord<string, string>) {
          ctx.forward({ ...r, value: String(read(r.key) ?? 'absent') });
        },
      };
    });
    lookups.graph.topology
      .connectProcessorAndStateStores([node], ...getter.storeNames)
      .addSink('looked-up', { topic: 'looked-up', keySerde: s, valueSerde: s }, node);
    await using driver = await TopologyTestDriver.create(builder.build());
    const clicks = driver.createInputTopic('clicks', s, s);
    const lookup = driver.createInputTopic('lookups', s, s);
    const seen = driver.createOutputTopic('looked-up', s, s);
    clicks.pipeInput('a', 'x', 0);
    clicks.pipeInput('a', 'x', 3);
    lookup.pipeInput('a', '?', 3);
    expect(seen.readValuesToList()).toEqual(['absent']); // buffered since before a had a value
    clicks.pipeInput('c', 'x', 10); // a (2) is emitted
    lookup.pipeInput('a', '?', 10);
    expect(seen.readValuesToList()).toEqual(['2']); // not buffered: the count store upstream
    clicks.pipeInput('a', 'x', 11); // a's 3 is buffered; downstream still knows 2
    lookup.pipeInput('a', '?', 11);
    expect(seen.readValuesToList()).toEqual(['2']);
    expect(lines(driver)).toEqual(['a 2 @3']);
  });

  it('rejects bounds that are not positive integers', () => {
    expect(() => BufferConfig.maxRecords(0)).toThrow(expect.objectContaining({ code: 'INVALID_TOPOLOGY' }));
    expect(() => Suppressed.untilTimeLimit(-1, BufferConfig.unbounded())).toThrow(
      expect.objectContaining({ code: 'INVALID_TOPOLOGY' }),
    );
  });
});
