// The DSL's joins (stream–stream windowed, stream–table, table–table) in the test driver: the emitted sequences are
// written out by hand from Kafka Streams' semantics.
import { describe, expect, it } from 'vitest';
import type { TopologyTestDriver } from '../../test-utils/src/index.js';
import {
  JoinWindows,
  type KStream,
  type KTable,
  type Processor,
  StreamsBuilder,
  type Topology,
} from '../src/index.js';
import { resolveTopicLayout } from '../src/runtime/topic-layout.js';
import type { Change } from '../src/topology/dsl/change.js';
import { closeDriversAfterEach, driverOf, type Out, readOut, s, str } from './dsl-driver.js';
import { codeOf } from './error-codes.js';

closeDriversAfterEach();

const read = readOut;

const show = (v: string | null, w: string | null) => `${v}+${w}`;

describe('stream-stream join', () => {
  function streams(): {
    builder: StreamsBuilder;
    left: KStream<string | null, string | null>;
    right: KStream<string | null, string | null>;
  } {
    const builder = new StreamsBuilder();
    return { builder, left: builder.stream('left', str), right: builder.stream('right', str) };
  }

  it('inner: emits each match at the later timestamp, window bounds inclusive; out-of-order records join what the other side holds', async () => {
    const { builder, left, right } = streams();
    left.join(right, show, JoinWindows.ofTimeDifferenceAndGrace(10, 5)).to('out', str);
    const driver = await driverOf(builder.build());
    const l = driver.createInputTopic('left', s, s);
    const r = driver.createInputTopic('right', s, s);
    l.pipeInput('A', 'a1', 100);
    r.pipeInput('A', 'b1', 105);
    r.pipeInput('A', 'b2', 110); // a1 at 100 is exactly 10 before: joins
    r.pipeInput('A', 'b3', 111); // 11 after a1: no join
    expect(read(driver)).toEqual([
      ['A', 'a1+b1', 105],
      ['A', 'a1+b2', 110],
    ]);
    l.pipeInput('A', 'a2', 97); // out of order: joins b1 at 105 only
    l.pipeInput('A', 'a3', 95); // past the grace period, but the right store (25 below 111) still holds b1
    r.pipeInput('A', 'b0', 95); // joins a3, a2 and a1, in time order
    r.pipeInput('A', 'bx', 70); // at or below 111 - 25: too old for the right store; nothing on the left above 75
    r.pipeInput('B', 'x', 111); // no B on the left
    expect(read(driver)).toEqual([
      ['A', 'a2+b1', 105],
      ['A', 'a3+b1', 105],
      ['A', 'a3+b0', 95],
      ['A', 'a2+b0', 97],
      ['A', 'a1+b0', 100],
    ]);
    expect(driver.droppedRecords('expired')).toBe(1);
  });

  it('inner: before/after bound the window asymmetrically', async () => {
    const { builder, left, right } = streams();
    left.join(right, show, JoinWindows.ofTimeDifferenceAndGrace(0, 20).after(10)).to('out', str);
    const driver = await driverOf(builder.build());
    const l = driver.createInputTopic('left', s, s);
    const r = driver.createInputTopic('right', s, s);
    l.pipeInput('A', 'a', 100);
    r.pipeInput('A', 'r-1', 99); // before the left record: no join
    r.pipeInput('A', 'r0', 100);
    r.pipeInput('A', 'r1', 110);
    r.pipeInput('A', 'r2', 111);
    expect(read(driver)).toEqual([
      ['A', 'a+r0', 100],
      ['A', 'a+r1', 110],
    ]);
  });

  it('left: a record that never joins emits left+null at the first look after its window closed (time + after + grace)', async () => {
    const { builder, left, right } = streams();
    left.leftJoin(right, show, JoinWindows.ofTimeDifferenceAndGrace(10, 5)).to('out', str);
    const driver = await driverOf(builder.build());
    const l = driver.createInputTopic('left', s, s);
    const r = driver.createInputTopic('right', s, s);
    l.pipeInput('A', 'a1', 100);
    l.pipeInput('B', 'b1', 102);
    r.pipeInput('A', 'r1', 108);
    l.pipeInput('C', 'c1', 104); // out of order
    r.pipeInput('Z', 'z', 117); // looks (117 > 100 + 15), but 102 + 10 + 5 = 117: B's window is still open
    expect(read(driver)).toEqual([['A', 'a1+r1', 108]]);
    l.pipeInput('D', 'd1', 118); // B's window has closed, but the last look ended at c1: next look after 104 + 15
    expect(read(driver)).toEqual([]);
    r.pipeInput('C', 'r2', 114); // joins c1 at 104, exactly 10 before: C never emits c1+null
    l.pipeInput('E', 'e1', 140);
    expect(read(driver)).toEqual([
      ['C', 'c1+r2', 114],
      ['B', 'b1+null', 102],
      ['D', 'd1+null', 118],
    ]);
  });

  it('outer: both sides emit null-padded results after their windows close; matches remove them', async () => {
    const { builder, left, right } = streams();
    left.outerJoin(right, show, JoinWindows.ofTimeDifferenceWithNoGrace(5)).to('out', str);
    const driver = await driverOf(builder.build());
    const l = driver.createInputTopic('left', s, s);
    const r = driver.createInputTopic('right', s, s);
    l.pipeInput('A', 'a1', 10);
    r.pipeInput('B', 'b1', 12);
    r.pipeInput('A', 'r1', 14);
    l.pipeInput('C', 'c1', 20); // B's window (12 + 5) has closed
    l.pipeInput('A', 'a2', 30); // C's (20 + 5) has closed
    r.pipeInput('A', 'r2', 26); // out of order but not late (26 + 5 >= 30): joins a2
    r.pipeInput('D', 'd', 27);
    l.pipeInput('E', 'e', 40);
    expect(read(driver)).toEqual([
      ['A', 'a1+r1', 14],
      ['B', 'null+b1', 12],
      ['C', 'c1+null', 20],
      ['A', 'a2+r2', 30],
      ['D', 'null+d', 27],
    ]);
  });

  it('left: records of the same key and time all join a match, and none of them is emitted with null', async () => {
    const { builder, left, right } = streams();
    left.leftJoin(right, show, JoinWindows.ofTimeDifferenceWithNoGrace(5)).to('out', str);
    const driver = await driverOf(builder.build());
    const l = driver.createInputTopic('left', s, s);
    l.pipeInput('A', 'x1', 10);
    l.pipeInput('A', 'x2', 10);
    driver.createInputTopic('right', s, s).pipeInput('A', 'r', 12);
    l.pipeInput('B', 'y', 100);
    expect(read(driver)).toEqual([
      ['A', 'x1+r', 12],
      ['A', 'x2+r', 12],
    ]);
  });

  it('left: a null-key record joins with null at once; a null value is dropped', async () => {
    const { builder, left, right } = streams();
    left.leftJoin(right, show, JoinWindows.ofTimeDifferenceWithNoGrace(5)).to('out', str);
    const driver = await driverOf(builder.build());
    driver.createInputTopic('left', s, s).pipeInput(null, 'n', 1);
    driver.createInputTopic('left', s, s).pipeInput('A', null, 2);
    expect(read(driver)).toEqual([[null, 'n+null', 1]]);
    expect(driver.droppedRecords('null-key-or-value')).toBe(1);
  });

  it('keeps its stores under the given names: a left join its buffer of non-joined records, an inner join its times', () => {
    const { builder, left, right } = streams();
    left.leftJoin(right, show, JoinWindows.ofTimeDifferenceWithNoGrace(5), {
      name: 'clicks',
      storeName: 'clk',
    });
    expect(builder.build().storeNames()).toEqual(['clk-this-store', 'clk-other-store', 'clk-outer-store']);
    expect(builder.build().describe()).toContain(
      'Processor: clicks-this (stores: [clk-this-store, clk-other-store, clk-outer-store])',
    );
    const inner = streams();
    inner.left.join(inner.right, show, JoinWindows.ofTimeDifferenceWithNoGrace(5), { storeName: 'views' });
    // An inner join keeps the join's times (what each side's store holds) in a store of their own.
    expect(inner.builder.build().storeNames()).toEqual([
      'views-this-store',
      'views-other-store',
      'views-time-store',
    ]);
  });
});

describe('join arguments', () => {
  it('rejects invalid JoinWindows and joins the arguments do not describe, with INVALID_TOPOLOGY', () => {
    expect(codeOf(() => JoinWindows.ofTimeDifferenceAndGrace(-1, 0))).toBe('INVALID_TOPOLOGY');
    expect(codeOf(() => JoinWindows.ofTimeDifferenceWithNoGrace(5).after(1.5))).toBe('INVALID_TOPOLOGY');
    expect(codeOf(() => JoinWindows.ofTimeDifferenceWithNoGrace(5).before(-6))).toBe('INVALID_TOPOLOGY');
    expect(JoinWindows.ofTimeDifferenceWithNoGrace(5).before(-5).sizeMs).toBe(0);
    const builder = new StreamsBuilder();
    const a = builder.stream('a', str);
    const join = a.join as (...args: unknown[]) => unknown;
    expect(codeOf(() => join.call(a, builder.stream('b', str), show))).toBe('INVALID_TOPOLOGY');
    const outer = a.outerJoin as (...args: unknown[]) => unknown;
    expect(codeOf(() => outer.call(a, builder.table('t', str), show))).toBe('INVALID_TOPOLOGY');
    expect(codeOf(() => join.call(a, 'not a stream', show))).toBe('INVALID_TOPOLOGY');
  });
});

describe('stream-table join', () => {
  function build(kind: 'join' | 'leftJoin'): Topology {
    const builder = new StreamsBuilder();
    const table = builder.table('tbl', str, { caching: false });
    const events = builder.stream('events', str);
    const joiner = (v: string, t: string | null) => `${v}/${t}`;
    (kind === 'join' ? events.join(table, joiner) : events.leftJoin(table, joiner)).to('out', str);
    return builder.build();
  }

  async function run(kind: 'join' | 'leftJoin'): Promise<TopologyTestDriver> {
    const driver = await driverOf(build(kind));
    const e = driver.createInputTopic('events', s, s);
    const t = driver.createInputTopic('tbl', s, s);
    e.pipeInput('A', 'e1', 1);
    t.pipeInput('A', 't1', 2);
    e.pipeInput('A', 'e2', 3);
    t.pipeInput('A', 't2', 4); // a table update emits nothing
    e.pipeInput('A', 'e3', 5);
    t.pipeInput('A', null, 6);
    e.pipeInput('A', 'e4', 7);
    e.pipeInput(null, 'e5', 8);
    return driver;
  }

  it('inner: each record joins the current table value; misses and null keys are dropped', async () => {
    const driver = await run('join');
    expect(read(driver)).toEqual([
      ['A', 'e2/t1', 3],
      ['A', 'e3/t2', 5],
    ]);
    expect(driver.droppedRecords('null-key-or-value')).toBe(1);
  });

  it('left: misses (and null keys) join with null', async () => {
    const driver = await run('leftJoin');
    expect(read(driver)).toEqual([
      ['A', 'e1/null', 1],
      ['A', 'e2/t1', 3],
      ['A', 'e3/t2', 5],
      ['A', 'e4/null', 7],
      [null, 'e5/null', 8],
    ]);
  });
});

describe('table-table join', () => {
  /** The joined table's changes as `new|old`. */
  function capture(topology: Topology, table: KTable<string, string>): Topology {
    return topology
      .addProcessor(
        'capture',
        (): Processor<string, Change<string>, string, string> => {
          let forward: (r: {
            key: string;
            value: string;
            timestamp: number;
            headers: Record<string, Buffer>;
          }) => void;
          return {
            init: (ctx) => {
              forward = (r) => ctx.forward(r);
            },
            process: (r) => forward({ ...r, value: `${r.value.newValue}|${r.value.oldValue}` }),
          };
        },
        table.nodeName,
      )
      .addSink('capture-sink', { topic: 'out', keySerde: s, valueSerde: s }, 'capture');
  }

  async function run(kind: 'join' | 'leftJoin' | 'outerJoin'): Promise<Out[]> {
    const builder = new StreamsBuilder();
    const l = builder.table('L', str, { caching: false });
    const r = builder.table('R', str, { caching: false });
    const joined = (l[kind] as (o: typeof r, j: typeof show) => KTable<string, string>).call(l, r, show);
    const driver = await driverOf(capture(builder.build(), joined));
    const left = driver.createInputTopic('L', s, s);
    const right = driver.createInputTopic('R', s, s);
    left.pipeInput('A', 'a1', 1);
    right.pipeInput('A', 'b1', 2);
    left.pipeInput('A', 'a2', 3);
    right.pipeInput('A', 'b2', 4);
    left.pipeInput('A', null, 5);
    right.pipeInput('A', null, 6);
    right.pipeInput('B', 'x', 7);
    return read(driver);
  }

  it('inner: a change on either side emits while both have a value; a delete emits null', async () => {
    expect(await run('join')).toEqual([
      ['A', 'a1+b1|null', 2],
      ['A', 'a2+b1|a1+b1', 3],
      ['A', 'a2+b2|a2+b1', 4],
      ['A', 'null|a2+b2', 5],
    ]);
  });

  it('left: results exist while the left side has a value', async () => {
    expect(await run('leftJoin')).toEqual([
      ['A', 'a1+null|null', 1],
      ['A', 'a1+b1|a1+null', 2],
      ['A', 'a2+b1|a1+b1', 3],
      ['A', 'a2+b2|a2+b1', 4],
      ['A', 'null|a2+b2', 5],
    ]);
  });

  it('outer: results exist while either side has a value', async () => {
    expect(await run('outerJoin')).toEqual([
      ['A', 'a1+null|null', 1],
      ['A', 'a1+b1|a1+null', 2],
      ['A', 'a2+b1|a1+b1', 3],
      ['A', 'a2+b2|a2+b1', 4],
      ['A', 'null+b2|a2+b2', 5],
      ['A', 'null|null+b2', 6],
      ['B', 'null+x|null', 7],
    ]);
  });

  it('materialized: the result is kept in a store and can itself be joined', async () => {
    const builder = new StreamsBuilder();
    const l = builder.table('L', str, { caching: false });
    const r = builder.table('R', str, { caching: false });
    const joined = l.join(r, show, { name: 'lr' }, { name: 'lr-store', valueSerde: s, caching: false });
    builder
      .stream('events', str)
      .join(joined, (e, j) => `${e}@${j}`)
      .to('out', str);
    const driver = await driverOf(builder.build());
    driver.createInputTopic('L', s, s).pipeInput('A', 'a', 1);
    driver.createInputTopic('R', s, s).pipeInput('A', 'b', 2);
    driver.createInputTopic('events', s, s).pipeInput('A', 'e', 3);
    expect(read(driver)).toEqual([['A', 'e@a+b', 3]]);
    expect(driver.getStateStore<{ get(k: string): string | undefined }>('lr-store').get('A')).toBe('a+b');
  });

  it('an unmaterialized join result is read through both tables', async () => {
    const builder = new StreamsBuilder();
    const l = builder.table('L', str, { caching: false });
    const r = builder.table('R', str, { caching: false });
    builder
      .stream('events', str)
      .leftJoin(l.outerJoin(r, show), (e, j) => `${e}@${j}`)
      .to('out', str);
    const driver = await driverOf(builder.build());
    driver.createInputTopic('R', s, s).pipeInput('A', 'b', 1);
    driver.createInputTopic('events', s, s).pipeInput('A', 'e', 2);
    driver.createInputTopic('events', s, s).pipeInput('B', 'f', 3);
    expect(read(driver)).toEqual([
      ['A', 'e@null+b', 2],
      ['B', 'f@null', 3],
    ]);
  });
});

describe('joins and partitioning', () => {
  function rekeyThenJoin(): Topology {
    const builder = new StreamsBuilder();
    const customers = builder.table('customers', str, { caching: false });
    const regions = builder.table('regions', str, { caching: false });
    // orders: key = order id, value = customer id; rekeyed by customer and used by two joins.
    const byCustomer = builder.stream('orders', str).selectKey((_, customer) => customer);
    byCustomer.join(customers, (_, name) => name, { name: 'with-name' }).to('names', str);
    byCustomer
      .leftJoin(regions, (_, region) => region ?? 'unknown', { name: 'with-region' })
      .to('regions-out', str);
    return builder.build();
  }

  it('a rekeyed stream is repartitioned once, however many joins read it, and joins on its new key', async () => {
    const topology = rekeyThenJoin();
    expect(topology.describe().match(/Source: [^ ]+ \(topics: \[[^\]]*-repartition\]\)/g)).toHaveLength(1);
    const driver = await driverOf(topology);
    driver.createInputTopic('customers', s, s).pipeInput('c1', 'Ann', 1);
    driver.createInputTopic('regions', s, s).pipeInput('c2', 'north', 2);
    const orders = driver.createInputTopic('orders', s, s);
    orders.pipeInput('o1', 'c1', 3);
    orders.pipeInput('o2', 'c2', 4);
    expect(read(driver, 'names')).toEqual([['c1', 'Ann', 3]]);
    expect(read(driver, 'regions-out')).toEqual([
      ['c1', 'unknown', 3],
      ['c2', 'north', 4],
    ]);
  });

  it('rekeyed streams joined with each other go through one repartition topic per side', async () => {
    const builder = new StreamsBuilder();
    const byUser = builder.stream('clicks', str).selectKey((_, user) => user);
    const views = builder.stream('views', str).selectKey((_, user) => user);
    const windows = JoinWindows.ofTimeDifferenceWithNoGrace(10);
    byUser.join(views, show, windows, { name: 'cv', keySerde: s }).to('out', str);
    byUser.join(views, (a, b) => `${b}+${a}`, windows, { name: 'vc' }).to('out2', str);
    const topology = builder.build();
    expect(topology.describe().match(/Source: [^ ]+ \(topics: \[[^\]]*-repartition\]\)/g)).toEqual([
      'Source: cv-left-source (topics: [cv-left-repartition])',
      'Source: cv-right-source (topics: [cv-right-repartition])',
    ]);
    const driver = await driverOf(topology);
    driver.createInputTopic('clicks', s, s).pipeInput('c1', 'ann', 1);
    driver.createInputTopic('views', s, s).pipeInput('v1', 'ann', 5);
    expect(read(driver)).toEqual([['ann', 'ann+ann', 5]]);
    expect(read(driver, 'out2')).toEqual([['ann', 'ann+ann', 5]]);
  });

  const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

  it("a join's repartition topic takes the partition count of the other side's source topics", () => {
    const sealed = rekeyThenJoin().seal('app');
    const layout = resolveTopicLayout(sealed, counts({ orders: 2, customers: 5, regions: 5 }));
    expect(layout.repartitionTopics.map((t) => t.partitions)).toEqual([5]);
    const joinSub = sealed.subtopologyOfTopic.get('customers')!;
    expect(layout.partitions.get(joinSub)).toBe(5);
  });

  it('two rekeyed sides of a join get one partition count: the largest of their writers', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('clicks', str)
      .selectKey((_, user) => user)
      .join(
        builder.stream('views', str).selectKey((_, user) => user),
        show,
        JoinWindows.ofTimeDifferenceWithNoGrace(10),
        { name: 'cv', keySerde: s },
      )
      .to('out', str);
    const layout = resolveTopicLayout(builder.build().seal('app'), counts({ clicks: 2, views: 3 }));
    expect(layout.repartitionTopics.map((t) => [t.topic, t.partitions])).toEqual([
      ['app-cv-left-repartition', 3],
      ['app-cv-right-repartition', 3],
    ]);
  });

  it('joined source topics with different partition counts fail with PARTITION_COUNT_MISMATCH', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('a', str)
      .join(builder.stream('b', str), show, JoinWindows.ofTimeDifferenceWithNoGrace(5))
      .to('out', str);
    const sealed = builder.build().seal('app');
    expect(codeOf(() => resolveTopicLayout(sealed, counts({ a: 2, b: 3 })))).toBe('PARTITION_COUNT_MISMATCH');
    expect(codeOf(() => resolveTopicLayout(sealed, counts({ a: 3, b: 3 })))).toBeUndefined();
  });

  it('both inputs of every join are processed by one subtopology', () => {
    const builder = new StreamsBuilder();
    const t = builder.table('t', str);
    builder.stream('a', str).join(t, show).to('out', str);
    builder
      .stream('b', str)
      .outerJoin(builder.stream('c', str), show, JoinWindows.ofTimeDifferenceWithNoGrace(5))
      .to('out2', str);
    const sealed = builder.build().seal('app');
    expect(sealed.subtopologyOfTopic.get('a')).toBe(sealed.subtopologyOfTopic.get('t'));
    expect(sealed.subtopologyOfTopic.get('b')).toBe(sealed.subtopologyOfTopic.get('c'));
  });
});
