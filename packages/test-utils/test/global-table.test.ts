// Global tables in the test driver: records piped into a global topic update the global store at once, and streams
// join it by a key they select, keeping their own key and partition (no repartition topic).
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import { type Processor, type ProcessorContext, Serdes, StreamsBuilder, Topology } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../src/index.js';

const s = Serdes.string();

interface Order {
  product: string | null;
  qty: number;
}

/** Orders (keyed by order id) joined with products (a global table keyed by product id). */
function ordersWithProducts(left: boolean): Topology {
  const b = new StreamsBuilder();
  const products = b.globalTable('products', { keySerde: s, valueSerde: s }, { name: 'products' });
  const orders = b.stream('orders', { keySerde: s, valueSerde: Serdes.json<Order>() });
  const joined = left
    ? orders.leftJoin(
        products,
        (_id, o) => o.product,
        (o, name) => `${o.qty} x ${name ?? 'unknown'}`,
      )
    : orders.join(
        products,
        (_id, o) => o.product,
        (o, name) => `${o.qty} x ${name}`,
      );
  joined.to('out', { keySerde: s, valueSerde: s });
  return b.build();
}

describe('a stream joined with a global table in the test driver', () => {
  it('inner join: looks up the selected key, keeps the stream key, drops misses, null selected keys and null values', async () => {
    await using driver = await TopologyTestDriver.create(ordersWithProducts(false));
    const products = driver.createInputTopic('products', s, s);
    const orders = driver.createInputTopic('orders', s, Serdes.json<Order>());
    const out = driver.createOutputTopic('out', s, s);
    products.pipeInput('p1', 'apple');
    products.pipeInput('p2', 'pear');
    orders.pipeInput('o1', { product: 'p1', qty: 3 }, 10);
    orders.pipeInput('o2', { product: 'p9', qty: 1 }, 11);
    orders.pipeInput('o3', { product: null, qty: 1 }, 12);
    orders.pipeRawInput(Buffer.from('o4'), null, 13);
    orders.pipeInput('o5', { product: 'p2', qty: 2 }, 14);
    expect(out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['o1', '3 x apple', 10],
      ['o5', '2 x pear', 14],
    ]);
    expect(driver.droppedRecords('null-value')).toBe(1);
    // The join reads the global store in place: no repartition topic, nothing but the output was written.
    expect(driver.producedTopicNames()).toEqual(['out']);
  });

  it('left join: a miss or a null selected key joins with null; a null value is still dropped', async () => {
    await using driver = await TopologyTestDriver.create(ordersWithProducts(true));
    driver.createInputTopic('products', s, s).pipeInput('p1', 'apple');
    const orders = driver.createInputTopic('orders', s, Serdes.json<Order>());
    orders.pipeInput('o1', { product: 'p1', qty: 1 });
    orders.pipeInput('o2', { product: 'p9', qty: 2 });
    orders.pipeInput('o3', { product: null, qty: 3 });
    orders.pipeRawInput(Buffer.from('o4'), null);
    expect(driver.createOutputTopic('out', s, s).readKeyValuesToList()).toEqual([
      ['o1', '1 x apple'],
      ['o2', '2 x unknown'],
      ['o3', '3 x unknown'],
    ]);
    expect(driver.droppedRecords('null-value')).toBe(1);
  });

  it('applies global updates and deletions before the stream records piped after them', async () => {
    await using driver = await TopologyTestDriver.create(ordersWithProducts(true));
    const products = driver.createInputTopic('products', s, s);
    const orders = driver.createInputTopic('orders', s, Serdes.json<Order>());
    const out = driver.createOutputTopic('out', s, s);
    const store = driver.getStateStore<KeyValueStore<string, string>>('products');
    orders.pipeInput('o1', { product: 'p1', qty: 1 });
    products.pipeInput('p1', 'apple');
    expect(store.get('p1')).toBe('apple');
    orders.pipeInput('o2', { product: 'p1', qty: 1 });
    products.pipeInput('p1', 'green apple');
    orders.pipeInput('o3', { product: 'p1', qty: 1 });
    products.pipeRawInput(Buffer.from('p1'), null);
    expect(store.get('p1')).toBeUndefined();
    orders.pipeInput('o4', { product: 'p1', qty: 1 });
    expect(out.readValuesToList()).toEqual(['1 x unknown', '1 x apple', '1 x green apple', '1 x unknown']);
  });

  it('joins after a key change without repartitioning, and the result keeps the changed key', async () => {
    const b = new StreamsBuilder();
    const products = b.globalTable('products', { keySerde: s, valueSerde: s });
    b.stream('orders', { keySerde: s, valueSerde: s })
      .selectKey((_id, product) => `by-${product}`)
      .join(
        products,
        (_key, product) => product,
        (product, name) => `${product}=${name}`,
      )
      .to('out', { keySerde: s, valueSerde: s });
    const topology = b.build();
    expect(topology.describe()).not.toContain('repartition');
    await using driver = await TopologyTestDriver.create(topology);
    driver.createInputTopic('products', s, s).pipeInput('p1', 'apple');
    driver.createInputTopic('orders', s, s).pipeInput('o1', 'p1');
    expect(driver.createOutputTopic('out', s, s).readKeyValuesToList()).toEqual([['by-p1', 'p1=apple']]);
    expect(driver.producedTopicNames()).toEqual(['out']);
  });
});

describe('global stores in the Processor API', () => {
  /** A global store of product names kept by a custom processor, read by a processor no store is connected to. */
  function lookupTopology(): Topology {
    return new Topology()
      .addGlobalStore(
        keyValueStore({ name: 'names', keySerde: s, valueSerde: s, logging: false }),
        'names-source',
        { topic: 'names', keySerde: s, valueSerde: s },
        'names-update',
        (): Processor<string, string, never, never> => {
          let store: KeyValueStore<string, string>;
          return {
            init: (ctx) => {
              store = ctx.getStateStore('names');
            },
            process: (r) => store.put(r.key, r.value.toUpperCase()),
          };
        },
      )
      .addSource('in', { topics: ['in'], keySerde: s, valueSerde: s })
      .addProcessor(
        'lookup',
        (): Processor<string, string> => {
          let ctx: ProcessorContext<string, string>;
          let names: KeyValueStore<string, string>;
          return {
            init: (c) => {
              ctx = c;
              names = c.getStateStore('names');
            },
            process: (r) => ctx.forward({ ...r, value: names.get(r.value) ?? '?' }),
          };
        },
        'in',
      )
      .addSink('out', { topic: 'out', keySerde: s, valueSerde: s }, 'lookup');
  }

  it('runs the store processor on each record of the global topic; every processor may read the store', async () => {
    await using driver = await TopologyTestDriver.create(lookupTopology());
    driver.createInputTopic('names', s, s).pipeInput('a', 'ann');
    const input = driver.createInputTopic('in', s, s);
    input.pipeInput('k1', 'a');
    input.pipeInput('k2', 'b');
    expect(driver.createOutputTopic('out', s, s).readValuesToList()).toEqual(['ANN', '?']);
  });

  it('describes the global store apart from the subtopologies', () => {
    expect(lookupTopology().describe()).toBe(
      [
        'Topology',
        '  Sub-topology: 0',
        '    Source: in (topics: [in]) --> lookup',
        '    Processor: lookup --> out <-- in',
        '    Sink: out (topic: out) <-- lookup',
        '  Global store: names (will not generate tasks)',
        '    Source: names-source (topics: [names]) --> names-update',
        '    Processor: names-update (stores: [names]) <-- names-source',
        '',
      ].join('\n'),
    );
  });

  it('refuses a logged global store, a topic read twice and a name used twice', () => {
    const update = (): Processor<string, string, never, never> => ({ process() {} });
    const source = { topic: 'names', keySerde: s, valueSerde: s };
    expect(() =>
      new Topology().addGlobalStore(
        keyValueStore({ name: 'g', keySerde: s, valueSerde: s }),
        'src',
        source,
        'upd',
        update,
      ),
    ).toThrow(
      expect.objectContaining({ code: 'INVALID_TOPOLOGY', message: expect.stringContaining('logged') }),
    );
    const unlogged = keyValueStore({ name: 'g', keySerde: s, valueSerde: s, logging: false });
    expect(() =>
      new Topology()
        .addSource('in', { topics: ['names'], keySerde: s, valueSerde: s })
        .addGlobalStore(unlogged, 'src', source, 'upd', update),
    ).toThrow(expect.objectContaining({ code: 'INVALID_TOPOLOGY' }));
    expect(() =>
      new Topology()
        .addGlobalStore(unlogged, 'src', source, 'upd', update)
        .addSource('in', { topics: ['names'], keySerde: s, valueSerde: s }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_TOPOLOGY' }));
    expect(() =>
      new Topology()
        .addGlobalStore(unlogged, 'src', source, 'upd', update)
        .addSource('src', { topics: ['other'], keySerde: s, valueSerde: s }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_TOPOLOGY' }));
    expect(() =>
      new Topology()
        .addGlobalStore(unlogged, 'src', source, 'upd', update)
        .addStateStore(keyValueStore({ name: 'g', keySerde: s, valueSerde: s })),
    ).toThrow(expect.objectContaining({ code: 'INVALID_TOPOLOGY' }));
  });
});
