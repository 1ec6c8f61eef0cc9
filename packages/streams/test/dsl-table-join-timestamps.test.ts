// The timestamps tables keep and joins forward, in the test driver: each expected timestamp is worked out by hand
// from Kafka Streams' rules (a table–table or foreign-key join result takes the later of its two sides' timestamps,
// a stream–table join result the stream record's).
import type { KeyValueStore } from '@eddy/state';
import { describe, expect, it } from 'vitest';
import { type KTable, type ProcessorContext, StreamsBuilder } from '../src/index.js';
import { closeDriversAfterEach, driverOf, type Out, readOut, s, str } from './dsl-driver.js';

const uncached = { caching: false };

closeDriversAfterEach();

const read = readOut;

const show = (v: string | null, w: string | null) => `${v}+${w}`;

function tables(b: StreamsBuilder): { left: KTable<string, string>; right: KTable<string, string> } {
  return {
    left: b.table('left', str, { ...uncached, name: 'left-store' }),
    right: b.table('right', str, { ...uncached, name: 'right-store' }),
  };
}

/** A driver of what `join` builds on the tables `left` and `right`, with their input topics. */
async function joinDriver(join: (left: KTable<string, string>, right: KTable<string, string>) => void) {
  const b = new StreamsBuilder();
  const { left, right } = tables(b);
  join(left, right);
  const driver = await driverOf(b.build());
  return { driver, l: driver.createInputTopic('left', s, s), r: driver.createInputTopic('right', s, s) };
}

describe('table–table join timestamps', () => {
  it('inner: a result takes the later of the two sides’ timestamps, whichever side changed', async () => {
    const { driver, l, r } = await joinDriver((left, right) =>
      left.join(right, show).toStream().to('out', str),
    );
    l.pipeInput('A', 'a1', 100);
    r.pipeInput('A', 'b1', 300);
    l.pipeInput('A', 'a2', 150); // older than the right value it joins
    r.pipeInput('A', 'b2', 120); // older than the left value it joins
    l.pipeInput('A', null, 110); // the deletion too
    expect(read(driver)).toEqual([
      ['A', 'a1+b1', 300],
      ['A', 'a2+b1', 300],
      ['A', 'a2+b2', 150],
      ['A', null, 120],
    ]);
  });

  it('left and outer: a side with no value gives the record’s own timestamp', async () => {
    const { driver, l, r } = await joinDriver((left, right) => {
      left.leftJoin(right, show).toStream().to('left-out', str);
      left.outerJoin(right, show).toStream().to('outer-out', str);
    });
    r.pipeInput('A', 'b1', 500);
    l.pipeInput('A', 'a1', 100);
    l.pipeInput('B', 'x1', 200);
    r.pipeInput('A', null, 50);
    expect(read(driver, 'left-out')).toEqual([
      ['A', 'a1+b1', 500],
      ['B', 'x1+null', 200],
      ['A', 'a1+null', 100],
    ]);
    expect(read(driver, 'outer-out')).toEqual([
      ['A', 'null+b1', 500],
      ['A', 'a1+b1', 500],
      ['B', 'x1+null', 200],
      ['A', 'a1+null', 100],
    ]);
  });

  it('reads timestamps through unmaterialized transformations and joins, and through a materialized join’s store', async () => {
    const b = new StreamsBuilder();
    const { left, right } = tables(b);
    const third = b.table('third', str, { ...uncached, name: 'third-store' });
    const mapped = right.mapValues((v) => v.toUpperCase()).filter((_k, v) => v !== 'SKIP');
    // Not materialized: read through both tables' stores.
    left.join(mapped, show).join(third, show).toStream().to('computed', str);
    // Materialized: read from its own store.
    left
      .join(mapped, show, undefined, { name: 'joined-store', valueSerde: s, ...uncached })
      .join(third, show)
      .toStream()
      .to('stored', str);
    const driver = await driverOf(b.build());
    driver.createInputTopic('left', s, s).pipeInput('A', 'a', 100);
    driver.createInputTopic('right', s, s).pipeInput('A', 'b', 400);
    const t = driver.createInputTopic('third', s, s);
    t.pipeInput('A', 'c1', 200); // older than the joined value (400)
    t.pipeInput('A', 'c2', 700);
    const expected: Out[] = [
      ['A', 'a+B+c1', 400],
      ['A', 'a+B+c2', 700],
    ];
    expect(read(driver, 'computed')).toEqual(expected);
    expect(read(driver, 'stored')).toEqual(expected);
    // Users read the join's store with plain values.
    expect(driver.getStateStore<KeyValueStore<string, string>>('joined-store').get('A')).toBe('a+B');
  });
});

describe('stream–table join timestamps', () => {
  it('keeps the stream record’s timestamp, even when the table value is newer', async () => {
    const b = new StreamsBuilder();
    const table = b.table('table', str, uncached);
    b.stream('stream', str).join(table, show).to('out', str);
    const driver = await driverOf(b.build());
    driver.createInputTopic('table', s, s).pipeInput('A', 't', 900);
    driver.createInputTopic('stream', s, s).pipeInput('A', 's', 100);
    expect(read(driver)).toEqual([['A', 's+t', 100]]);
  });
});

describe('foreign-key join timestamps', () => {
  it('a result takes the later of the left row’s and the right row’s timestamps', async () => {
    const b = new StreamsBuilder();
    const orders = b.table('orders', str, uncached);
    const customers = b.table('customers', str, uncached);
    orders
      .join(
        customers,
        (customer) => customer,
        (customer, name) => `${customer}:${name}`,
        { materialized: { valueSerde: s, ...uncached } },
      )
      .toStream()
      .to('out', str);
    const driver = await driverOf(b.build());
    const o = driver.createInputTopic('orders', s, s);
    const c = driver.createInputTopic('customers', s, s);
    c.pipeInput('c1', 'ann', 300);
    o.pipeInput('o1', 'c1', 100); // subscribes at 100, answered with a right value of 300
    c.pipeInput('c1', 'bob', 50); // a right update older than the subscription
    c.pipeInput('c1', 'cat', 600);
    expect(read(driver)).toEqual([
      ['o1', 'c1:ann', 300],
      ['o1', 'c1:bob', 100],
      ['o1', 'c1:cat', 600],
    ]);
  });
});

describe('table stores', () => {
  it('a table of a topic and a materialized transformation keep each value with its record’s timestamp, shown to users as plain values', async () => {
    const b = new StreamsBuilder();
    const source = b.table('in', str, { ...uncached, name: 'source-store' });
    const upper = source.mapValues((v) => v.toUpperCase(), {
      name: 'upper-store',
      valueSerde: s,
      ...uncached,
    });
    const lookups = b.table('lookups', str, uncached);
    // A join reads each store's timestamp: the later one (the store's) shows it was kept.
    lookups.join(source, show).toStream().to('from-source', str);
    lookups.join(upper, show).toStream().to('from-upper', str);
    const driver = await driverOf(b.build());
    driver.createInputTopic('in', s, s).pipeInput('A', 'v', 800);
    driver.createInputTopic('lookups', s, s).pipeInput('A', '?', 10);
    expect(read(driver, 'from-source')).toEqual([['A', '?+v', 800]]);
    expect(read(driver, 'from-upper')).toEqual([['A', '?+V', 800]]);
    expect(driver.getStateStore<KeyValueStore<string, string>>('source-store').get('A')).toBe('v');
    expect(driver.getStateStore<KeyValueStore<string, string>>('upper-store').get('A')).toBe('V');
  });

  it('a global table keeps each value with its record’s timestamp, shows plain values, and a stream joined with it keeps its own timestamps', async () => {
    const b = new StreamsBuilder();
    const products = b.globalTable('products', str, { name: 'products' });
    const orders = b.stream('orders', str);
    orders
      .join(
        products,
        (_k, v) => v,
        (order, product) => `${order}:${product}`,
      )
      .to('out', str);
    const getter = products.valueGetter;
    orders
      .process<string, string>(() => {
        let ctx: ProcessorContext<string, string>;
        let get: (key: string) => { value: string; timestamp: number } | undefined;
        return {
          init(c) {
            ctx = c;
            get = getter.create(c);
          },
          process(r) {
            const found = get(r.value ?? '');
            ctx.forward({ ...r, key: r.key ?? '', value: `${found?.value}@${found?.timestamp}` });
          },
        };
      })
      .to('kept', str);
    const driver = await driverOf(b.build());
    driver.createInputTopic('products', s, s).pipeInput('p1', 'pen', 900);
    driver.createInputTopic('orders', s, s).pipeInput('o1', 'p1', 100);
    expect(read(driver)).toEqual([['o1', 'p1:pen', 100]]);
    expect(read(driver, 'kept')).toEqual([['o1', 'pen@900', 100]]);
    expect(driver.getStateStore<KeyValueStore<string, string>>('products').get('p1')).toBe('pen');
  });
});
