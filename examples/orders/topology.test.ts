// The orders topology in the test driver (JSON values: the driver prepares no serde, and Avro serdes are prepared
// against a registry): exact per-customer totals, enrichment from the customers table (known, unknown and changed
// customers), and order counts per region and minute, late orders beyond the grace dropped. Every record in and out
// fits its Avro schema, and the format comes from the environment. The Avro run is test/examples/orders.test.ts.
import { AvroSerdes, RegistryClient } from '@eddy/avro';
import type { KeyValueStore, WindowStore } from '@eddy/state';
import type { Deserializer, ValueAndTimestamp } from '@eddy/streams';
import { TopologyTestDriver } from '@eddy/test-utils';
import { describe, expect, it } from 'vitest';
import type { CustomerTotal, RegionMinute } from './model.js';
import { expectedPerMinute, expectedTotals, sampleCustomers, sampleOrders } from './sample-data.js';
import { jsonOrderSerdes, ORDER_SCHEMAS, type OrderSchema, orderSerdesFromEnv } from './serdes.js';
import { orderTopics } from './topics.js';
import {
  ORDER_STORES,
  ordersTopology,
  regionMinuteKey,
  WINDOW_GRACE_MS,
  WINDOW_SIZE_MS,
} from './topology.js';

const topics = orderTopics('t-');
const serdes = jsonOrderSerdes();
const MINUTE = WINDOW_SIZE_MS;

async function orders() {
  const driver = await TopologyTestDriver.create(ordersTopology(topics, serdes));
  // The last value of each key an output topic received.
  const lastValues = <V>(topic: string, serde: Deserializer<V | null>) => {
    const out = driver.createOutputTopic(topic, serdes.key, serde);
    const last = new Map<string | null, V | null>();
    return () => {
      for (const [k, v] of out.readKeyValuesToList()) last.set(k, v);
      return last;
    };
  };
  return {
    driver,
    customers: driver.createInputTopic(topics.customers, serdes.key, serdes.customer()),
    orders: driver.createInputTopic(topics.orders, serdes.key, serdes.order()),
    enriched: driver.createOutputTopic(topics.enriched, serdes.key, serdes.enrichedOrder()),
    totals: lastValues<CustomerTotal>(topics.totals, serdes.customerTotal()),
    perMinute: lastValues<RegionMinute>(topics.perMinute, serdes.regionMinute()),
  };
}

describe('the orders topology', () => {
  it('sums each customer’s orders and counts each region’s orders per minute, exactly', async () => {
    const t = await orders();
    await using _ = t.driver;
    const customers = sampleCustomers(7);
    const sample = sampleOrders(
      customers.map((c) => c.id),
      300,
      { start: 10 * MINUTE + 17_000, spacingMs: 1_300, seed: 42 },
    );
    for (const c of customers) t.customers.pipeInput(c.id, c, 0);
    for (const { order, timestamp } of sample) t.orders.pipeInput(order.id, order, timestamp);

    const totals = expectedTotals(sample);
    expect(totals.size).toBe(7);
    expect(t.totals()).toEqual(totals);
    const store = t.driver.getStateStore<KeyValueStore<string, CustomerTotal>>(ORDER_STORES.totals);
    for (const [id, total] of totals) expect(store.get(id)).toEqual(total);

    const perMinute = expectedPerMinute(customers, sample, regionMinuteKey);
    expect(perMinute.size).toBeGreaterThan(10); // three regions over several minutes
    expect(new Map([...t.perMinute()].map(([k, v]) => [k, v?.orders]))).toEqual(perMinute);
    const windows = t.driver.getStateStore<WindowStore<string, ValueAndTimestamp<number>>>(
      ORDER_STORES.perMinute,
    );
    const first = sample[0] as (typeof sample)[number];
    const region = customers.find((c) => c.id === first.order.customerId)?.region as string;
    const start = first.timestamp - (first.timestamp % MINUTE);
    expect(windows.fetch(region, start)?.value).toBe(perMinute.get(regionMinuteKey(region, start)));
  });

  it('enriches orders with the customer’s current row, and keeps orders of unknown customers', async () => {
    const t = await orders();
    await using _ = t.driver;
    t.customers.pipeInput('c-1', { id: 'c-1', name: 'Ada', region: 'eu-west' }, 1);
    t.orders.pipeInput('o-1', { id: 'o-1', customerId: 'c-1', amountCents: 500 }, 2);
    t.orders.pipeInput('o-2', { id: 'o-2', customerId: 'c-2', amountCents: 700 }, 3);
    t.customers.pipeInput('c-1', { id: 'c-1', name: 'Ada', region: 'us-east' }, 4);
    t.orders.pipeInput('o-3', { id: 'o-3', customerId: 'c-1', amountCents: 250 }, 5);

    expect(t.enriched.readKeyValuesToList()).toEqual([
      ['c-1', { id: 'o-1', customerId: 'c-1', amountCents: 500, customerName: 'Ada', region: 'eu-west' }],
      ['c-2', { id: 'o-2', customerId: 'c-2', amountCents: 700, customerName: null, region: 'unknown' }],
      ['c-1', { id: 'o-3', customerId: 'c-1', amountCents: 250, customerName: 'Ada', region: 'us-east' }],
    ]);
    expect(t.totals()).toEqual(
      new Map([
        ['c-1', { orders: 2, totalCents: 750 }],
        ['c-2', { orders: 1, totalCents: 700 }],
      ]),
    );
    expect(new Map([...t.perMinute()].map(([k, v]) => [k, v?.orders]))).toEqual(
      new Map([
        [regionMinuteKey('eu-west', 0), 1],
        [regionMinuteKey('unknown', 0), 1],
        [regionMinuteKey('us-east', 0), 1],
      ]),
    );
  });

  it('drops an order that comes after its minute’s grace, and still adds it to the customer’s total', async () => {
    const t = await orders();
    await using _ = t.driver;
    t.customers.pipeInput('c-1', { id: 'c-1', name: 'Ada', region: 'eu-west' }, 0);
    t.orders.pipeInput('o-1', { id: 'o-1', customerId: 'c-1', amountCents: 100 }, MINUTE + WINDOW_GRACE_MS);
    t.orders.pipeInput('o-2', { id: 'o-2', customerId: 'c-1', amountCents: 100 }, MINUTE - 1); // window closed
    t.orders.pipeInput('o-3', { id: 'o-3', customerId: 'c-1', amountCents: 100 }, MINUTE); // within the grace

    expect(t.driver.droppedRecords('late')).toBe(1);
    expect(new Map([...t.perMinute()].map(([k, v]) => [k, v?.orders]))).toEqual(
      new Map([
        [regionMinuteKey('eu-west', MINUTE + WINDOW_GRACE_MS), 1],
        [regionMinuteKey('eu-west', MINUTE), 1],
      ]),
    );
    expect(t.totals().get('c-1')).toEqual({ orders: 3, totalCents: 300 });
  });
});

describe('the orders example’s formats', () => {
  // Serdes over a registry that is never asked: only their Avro types are used.
  const offline = new RegistryClient({ url: 'http://127.0.0.1:9/apis/ccompat/v7' });
  const typeOf = (schema: OrderSchema) => AvroSerdes.specific({ registry: offline, schema }).type;

  /** Checks that `values` fit `schema` exactly (no field left out or added) and decode back unchanged. */
  function expectFits(schema: OrderSchema, values: unknown[]) {
    const type = typeOf(schema);
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) {
      const wrong: string[] = [];
      type.isValid(value, { noUndeclaredFields: true, errorHook: (path) => wrong.push(path.join('.')) });
      expect(wrong, JSON.stringify(value)).toEqual([]);
      expect({ ...type.fromBuffer(type.toBuffer(value)) }).toEqual(value);
    }
  }

  it('writes and reads every record in and out of the topology with the Avro schemas of schemas/', async () => {
    const t = await orders();
    await using _ = t.driver;
    const customers = sampleCustomers(4);
    const sample = sampleOrders(['c-001', 'c-002', 'c-404'], 50, { start: 0, spacingMs: 10_000, seed: 3 });
    for (const c of customers) t.customers.pipeInput(c.id, c, 0);
    for (const { order, timestamp } of sample) t.orders.pipeInput(order.id, order, timestamp);

    const enriched = t.enriched.readValuesToList();
    expect(enriched.some((o) => o?.customerName === null)).toBe(true); // c-404 is no customer
    expectFits(ORDER_SCHEMAS.customer, customers);
    expectFits(
      ORDER_SCHEMAS.order,
      sample.map((s) => s.order),
    );
    expectFits(ORDER_SCHEMAS.enrichedOrder, enriched);
    expectFits(ORDER_SCHEMAS.customerTotal, [...t.totals().values()]);
    expectFits(ORDER_SCHEMAS.regionMinute, [...t.perMinute().values()]);
  });

  it('takes Avro by default, JSON on request, and refuses an unknown format or Avro without a registry', () => {
    const url = 'http://127.0.0.1:9/apis/ccompat/v7';
    const avro = orderSerdesFromEnv({ SCHEMA_REGISTRY_URL: url });
    expect(avro.serdes.format).toBe('avro');
    avro.close();
    expect(orderSerdesFromEnv({ ORDERS_FORMAT: 'avro', SCHEMA_REGISTRY_URL: url }).serdes.format).toBe(
      'avro',
    );
    expect(orderSerdesFromEnv({ ORDERS_FORMAT: 'json' }).serdes.format).toBe('json');
    expect(() => orderSerdesFromEnv({})).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        message: expect.stringContaining('SCHEMA_REGISTRY_URL'),
      }),
    );
    expect(() => orderSerdesFromEnv({ ORDERS_FORMAT: 'protobuf', SCHEMA_REGISTRY_URL: url })).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        message: expect.stringContaining('ORDERS_FORMAT=protobuf'),
      }),
    );
  });
});
