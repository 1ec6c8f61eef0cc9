// Session-windowed aggregations in the test driver: merges, bridging records, late drops, and the emitted
// sequences Kafka Streams' session aggregation gives for the same input.
import type { KeyValueStore, SessionStore } from '@eddy/state';
import { Serdes, SessionWindows, StreamsBuilder, type Windowed, WindowedSerdes } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../src/index.js';

const s = Serdes.string();
const windowed = WindowedSerdes.sessionWindowed(s);

function sessionCounts(caching: boolean, gapMs = 10, graceMs = 5, retentionMs?: number) {
  const builder = new StreamsBuilder();
  builder
    .stream('clicks', { keySerde: s, valueSerde: s })
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(gapMs, graceMs))
    .count({ name: 'sessions', caching, ...(retentionMs === undefined ? {} : { retentionMs }) })
    .toStream()
    .to('counts', { keySerde: windowed, valueSerde: Serdes.float64() });
  return builder.build();
}

/** Output records as `key [start,end] value @timestamp` lines. */
function lines(driver: TopologyTestDriver, topic = 'counts'): string[] {
  return driver
    .createOutputTopic(topic, windowed, Serdes.float64())
    .readRecordsToList()
    .map((r) => {
      const w = r.key as Windowed<string>;
      return `${w.key} [${w.window.start},${w.window.end}] ${r.value} @${r.timestamp}`;
    });
}

describe('session windows', () => {
  it('caching off: new sessions, a merge, a bridging record, a record inside a session, a point session hit twice, a late drop', async () => {
    await using driver = await TopologyTestDriver.create(sessionCounts(false));
    const clicks = driver.createInputTopic('clicks', s, s);
    // gap 10, grace 5: a session closes once stream time passes its end + 15.
    clicks.pipeInput('a', 'x', 0);
    expect(lines(driver)).toEqual(['a [0,0] 1 @0']);
    clicks.pipeInput('a', 'x', 5); // merges with [0,0]: the old session is deleted, the grown one emitted
    expect(lines(driver)).toEqual(['a [0,0] null @0', 'a [0,5] 2 @5']);
    clicks.pipeInput('a', 'x', 30); // more than the gap after 5: a new session
    clicks.pipeInput('a', 'x', 18); // out of order, within grace, 13 from 5 and 12 from 30: its own session
    expect(lines(driver)).toEqual(['a [30,30] 1 @30', 'a [18,18] 1 @18']);
    clicks.pipeInput('a', 'x', 24); // bridges [18,18] and [30,30]
    expect(lines(driver)).toEqual(['a [18,18] null @18', 'a [30,30] null @30', 'a [18,30] 3 @30']);
    clicks.pipeInput('a', 'x', 25); // inside [18,30]: the session is deleted and put again
    expect(lines(driver)).toEqual(['a [18,30] null @30', 'a [18,30] 4 @30']);
    clicks.pipeInput('b', 'x', 40);
    clicks.pipeInput('b', 'x', 40); // the record's own point session: updated in place, nothing deleted
    expect(lines(driver)).toEqual(['b [40,40] 1 @40', 'b [40,40] 2 @40']);
    // Stream time 40: [0,5] closed at 5 + 15 = 20, so a record that would merge into it is late.
    clicks.pipeInput('a', 'x', 3);
    expect(lines(driver)).toEqual([]);
    expect(driver.droppedRecords('late')).toBe(1);
    // [18,30] is still open (30 + 15 >= 40): a record at 26 joins it.
    clicks.pipeInput('a', 'x', 26);
    expect(lines(driver)).toEqual(['a [18,30] null @30', 'a [18,30] 5 @30']);

    const store = driver.getStateStore<SessionStore<string, number>>('sessions');
    expect(store.fetchSession('a', 18, 30)).toBe(5);
    expect(store.fetchSession('a', 18, 18)).toBeUndefined();
    expect(store.fetchSession('b', 40, 40)).toBe(2);
  });

  it('a record exactly at the close bound is accepted; one past it is dropped', async () => {
    // A retention above gap + grace keeps the closed session in the store, so the record finds it.
    await using driver = await TopologyTestDriver.create(sessionCounts(false, 10, 0, 100));
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('a', 'x', 0);
    clicks.pipeInput('z', 'x', 10); // stream time 10: [0,0] closes after 0 + 10 + 0
    clicks.pipeInput('a', 'x', 1); // merged end 1 >= 10 - 10: accepted
    expect(lines(driver)).toEqual(['a [0,0] 1 @0', 'z [10,10] 1 @10', 'a [0,0] null @0', 'a [0,1] 2 @1']);
    clicks.pipeInput('z', 'x', 12); // stream time 12: [0,1] ends before 12 - 10
    clicks.pipeInput('a', 'x', 1);
    expect(lines(driver)).toEqual(['z [10,10] null @10', 'z [10,12] 2 @12']);
    expect(driver.droppedRecords('late')).toBe(1);
  });

  it('with the default retention (gap + grace) a session the store expired is not merged, as in Kafka Streams', async () => {
    await using driver = await TopologyTestDriver.create(sessionCounts(false, 10, 0));
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('a', 'x', 0);
    clicks.pipeInput('z', 'x', 10); // the store drops sessions ending at or before 10 - 10
    clicks.pipeInput('a', 'x', 1); // not late (1 >= 10 - 10), but [0,0] is gone: a session of its own
    expect(lines(driver)).toEqual(['a [0,0] 1 @0', 'z [10,10] 1 @10', 'a [1,1] 1 @1']);
    expect(driver.droppedRecords('late')).toBe(0);
  });

  it('a key whose sessions all expired leaves the session index without a scan, when stream time passes them', async () => {
    await using driver = await TopologyTestDriver.create(sessionCounts(false, 10, 0));
    const clicks = driver.createInputTopic('clicks', s, s);
    const indexed = async () => {
      const index = driver.getStateStore<KeyValueStore<Buffer, Buffer>>('sessions-index');
      const keys: string[] = [];
      for await (const { key } of index.all())
        if (key[0] === 'K'.charCodeAt(0)) keys.push(key.toString('latin1', 1));
      return keys.sort();
    };
    clicks.pipeInput('a', 'x', 0);
    clicks.pipeInput('b', 'x', 9);
    expect(await indexed()).toEqual(['a', 'b']);
    clicks.pipeInput('c', 'x', 14); // retention 10: a's session (end 0) has expired, b's (end 9) has not
    expect(await indexed()).toEqual(['b', 'c']);
    clicks.pipeInput('c', 'x', 40);
    expect(await indexed()).toEqual(['c']);
    expect(lines(driver)).toEqual(['a [0,0] 1 @0', 'b [9,9] 1 @9', 'c [14,14] 1 @14', 'c [40,40] 1 @40']);
  });

  it('caching on folds each record’s delete and put of the same session into one update', async () => {
    await using driver = await TopologyTestDriver.create(sessionCounts(true));
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('a', 'x', 0);
    clicks.pipeInput('a', 'x', 5);
    clicks.pipeInput('a', 'x', 3);
    expect(lines(driver)).toEqual(['a [0,0] 1 @0', 'a [0,0] null @0', 'a [0,5] 2 @5', 'a [0,5] 3 @5']);
  });

  it('reduce and aggregate merge the aggregates of bridged sessions, older session first', async () => {
    const builder = new StreamsBuilder();
    const grouped = builder.stream('clicks', { keySerde: s, valueSerde: s }).groupByKey();
    const windows = SessionWindows.ofInactivityGapWithNoGrace(10);
    grouped
      .windowedBy(windows)
      .reduce((a, b) => `${a}+${b}`, { caching: false, retentionMs: 100 })
      .toStream()
      .to('reduced', { keySerde: windowed, valueSerde: s });
    grouped
      .windowedBy(windows)
      .aggregate(
        () => '',
        (_k, v, agg) => agg + v,
        (_k, left, right) => `(${left}|${right})`,
        { valueSerde: s, caching: false, retentionMs: 100 },
      )
      .toStream()
      .to('aggregated', { keySerde: windowed, valueSerde: s });
    await using driver = await TopologyTestDriver.create(builder.build());
    const clicks = driver.createInputTopic('clicks', s, s);
    clicks.pipeInput('k', 'p', 0);
    clicks.pipeInput('k', 'q', 20);
    clicks.pipeInput('k', 'r', 10); // bridges [0,0] and [20,20]
    const last = (topic: string) => {
      const records = driver.createOutputTopic(topic, windowed, s).readRecordsToList();
      const r = records[records.length - 1]!;
      return [r.key?.window, r.value];
    };
    expect(last('reduced')).toEqual([{ start: 0, end: 20 }, 'p+q+r']);
    // The initializer's '' merged with the older session, then with the newer one, then the record added.
    expect(last('aggregated')).toEqual([{ start: 0, end: 20 }, '((|p)|q)r']);
  });

  it('rejects a retention shorter than gap + grace and a gap that is not positive', () => {
    const grouped = new StreamsBuilder().stream('in', { keySerde: s, valueSerde: s }).groupByKey();
    const invalid = expect.objectContaining({ code: 'INVALID_TOPOLOGY' });
    expect(() => SessionWindows.ofInactivityGapAndGrace(0, 0)).toThrow(invalid);
    expect(() =>
      grouped.windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5)).count({ retentionMs: 14 }),
    ).toThrow(invalid);
  });

  it('the session-windowed key serde writes inner key, end, start as Kafka Streams does', () => {
    const bytes = windowed.serialize({ key: 'ab', window: { start: 1, end: 2 } })!;
    expect(Buffer.from(bytes).toString('hex')).toBe(`6162${'0000000000000002'}${'0000000000000001'}`);
    expect(windowed.deserialize(bytes)).toEqual({ key: 'ab', window: { start: 1, end: 2 } });
    expect(windowed.serialize(null)).toBeNull();
  });
});
