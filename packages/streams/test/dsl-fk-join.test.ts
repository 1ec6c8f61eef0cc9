// Table–table foreign-key joins in the test driver: expected outputs worked out by hand from Kafka Streams' rules.
import type { KeyValueStore } from '@eddy/state';
import { afterEach, describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../../test-utils/src/index.js';
import { type KTable, Serdes, StreamsBuilder } from '../src/index.js';
import { valueHash } from '../src/topology/dsl/foreign-key-join/messages.js';
import { SubscriptionStore } from '../src/topology/dsl/foreign-key-join/subscription-store.js';
import { codeOf } from './error-codes.js';

interface Order {
  item: string;
  customer: string | null;
}

const str = Serdes.string();
const orderSerde = Serdes.json<Order>();

function build(leftJoin: boolean, name?: string) {
  const b = new StreamsBuilder();
  const orders = b.table('orders', { keySerde: str, valueSerde: orderSerde }, { caching: false });
  const customers = b.table('customers', { keySerde: str, valueSerde: str }, { caching: false });
  const options = {
    ...(name === undefined ? {} : { name }),
    materialized: { valueSerde: str, caching: false },
  };
  const joined: KTable<string, string> = leftJoin
    ? orders.leftJoin(
        customers,
        (o) => o.customer,
        (o, c) => `${o.item}/${c ?? '-'}`,
        options,
      )
    : orders.join(
        customers,
        (o) => o.customer,
        (o, c) => `${o.item}/${c}`,
        options,
      );
  joined.toStream().to('out', { keySerde: str, valueSerde: str });
  return b.build();
}

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

async function start(leftJoin: boolean) {
  driver = await TopologyTestDriver.create(build(leftJoin));
  const d = driver;
  const orders = d.createInputTopic('orders', str, orderSerde);
  const customers = d.createInputTopic('customers', str, str);
  const out = d.createOutputTopic('out', str, str);
  return {
    driver: d,
    order: (key: string, customer: string | null, item = key) => orders.pipeInput(key, { item, customer }),
    deleteOrder: (key: string) => orders.pipeInput(key, null),
    customer: (key: string, name: string | null) => customers.pipeInput(key, name),
    out: () => out.readKeyValuesToList(),
  };
}

describe('KTable.join on a foreign key (inner)', () => {
  it('joins a left row that arrives before its right row once the right row arrives', async () => {
    const t = await start(false);
    t.order('o1', 'c1', 'apple');
    expect(t.out()).toEqual([]);
    t.customer('c1', 'Alice');
    expect(t.out()).toEqual([['o1', 'apple/Alice']]);
  });

  it('joins a left row that arrives after its right row at once', async () => {
    const t = await start(false);
    t.customer('c1', 'Alice');
    expect(t.out()).toEqual([]);
    t.order('o1', 'c1', 'apple');
    expect(t.out()).toEqual([['o1', 'apple/Alice']]);
  });

  it('replaces the result when the foreign key changes, and deletes it when the new key has no match', async () => {
    const t = await start(false);
    t.customer('c1', 'Alice');
    t.customer('c2', 'Bob');
    t.order('o1', 'c1', 'apple');
    t.order('o1', 'c2', 'apple');
    t.order('o1', 'c3', 'apple');
    expect(t.out()).toEqual([
      ['o1', 'apple/Alice'],
      ['o1', 'apple/Bob'],
      ['o1', null],
    ]);
    // Unsubscribed from c1 and c2: their changes no longer reach o1; c3 arriving joins it.
    t.customer('c1', 'Alicia');
    t.customer('c2', 'Bobby');
    expect(t.out()).toEqual([]);
    t.customer('c3', 'Carol');
    expect(t.out()).toEqual([['o1', 'apple/Carol']]);
  });

  it('updates the result when the left value changes but keeps its foreign key', async () => {
    const t = await start(false);
    t.customer('c1', 'Alice');
    t.order('o1', 'c1', 'apple');
    t.order('o1', 'c1', 'pear');
    expect(t.out()).toEqual([
      ['o1', 'apple/Alice'],
      ['o1', 'pear/Alice'],
    ]);
  });

  it('sends a right value change to every left row that names it, in key order', async () => {
    const t = await start(false);
    t.customer('c1', 'Alice');
    t.customer('c2', 'Bob');
    t.order('o3', 'c1');
    t.order('o1', 'c1');
    t.order('o2', 'c2');
    t.order('o4', 'c1');
    t.out();
    t.customer('c1', 'Alicia');
    expect(t.out()).toEqual([
      ['o1', 'o1/Alicia'],
      ['o3', 'o3/Alicia'],
      ['o4', 'o4/Alicia'],
    ]);
  });

  it('deletes the results of every left row when their right row is deleted', async () => {
    const t = await start(false);
    t.customer('c1', 'Alice');
    t.order('o1', 'c1');
    t.order('o2', 'c1');
    t.out();
    t.customer('c1', null);
    expect(t.out()).toEqual([
      ['o1', null],
      ['o2', null],
    ]);
    // The subscriptions stay: the right row coming back joins them again.
    t.customer('c1', 'Alice');
    expect(t.out()).toEqual([
      ['o1', 'o1/Alice'],
      ['o2', 'o2/Alice'],
    ]);
  });

  it('sends a tombstone downstream when a joined left row is deleted, and nothing for one that never joined', async () => {
    const t = await start(false);
    t.customer('c1', 'Alice');
    t.order('o1', 'c1');
    t.order('o2', 'c9');
    t.out();
    t.deleteOrder('o1');
    t.deleteOrder('o2');
    expect(t.out()).toEqual([['o1', null]]);
    t.customer('c1', 'Alicia');
    expect(t.out()).toEqual([]);
  });

  it('skips a row without a foreign key, and deletes the result of a row that loses it', async () => {
    const t = await start(false);
    t.customer('c1', 'Alice');
    t.order('o1', null);
    expect(t.out()).toEqual([]);
    expect(t.driver.droppedRecords('null-foreign-key')).toBe(1);
    t.order('o2', 'c1');
    t.order('o2', null);
    expect(t.out()).toEqual([
      ['o2', 'o2/Alice'],
      ['o2', null],
    ]);
    // A row whose key was null joins once it names a right row.
    t.order('o1', 'c1');
    expect(t.out()).toEqual([['o1', 'o1/Alice']]);
  });
});

describe('KTable.leftJoin on a foreign key', () => {
  it('gives every left row a result, joined once its right row arrives', async () => {
    const t = await start(true);
    t.order('o1', 'c1', 'apple');
    expect(t.out()).toEqual([['o1', 'apple/-']]);
    t.customer('c1', 'Alice');
    expect(t.out()).toEqual([['o1', 'apple/Alice']]);
  });

  it('joins with null when the foreign key changes to one without a match', async () => {
    const t = await start(true);
    t.customer('c1', 'Alice');
    t.customer('c2', 'Bob');
    t.order('o1', 'c1', 'apple');
    t.order('o1', 'c2', 'apple');
    t.order('o1', 'c3', 'apple');
    expect(t.out()).toEqual([
      ['o1', 'apple/Alice'],
      ['o1', 'apple/Bob'],
      ['o1', 'apple/-'],
    ]);
    t.customer('c2', 'Bobby');
    expect(t.out()).toEqual([]);
  });

  it('fans a right change out to its left rows, and joins them with null when it is deleted', async () => {
    const t = await start(true);
    t.customer('c1', 'Alice');
    t.order('o2', 'c1');
    t.order('o1', 'c1');
    t.out();
    t.customer('c1', 'Alicia');
    t.customer('c1', null);
    expect(t.out()).toEqual([
      ['o1', 'o1/Alicia'],
      ['o2', 'o2/Alicia'],
      ['o1', 'o1/-'],
      ['o2', 'o2/-'],
    ]);
  });

  it('joins a row without a foreign key with null, and deletes the result of a deleted row', async () => {
    const t = await start(true);
    t.customer('c1', 'Alice');
    t.order('o1', null);
    t.order('o2', 'c1');
    t.order('o2', null);
    t.deleteOrder('o1');
    t.deleteOrder('o2');
    expect(t.out()).toEqual([
      ['o1', 'o1/-'],
      ['o2', 'o2/Alice'],
      ['o2', 'o2/-'],
      ['o1', null],
      ['o2', null],
    ]);
    t.customer('c1', 'Alicia');
    expect(t.out()).toEqual([]);
  });
});

describe("foreign-key join with the tables' defaults (caching on)", () => {
  it('joins, and keeps the result in a store named after the join', async () => {
    const b = new StreamsBuilder();
    const orders = b.table('orders', { keySerde: str, valueSerde: orderSerde });
    const customers = b.table('customers', { keySerde: str, valueSerde: str });
    orders
      .join(
        customers,
        (o) => o.customer,
        (o, c) => `${o.item}/${c}`,
        {
          name: 'orders-by-customer',
          materialized: { valueSerde: str },
        },
      )
      .toStream()
      .to('out', { keySerde: str, valueSerde: str });
    driver = await TopologyTestDriver.create(b.build());
    const orderTopic = driver.createInputTopic('orders', str, orderSerde);
    const customerTopic = driver.createInputTopic('customers', str, str);
    const out = driver.createOutputTopic('out', str, str);
    orderTopic.pipeInput('o1', { item: 'apple', customer: 'c1' });
    customerTopic.pipeInput('c1', 'Alice');
    customerTopic.pipeInput('c1', 'Alicia');
    expect(out.readKeyValuesToList()).toEqual([
      ['o1', 'apple/Alice'],
      ['o1', 'apple/Alicia'],
    ]);
    const store = driver.getStateStore<KeyValueStore<string, string>>('orders-by-customer-store');
    expect(store.get('o1')).toBe('apple/Alicia');
  });

  it('refuses to join a table with itself', () => {
    const b = new StreamsBuilder();
    const employees = b.table('employees', { keySerde: str, valueSerde: orderSerde });
    expect(
      codeOf(() =>
        employees.join(
          employees,
          (e) => e.customer,
          (e) => e.item,
          {
            materialized: { valueSerde: str },
          },
        ),
      ),
    ).toBe('INVALID_TOPOLOGY');
  });

  it('needs a value serde for its result', () => {
    const b = new StreamsBuilder();
    const orders = b.table('orders', { keySerde: str, valueSerde: orderSerde });
    const customers = b.table('customers', { keySerde: str, valueSerde: str });
    expect(
      codeOf(() =>
        orders.join(
          customers,
          (o) => o.customer,
          (o) => o.item,
        ),
      ),
    ).toBe('INVALID_TOPOLOGY');
  });
});

describe('the subscription store', () => {
  it('splits a foreign key with many subscribers into sorted pages, and drops empty ones', async () => {
    driver = await TopologyTestDriver.create(build(false, 'by-customer'));
    const store = new SubscriptionStore(
      driver.getStateStore<KeyValueStore<Buffer, Buffer>>('by-customer-subscription-store'),
      3,
    );
    const fk = Buffer.from('c1');
    const keys = ['k05', 'k01', 'k09', 'k03', 'k07', 'k02', 'k08', 'k00', 'k06', 'k04'];
    for (const [i, k] of keys.entries()) store.subscribe(fk, Buffer.from(k), null, i, i);
    const subscribers = () => store.subscribers(fk).map((s) => s.primaryKey.toString());
    expect(subscribers()).toEqual([...keys].sort());
    expect(store.pageCount(fk)).toBeGreaterThanOrEqual(4);
    expect(store.subscribers(fk).find((s) => s.primaryKey.toString() === 'k09')?.partition).toBe(2);
    for (const k of ['k00', 'k01', 'k02', 'k05']) store.unsubscribe(fk, Buffer.from(k));
    store.unsubscribe(fk, Buffer.from('k-unknown'));
    expect(subscribers()).toEqual(['k03', 'k04', 'k06', 'k07', 'k08', 'k09']);
    store.subscribe(fk, Buffer.from('k00'), null, 0, 0);
    expect(subscribers()).toEqual(['k00', 'k03', 'k04', 'k06', 'k07', 'k08', 'k09']);
    for (const k of subscribers()) store.unsubscribe(fk, Buffer.from(k));
    expect(subscribers()).toEqual([]);
    expect(store.pageCount(fk)).toBe(0);
  });
  it('holds each left row under the foreign key it names now, in key order', async () => {
    driver = await TopologyTestDriver.create(build(false, 'by-customer'));
    const orders = driver.createInputTopic('orders', str, orderSerde);
    const store = new SubscriptionStore(
      driver.getStateStore<KeyValueStore<Buffer, Buffer>>('by-customer-subscription-store'),
    );
    const subscribers = (fk: string) =>
      store.subscribers(Buffer.from(fk)).map((s) => s.primaryKey.toString());
    for (const [key, customer] of [
      ['o3', 'c1'],
      ['o1', 'c1'],
      ['o4', 'c1'],
      ['o2', 'c2'],
    ] as const) {
      orders.pipeInput(key, { item: key, customer });
    }
    expect(subscribers('c1')).toEqual(['o1', 'o3', 'o4']);
    orders.pipeInput('o1', { item: 'o1', customer: 'c2' });
    orders.pipeInput('o4', null);
    orders.pipeInput('o3', { item: 'o3', customer: null });
    orders.pipeInput('o2', { item: 'changed', customer: 'c2' });
    expect(subscribers('c1')).toEqual([]);
    expect(subscribers('c2')).toEqual(['o1', 'o2']);
    const [o2] = store.subscribers(Buffer.from('c2')).slice(1);
    expect(o2?.hash).toEqual(valueHash(orderSerde.serialize({ item: 'changed', customer: 'c2' })!));
  });
});

describe('foreign-key join topology', () => {
  it('names its internal topics and stores after the join', () => {
    const described = build(false, 'orders-by-customer').describe();
    expect(described).toContain('orders-by-customer-subscription-repartition');
    expect(described).toContain('orders-by-customer-response-repartition');
    expect(described).toContain('orders-by-customer-subscription-store');
    expect(described).toContain('orders-by-customer-store');
  });
});
