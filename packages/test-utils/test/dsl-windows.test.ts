// Time and sliding windows of the DSL, checked against Kafka Streams' semantics computed by hand.
import type { KeyValueStore, WindowStore } from '@eddy/state';
import {
  type DslSerde,
  type Materialized,
  Serdes,
  SlidingWindows,
  StreamsBuilder,
  type StreamsError,
  TimeWindows,
  type ValueAndTimestamp,
  type Windowed,
  WindowedSerdes,
} from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../src/index.js';

const s = Serdes.string();
const f64 = Serdes.float64();

/** `key@start/end` of a windowed key, to compare emitted sequences compactly. */
const w = (k: Windowed<string> | null) => `${k!.key}@${k!.window.start}/${k!.window.end}`;

async function windowedCount(
  windows: TimeWindows | SlidingWindows,
  materialized: Materialized<string, number> = {},
) {
  const b = new StreamsBuilder();
  const size = windows instanceof TimeWindows ? windows.sizeMs : windows.timeDifferenceMs;
  const table = b
    .stream('in', { keySerde: s, valueSerde: s })
    .groupByKey()
    .windowedBy(windows as TimeWindows)
    .count({ name: 'counts', caching: false, ...materialized });
  table.toStream().to('out', { keySerde: WindowedSerdes.timeWindowed(s, size), valueSerde: f64 });
  const driver = await TopologyTestDriver.create(b.build());
  const input = driver.createInputTopic('in', s, s);
  const output = driver.createOutputTopic('out', WindowedSerdes.timeWindowed(s, size), f64);
  const pipe = (key: string, timestamp: number) => input.pipeInput(key, 'v', timestamp);
  const read = () => output.readRecordsToList().map((r) => [w(r.key), r.value, r.timestamp]);
  const store = driver.getStateStore<WindowStore<string, ValueAndTimestamp<number>>>('counts');
  return { driver, pipe, read, store };
}

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as StreamsError).code;
  }
  return undefined;
};

describe('tumbling windows', () => {
  it('counts per window, accepts out-of-order records within grace, drops and counts late ones', async () => {
    const { driver, pipe, read, store } = await windowedCount(TimeWindows.ofSizeAndGrace(10, 5));
    await using _ = driver;
    pipe('a', 1);
    pipe('a', 12); // stream time 12: windows ending at or before 7 are closed
    pipe('a', 3); // [0,10) is open until stream time 15
    pipe('b', 4);
    pipe('a', 16); // stream time 16: [0,10) closed
    pipe('a', 4); // late
    pipe('b', 9); // late
    // Each update carries the highest timestamp among the window's records.
    expect(read()).toEqual([
      ['a@0/10', 1, 1],
      ['a@10/20', 1, 12],
      ['a@0/10', 2, 3],
      ['b@0/10', 1, 4],
      ['a@10/20', 2, 16],
    ]);
    expect(driver.droppedRecords('late')).toBe(2);
    expect(store.fetch('a', 0)).toEqual({ value: 2, timestamp: 3 });
    expect(store.fetch('a', 10)).toEqual({ value: 2, timestamp: 16 });
    expect(store.fetch('b', 0)).toEqual({ value: 1, timestamp: 4 });
  });

  it('closes a window exactly when stream time reaches its end plus grace', async () => {
    const { driver, pipe, read } = await windowedCount(TimeWindows.ofSizeAndGrace(10, 5));
    await using _ = driver;
    pipe('a', 14); // close time 9: [0,10) still open
    pipe('a', 9);
    pipe('a', 15); // close time 10 = end of [0,10): closed
    pipe('a', 9);
    expect(read()).toEqual([
      ['a@10/20', 1, 14],
      ['a@0/10', 1, 9],
      ['a@10/20', 2, 15],
    ]);
    expect(driver.droppedRecords('late')).toBe(1);
  });

  it('without grace, a window closes at its end', async () => {
    const { driver, pipe, read } = await windowedCount(TimeWindows.ofSizeWithNoGrace(10));
    await using _ = driver;
    pipe('a', 9);
    pipe('a', 10);
    pipe('a', 9);
    expect(read()).toEqual([
      ['a@0/10', 1, 9],
      ['a@10/20', 1, 10],
    ]);
    expect(driver.droppedRecords('late')).toBe(1);
  });

  it('final values with caching on', async () => {
    const { driver, pipe, read, store } = await windowedCount(TimeWindows.ofSizeAndGrace(10, 100), {
      caching: true,
    });
    await using _ = driver;
    for (const t of [1, 2, 11, 3, 25, 12]) pipe('a', t);
    expect(read().at(-1)).toEqual(['a@10/20', 2, 12]);
    expect([0, 10, 20].map((start) => store.fetch('a', start)?.value)).toEqual([3, 2, 1]);
  });
});

describe('hopping windows', () => {
  it('updates every window containing the record, in window order, and counts each closed window once', async () => {
    const { driver, pipe, read, store } = await windowedCount(TimeWindows.ofSizeWithNoGrace(10).advanceBy(5));
    await using _ = driver;
    pipe('a', 7); // windows [0,10) and [5,15)
    pipe('a', 12); // [5,15) and [10,20); stream time 12 closes [0,10)
    pipe('a', 8); // [0,10) closed (late once), [5,15) open
    pipe('a', 2); // only [0,10): late
    expect(read()).toEqual([
      ['a@0/10', 1, 7],
      ['a@5/15', 1, 7],
      ['a@5/15', 2, 12],
      ['a@10/20', 1, 12],
      ['a@5/15', 3, 12],
    ]);
    expect(driver.droppedRecords('late')).toBe(2);
    // [0,10) left the store too: its retention (size + grace = 10) ended at stream time 10 (the start of [10,20)).
    expect([0, 5, 10].map((start) => store.fetch('a', start)?.value)).toEqual([undefined, 3, 1]);
  });

  it('never starts a window before 0', async () => {
    const { driver, pipe, read } = await windowedCount(TimeWindows.ofSizeAndGrace(10, 0).advanceBy(3));
    await using _ = driver;
    pipe('a', 4); // [0,10) and [3,13); [-3,7) and [-6,4) do not exist
    expect(read()).toEqual([
      ['a@0/10', 1, 4],
      ['a@3/13', 1, 4],
    ]);
  });
});

describe('windowed reduce and aggregate', () => {
  it('reduce starts with the first value; aggregate with the initializer', async () => {
    const b = new StreamsBuilder();
    const grouped = b.stream('in', { keySerde: s, valueSerde: s }).groupByKey();
    const windows = TimeWindows.ofSizeWithNoGrace(10);
    grouped
      .windowedBy(windows)
      .reduce((a, v) => `${a}+${v}`, { caching: false })
      .toStream()
      .to('reduced', { keySerde: WindowedSerdes.timeWindowed(s, 10), valueSerde: s });
    grouped
      .windowedBy(windows)
      .aggregate(
        () => 'init',
        (k, v, a) => `${a}|${k}${v}`,
        { valueSerde: s, caching: false },
      )
      .toStream()
      .to('aggregated', { keySerde: WindowedSerdes.timeWindowed(s, 10), valueSerde: s });
    await using driver = await TopologyTestDriver.create(b.build());
    const input = driver.createInputTopic('in', s, s);
    input.pipeInput('k', 'x', 1);
    input.pipeInput('k', 'y', 2);
    input.pipeInput('k', 'z', 11);
    const read = (topic: string) =>
      driver
        .createOutputTopic(topic, WindowedSerdes.timeWindowed(s, 10), s)
        .readKeyValuesToList()
        .map(([k, v]) => [w(k), v]);
    expect(read('reduced')).toEqual([
      ['k@0/10', 'x'],
      ['k@0/10', 'x+y'],
      ['k@10/20', 'z'],
    ]);
    expect(read('aggregated')).toEqual([
      ['k@0/10', 'init|kx'],
      ['k@0/10', 'init|kx|ky'],
      ['k@10/20', 'init|kz'],
    ]);
  });

  it('the table carries a windowed key serde: its stream can be aggregated again, keyed by window', async () => {
    const b = new StreamsBuilder();
    b.stream('in', { keySerde: s, valueSerde: s })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
      .count({ caching: false })
      .toStream()
      .groupByKey()
      .count({ name: 'updates-per-window', caching: false });
    await using driver = await TopologyTestDriver.create(b.build());
    const input = driver.createInputTopic('in', s, s);
    for (const t of [1, 2, 3, 12]) input.pipeInput('a', 'v', t);
    const store = driver.getStateStore<KeyValueStore<Windowed<string>, number>>('updates-per-window');
    expect(store.get({ key: 'a', window: { start: 0, end: 10 } })).toBe(3);
    expect(store.get({ key: 'a', window: { start: 10, end: 20 } })).toBe(1);
  });
});

describe('window definitions and retention', () => {
  it('rejects bad sizes, advances, grace periods and differences with INVALID_TOPOLOGY', () => {
    expect(codeOf(() => TimeWindows.ofSizeAndGrace(0, 0))).toBe('INVALID_TOPOLOGY');
    expect(codeOf(() => TimeWindows.ofSizeAndGrace(10, -1))).toBe('INVALID_TOPOLOGY');
    expect(codeOf(() => TimeWindows.ofSizeWithNoGrace(1.5))).toBe('INVALID_TOPOLOGY');
    expect(codeOf(() => TimeWindows.ofSizeWithNoGrace(10).advanceBy(0))).toBe('INVALID_TOPOLOGY');
    expect(codeOf(() => TimeWindows.ofSizeWithNoGrace(10).advanceBy(11))).toBe('INVALID_TOPOLOGY');
    expect(TimeWindows.ofSizeWithNoGrace(10).advanceBy(10).advanceMs).toBe(10);
    expect(codeOf(() => SlidingWindows.ofTimeDifferenceAndGrace(-1, 0))).toBe('INVALID_TOPOLOGY');
    expect(codeOf(() => SlidingWindows.ofTimeDifferenceAndGrace(10, -1))).toBe('INVALID_TOPOLOGY');
  });

  it('needs a retention of at least size + grace (sliding: 2 x difference + grace)', () => {
    const count = (windows: TimeWindows | SlidingWindows, retentionMs: number | undefined) => () =>
      new StreamsBuilder()
        .stream('in', { keySerde: s, valueSerde: s })
        .groupByKey()
        .windowedBy(windows as TimeWindows)
        .count(retentionMs === undefined ? {} : { retentionMs });
    const tumbling = TimeWindows.ofSizeAndGrace(10, 5);
    expect(codeOf(count(tumbling, 14))).toBe('INVALID_TOPOLOGY');
    expect(codeOf(count(tumbling, 15))).toBeUndefined();
    expect(codeOf(count(tumbling, undefined))).toBeUndefined();
    const sliding = SlidingWindows.ofTimeDifferenceAndGrace(10, 5);
    expect(codeOf(count(sliding, 24))).toBe('INVALID_TOPOLOGY');
    expect(codeOf(count(sliding, 25))).toBeUndefined();
  });

  it('the store keeps windows for the retention by default: size + grace', async () => {
    const { driver, pipe, store } = await windowedCount(TimeWindows.ofSizeAndGrace(10, 5));
    await using _ = driver;
    expect(store.retentionMs).toBe(15);
    pipe('a', 1);
    pipe('a', 30);
    expect(store.fetch('a', 0)).toBeUndefined(); // expired: start 0 <= 30 - 15
    expect(store.fetch('a', 30)?.value).toBe(1);
  });
});

describe('sliding windows', () => {
  it('creates left and right windows and updates the windows containing an out-of-order record', async () => {
    const { driver, pipe, read, store } = await windowedCount(
      SlidingWindows.ofTimeDifferenceAndGrace(10, 100),
    );
    await using _ = driver;
    // Windows are [start, start + 10], both ends inclusive; the key's end is start + 10.
    pipe('a', 20); // left window [10,20] = {20}
    pipe('a', 25); // right window of 20: [21,31] = {25}; left window of 25: [15,25] = {20,25}
    pipe('a', 40); // left window [30,40] = {40}; the right window of 25, [26,36], would be empty: none
    pipe('a', 22); // updates [21,31] and [15,25] (latest start first), then creates [12,22] and its right window [23,33]
    expect(read()).toEqual([
      ['a@10/20', 1, 20],
      ['a@21/31', 1, 25],
      ['a@15/25', 2, 25],
      ['a@30/40', 1, 40],
      ['a@21/31', 2, 25],
      ['a@15/25', 3, 25],
      ['a@12/22', 2, 22],
      ['a@23/33', 1, 25],
    ]);
    // Every window is a distinct set of records within 10 ms: 20 | 20,22 | 20,22,25 | 22,25 | 25 | 40.
    const counts = [10, 12, 15, 21, 23, 30].map((start) => store.fetch('a', start)?.value);
    expect(counts).toEqual([1, 2, 3, 2, 1, 1]);
    expect(store.fetch('a', 26)).toBeUndefined();
    // The index lists the key's window starts; it lives in a store of its own.
    const index = driver.getStateStore<KeyValueStore<string, number[]>>('counts-index');
    expect(index.get('a')).toEqual([10, 12, 15, 21, 23, 30]);
  });

  it('drops a record whose windows all closed once, and each closed window of an accepted record once', async () => {
    const { driver, pipe, read, store } = await windowedCount(SlidingWindows.ofTimeDifferenceWithNoGrace(10));
    await using _ = driver;
    pipe('a', 30); // [20,30]
    pipe('a', 50); // [40,50]; close time 50
    pipe('a', 35); // its latest window, [35,45], ends before 50: late
    expect(driver.droppedRecords('late')).toBe(1);
    // 40 (its left window ends at 50 = close time, so it is accepted) updates [40,50] to {40,50}. [20,30] has left
    // the store (retention 2 x 10 + 0 after the latest window start, 40), so, as in Kafka Streams, 40 finds no
    // earlier record: its left window [30,40] ends before 50, closed, counted late; its right window [41,51] = {50}.
    pipe('a', 40);
    expect(driver.droppedRecords('late')).toBe(2);
    expect(read()).toEqual([
      ['a@20/30', 1, 30],
      ['a@40/50', 1, 50],
      ['a@40/50', 2, 50],
      ['a@41/51', 1, 50],
    ]);
    expect([30, 31, 40, 41].map((start) => store.fetch('a', start)?.value)).toEqual([
      undefined,
      undefined,
      2,
      1,
    ]);
  });

  it('with a longer retention the earlier record is found: its closed right window is counted late too', async () => {
    const { driver, pipe, read } = await windowedCount(SlidingWindows.ofTimeDifferenceWithNoGrace(10), {
      retentionMs: 100,
    });
    await using _ = driver;
    for (const t of [30, 50, 35, 40]) pipe('a', t);
    // 40 finds [20,30] (max timestamp 30): the right window of 30, [31,41], and 40's left window [30,40] (which
    // both end before the close time 50: two late windows, plus 35.
    expect(driver.droppedRecords('late')).toBe(3);
    expect(read()).toEqual([
      ['a@20/30', 1, 30],
      ['a@40/50', 1, 50],
      ['a@40/50', 2, 50],
      ['a@41/51', 1, 50],
    ]);
  });

  it('puts records earlier than the difference into the window [0, difference]', async () => {
    const { driver, pipe, read, store } = await windowedCount(
      SlidingWindows.ofTimeDifferenceAndGrace(10, 100),
    );
    await using _ = driver;
    pipe('a', 3); // [0,10] = {3}
    pipe('a', 7); // right window of 3: [4,14] = {7}; [0,10] = {3,7}
    pipe('a', 15); // right window of 7: [8,18] = {15}; left window of 15: [5,15] = {7,15}
    expect(read()).toEqual([
      ['a@0/10', 1, 3],
      ['a@4/14', 1, 7],
      ['a@0/10', 2, 7],
      ['a@8/18', 1, 15],
      ['a@5/15', 2, 15],
    ]);
    expect([0, 4, 5, 8].map((start) => store.fetch('a', start)?.value)).toEqual([2, 1, 2, 1]);
  });
});

describe('sliding windows against their definition', () => {
  // With no record dropped, the windows are: for each record at t, its left window [t - d, t] ([0, d] when t < d)
  // and, when some record lies in it, its right window [t + 1, t + 1 + d]; each holds the records within its bounds.
  it('random out-of-order input gives exactly the defined windows and counts', async () => {
    const d = 10;
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 20; round++) {
      const { driver, pipe, store } = await windowedCount(SlidingWindows.ofTimeDifferenceAndGrace(d, 1000), {
        retentionMs: 10_000,
      });
      const times = Array.from({ length: 12 }, () => Math.floor(random() * 60));
      for (const t of times) pipe('k', t);
      const inRange = (from: number, to: number) => times.filter((t) => t >= from && t <= to).length;
      const expected = new Map<number, number>();
      for (const t of times) {
        const left = Math.max(0, t - d);
        expected.set(left, inRange(left, left + d));
        if (inRange(t + 1, t + 1 + d) > 0) expected.set(t + 1, inRange(t + 1, t + 1 + d));
      }
      const actual = new Map<number, number>();
      for (let start = 0; start <= 80; start++) {
        const v = store.fetch('k', start)?.value;
        if (v !== undefined) actual.set(start, v);
      }
      expect(
        [...actual].sort((a, b) => a[0] - b[0]),
        `timestamps ${times.join(',')}`,
      ).toEqual([...expected].sort((a, b) => a[0] - b[0]));
      await driver.close();
    }
  });
});

describe('WindowedSerdes', () => {
  const hex = (b: Uint8Array | null) => Buffer.from(b!).toString('hex');
  it('time-windowed keys: inner bytes, then the start as 8 big-endian bytes; the end is start + size', () => {
    const serde: DslSerde<Windowed<string>> = WindowedSerdes.timeWindowed(s, 10);
    const bytes = serde.serialize({ key: 'ab', window: { start: 5, end: 15 } });
    expect(hex(bytes)).toBe('6162' + '0000000000000005');
    expect(serde.deserialize(bytes)).toEqual({ key: 'ab', window: { start: 5, end: 15 } });
    const big = 2 ** 40 + 3;
    expect(hex(serde.serialize({ key: '', window: { start: big, end: big + 10 } }))).toBe('0000010000000003');
    expect(serde.deserialize(Buffer.from('78' + '0000010000000003', 'hex'))).toEqual({
      key: 'x',
      window: { start: big, end: big + 10 },
    });
    expect(serde.serialize(null)).toBeNull();
    expect(serde.deserialize(null)).toBeNull();
  });

  it('session-windowed keys: inner bytes, then the end and the start, 8 big-endian bytes each', () => {
    const serde = WindowedSerdes.sessionWindowed(s);
    const bytes = serde.serialize({ key: 'ab', window: { start: 5, end: 9 } });
    expect(hex(bytes)).toBe('6162' + '0000000000000009' + '0000000000000005');
    expect(serde.deserialize(bytes)).toEqual({ key: 'ab', window: { start: 5, end: 9 } });
  });

  it('cache keys are equal exactly when the bytes are', () => {
    const time = WindowedSerdes.timeWindowed(s, 10);
    const id = (k: string, start: number) => time.cacheKey!({ key: k, window: { start, end: start + 10 } });
    expect(id('a', 1)).toBe(id('a', 1));
    expect(new Set([id('a', 1), id('a', 11), id('a\u00001', 1), id('a1', 1)]).size).toBe(4);
  });
});
