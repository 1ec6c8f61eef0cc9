// When a stream–stream join emits its unmatched records and what it does with out-of-order and expired records,
// in the test driver: each expected sequence is worked out by hand from the rules of Kafka Streams 4.1's join
// (KStreamKStreamJoin, its shared outer-join store and the join window stores).
import { afterEach, describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../../test-utils/src/index.js';
import { JoinWindows, type KStream, Serdes, StreamsBuilder } from '../src/index.js';

const s = Serdes.string();
const str = { keySerde: s, valueSerde: s };
const show = (v: string | null, w: string | null) => `${v}+${w}`;

type Side = KStream<string | null, string | null>;
type Out = [key: string | null, value: string | null, timestamp: number];

const drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

async function start(join: (left: Side, right: Side) => KStream<string | null, string>) {
  const builder = new StreamsBuilder();
  join(builder.stream('left', str), builder.stream('right', str)).to('out', str);
  const driver = await TopologyTestDriver.create(builder.build());
  drivers.push(driver);
  const l = driver.createInputTopic('left', s, s);
  const r = driver.createInputTopic('right', s, s);
  const out = driver.createOutputTopic('out', s, s);
  const read = (): Out[] => out.readRecordsToList().map((x) => [x.key, x.value, x.timestamp]);
  return { driver, l, r, read };
}

describe('stream-stream join: when unmatched records are emitted', () => {
  it('left, symmetric: only a record at stream time looks, and not before the oldest record it last saw closes', async () => {
    // before = after = 10, grace 5: a left record's window has closed once stream time passes its time + 15.
    const { l, read } = await start((left, right) =>
      left.leftJoin(right, show, JoinWindows.ofTimeDifferenceAndGrace(10, 5)),
    );
    l.pipeInput('A', 'a', 100);
    l.pipeInput('B', 'b', 104);
    l.pipeInput('C', 'c', 110);
    expect(read()).toEqual([]);
    // 116 > 100 + 15: a's window has closed; b's and c's are open. The look ends at c, the last record it saw.
    l.pipeInput('D', 'd', 116);
    expect(read()).toEqual([['A', 'a+null', 100]]);
    // b's window has closed (104 + 15 < 120), but nothing is emitted before stream time passes c's time + 15.
    l.pipeInput('E', 'e', 120);
    expect(read()).toEqual([]);
    l.pipeInput('F', 'f', 126);
    expect(read()).toEqual([
      ['B', 'b+null', 104],
      ['C', 'c+null', 110],
    ]);
  });

  it('left: an out-of-order record that is not at stream time triggers no emission', async () => {
    const { l, read } = await start((left, right) =>
      left.leftJoin(right, show, JoinWindows.ofTimeDifferenceAndGrace(10, 5)),
    );
    l.pipeInput('A', 'a', 100);
    l.pipeInput('B', 'b', 120); // 120 > 100 + 15: a's window closes
    expect(read()).toEqual([['A', 'a+null', 100]]);
    l.pipeInput('C', 'c', 112); // 112 + 10 >= 120: held; no look (not at stream time)
    l.pipeInput('D', 'd', 108); // 108 + 10 < 120: its window has ended, so it is emitted with null at once
    expect(read()).toEqual([['D', 'd+null', 108]]);
    l.pipeInput('E', 'e', 136); // 136 > 120 + 15 and > 112 + 15: b and c close, in time order
    expect(read()).toEqual([
      ['C', 'c+null', 112],
      ['B', 'b+null', 120],
    ]);
  });

  it('outer, asymmetric: a left record waits for after + grace, a right one for before + grace', async () => {
    // before = 2, after = 10, grace 3: a left record closes after its time + 13, a right one after its time + 5; a
    // left record looks (at stream time) once its own side's bound (oldest + 13) has passed, a right one at oldest + 5.
    const { l, r, read } = await start((left, right) =>
      left.outerJoin(right, show, JoinWindows.ofTimeDifferenceAndGrace(10, 3).before(2)),
    );
    l.pipeInput('A', 'a', 100);
    r.pipeInput('B', 'b', 101);
    expect(read()).toEqual([]);
    r.pipeInput('C', 'c', 107); // 107 > 100 + 5: looks; a (open until 113) stays, b (closed at 106) is emitted
    expect(read()).toEqual([['B', 'null+b', 101]]);
    l.pipeInput('D', 'd', 114); // a's and c's windows have closed, but 114 is not past 101 + 13: no look
    expect(read()).toEqual([]);
    l.pipeInput('E', 'e', 115);
    expect(read()).toEqual([
      ['A', 'a+null', 100],
      ['C', 'null+c', 107],
    ]);
  });

  it('inner, a negative before: a left record joins only right records at least that much later', async () => {
    // before = -5, after = 10: a left record at t joins right records in [t + 5, t + 10]; a right one at t' joins
    // left ones in [t' - 10, t' - 5]. The stores keep 5 (window size 5, no grace) below their highest times.
    const { driver, l, r, read } = await start((left, right) =>
      left.join(right, show, JoinWindows.ofTimeDifferenceWithNoGrace(10).before(-5)),
    );
    l.pipeInput('A', 'a', 100);
    r.pipeInput('A', 'r4', 104);
    r.pipeInput('A', 'r5', 105);
    r.pipeInput('A', 'r10', 110);
    r.pipeInput('A', 'r11', 111);
    l.pipeInput('A', 'b', 106); // [111, 116]
    expect(read()).toEqual([
      ['A', 'a+r5', 105],
      ['A', 'a+r10', 110],
      ['A', 'b+r11', 111],
    ]);
    expect(driver.droppedRecords('expired')).toBe(0);
  });

  it('outer: records of one time are emitted right side first, then by key bytes', async () => {
    const { l, r, read } = await start((left, right) =>
      left.outerJoin(right, show, JoinWindows.ofTimeDifferenceWithNoGrace(5)),
    );
    l.pipeInput('Z', 'z', 100);
    l.pipeInput('A', 'a', 100);
    r.pipeInput('M', 'm', 100);
    l.pipeInput('A', 'a2', 100);
    l.pipeInput('X', 'x', 106);
    expect(read()).toEqual([
      ['M', 'null+m', 100],
      ['A', 'a+null', 100],
      ['A', 'a2+null', 100],
      ['Z', 'z+null', 100],
    ]);
  });
});

describe('stream-stream join: out-of-order and expired records', () => {
  it('left: a record past the grace period still joins what the other side holds, or is emitted with null at once', async () => {
    // before = after = 5, grace 2: the stores keep 12 (window size 10 + grace) behind the highest time they saw.
    const { driver, l, r, read } = await start((left, right) =>
      left.leftJoin(right, show, JoinWindows.ofTimeDifferenceAndGrace(5, 2)),
    );
    r.pipeInput('A', 'r1', 10);
    r.pipeInput('A', 'r2', 20);
    l.pipeInput('A', 'a', 12); // 8 behind stream time: joins r1 (the right store keeps times above 8)
    l.pipeInput('A', 'b', 14);
    l.pipeInput('A', 'c', 3); // [0, 8]: nothing above 8; its window has ended, so c+null at once
    l.pipeInput('A', 'd', 1); // also c+null at once; 1 <= 14 - 12: too old for the left store (counted)
    r.pipeInput('A', 'r0', 4); // joins c (the left store keeps times above 2); too old for the right store
    expect(read()).toEqual([
      ['A', 'a+r1', 12],
      ['A', 'b+r1', 14],
      ['A', 'c+null', 3],
      ['A', 'd+null', 1],
      ['A', 'c+r0', 4],
    ]);
    expect(driver.droppedRecords('expired')).toBe(2);
    expect(driver.droppedRecords('late')).toBe(0);
  });

  it("inner: a record too old for its own store is counted as dropped, yet joins what the other side's store holds", async () => {
    // No grace, 5 either way: each store keeps 10 behind the highest time written to it.
    const { driver, l, r, read } = await start((left, right) =>
      left.join(right, show, JoinWindows.ofTimeDifferenceWithNoGrace(5)),
    );
    l.pipeInput('A', 'a', 100);
    r.pipeInput('A', 'r', 50); // the left store keeps times above 90: no join; the right store keeps it
    l.pipeInput('A', 'b', 52); // 52 <= 100 - 10: not stored (counted), but joins r in the right store
    r.pipeInput('A', 'r2', 53); // b was not stored: nothing
    expect(read()).toEqual([['A', 'b+r', 52]]);
    expect(driver.droppedRecords('expired')).toBe(1);
  });

  it('outer: an out-of-order right record whose window has ended is emitted with null at once', async () => {
    const { l, r, read } = await start((left, right) =>
      left.outerJoin(right, show, JoinWindows.ofTimeDifferenceAndGrace(5, 20)),
    );
    l.pipeInput('A', 'a', 100);
    r.pipeInput('B', 'b', 90); // 90 + 5 < 100: within grace, but its window has ended
    r.pipeInput('A', 'r', 96); // joins a: 96 + 5 >= 100
    expect(read()).toEqual([
      ['B', 'null+b', 90],
      ['A', 'a+r', 100],
    ]);
  });
});
