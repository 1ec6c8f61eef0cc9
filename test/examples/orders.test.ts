// The orders example as a process against the broker and the schema registry: Avro in and out (every value of its
// output topics framed with the id registered under the topic's subject, its stores' changelogs registered too),
// exact per-customer totals and per-minute counts in its output topics and, decoded, over HTTP, and, after a SIGTERM
// and a restart on the same state directory, nothing restored or replayed.
import { AvroSerdes, type RegistryClient, schemaIdOf } from '@eddy/avro';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, httpGet, metricValue } from '../../examples/orders/demo-process.js';
import type { CustomerTotal, RegionMinute } from '../../examples/orders/model.js';
import { produceSample } from '../../examples/orders/produce.js';
import {
  expectedPerMinute,
  expectedTotals,
  sampleCustomers,
  sampleOrders,
  type TimedOrder,
} from '../../examples/orders/sample-data.js';
import {
  avroOrderSerdes,
  ORDER_SCHEMAS,
  type OrderSchema,
  prepareForClient,
} from '../../examples/orders/serdes.js';
import { createOrderTopics, orderTopics } from '../../examples/orders/topics.js';
import { ORDER_STORES, regionMinuteKey } from '../../examples/orders/topology.js';
import { registryClient, registryUrl } from '../avro/support.js';
import { brokerList, testKafka, uniqueName, waitFor } from '../support/kafka.js';
import { appProcesses } from '../support/processes.js';
import { followTopic } from '../support/read.js';

const apps = appProcesses();
const registry: RegistryClient = registryClient();
afterAll(() => registry.close());

/** The id `schema` has under `subject` (registered as the app registers it), or undefined when it is not there. */
async function registeredId(subject: string, schema: OrderSchema): Promise<number | undefined> {
  const { type } = AvroSerdes.specific({ registry, schema });
  return (await registry.lookup(subject, JSON.stringify(type.schema({ exportAttrs: true }))))?.id;
}

describe('the orders example against the broker', () => {
  it('computes exact totals and minute counts, serves them over HTTP, and resumes from its state', async () => {
    const prefix = `${uniqueName('orders')}-`;
    const topics = orderTopics(prefix);
    const kafka = testKafka();
    const serdes = avroOrderSerdes(registry);
    await createOrderTopics(kafka, topics);
    const customers = sampleCustomers(9);
    const ids = customers.map((c) => c.id);
    // Event time half an hour back, on a minute: within what the broker accepts and its retention keeps.
    const now = Date.now();
    const start = now - 30 * 60_000 - (now % 60_000);
    const first = sampleOrders(ids, 150, { start, spacingMs: 1_500, seed: 7, prefix: 'a' });
    const later = sampleOrders(ids, 50, {
      start: start + 150 * 1_500,
      spacingMs: 1_500,
      seed: 8,
      prefix: 'b',
    });
    await produceSample(kafka, topics, serdes, { customers, customersAt: start - 1, orders: first });

    const totals = new Map<string, CustomerTotal>();
    const perMinute = new Map<string, number>();
    /** The schema ids the values of each output topic carried. */
    const schemaIds = new Map<string, Set<number>>();
    const follow = async <V>(topic: string, onValue: (key: string, value: V) => void) => {
      const serde = topic === topics.totals ? serdes.customerTotal() : serdes.regionMinute();
      await prepareForClient(serde, { client: 'orders-test', topic, writes: false });
      return followTopic(topic, ({ key, bytes }) => {
        if (key === null || bytes === null) return;
        schemaIds.set(topic, (schemaIds.get(topic) ?? new Set()).add(schemaIdOf(bytes)));
        onValue(key, serde.deserialize(bytes) as V);
      });
    };
    const followers = [
      await follow<CustomerTotal>(topics.totals, (key, total) => totals.set(key, { ...total })),
      await follow<RegionMinute>(topics.perMinute, (key, count) => perMinute.set(key, count.orders)),
    ];
    /** Waits until the last value of every key in the output topics is what `orders` give. */
    const resultsOf = async (orders: TimedOrder[], app: { output(): string }) => {
      const wantTotals = expectedTotals(orders);
      const wantMinutes = expectedPerMinute(customers, orders, regionMinuteKey);
      await waitFor(
        () =>
          JSON.stringify([...wantTotals].sort()) === JSON.stringify([...totals].sort()) &&
          JSON.stringify([...wantMinutes].sort()) === JSON.stringify([...perMinute].sort()),
        { what: `the results of ${orders.length} orders (app output: ${app.output().slice(-2000)})` },
      );
      return { wantTotals, wantMinutes };
    };

    const port = await freePort();
    const applicationId = uniqueName('orders-app');
    const env = {
      KAFKA_BROKERS: brokerList().join(','),
      SCHEMA_REGISTRY_URL: registryUrl(),
      APPLICATION_ID: applicationId,
      STATE_DIR: apps.stateDir(),
      COMMIT_INTERVAL_MS: '200',
      HTTP_PORT: String(port),
      HTTP_HOST: '127.0.0.1',
    };
    const metric = async (name: string) => metricValue((await httpGet(port, '/metrics')).body, name);
    try {
      const app = apps.start('examples/orders/app.ts', [prefix], env);
      const { wantTotals, wantMinutes } = await resultsOf(first, app);
      expect(wantMinutes.size).toBeGreaterThanOrEqual(3 * 3); // three regions over four minutes
      // Avro on the wire: one id per output topic, the one of the example's schema under the topic's subject.
      expect(schemaIds.get(topics.totals)).toEqual(
        new Set([await registeredId(`${topics.totals}-value`, ORDER_SCHEMAS.customerTotal)]),
      );
      expect(schemaIds.get(topics.perMinute)).toEqual(
        new Set([await registeredId(`${topics.perMinute}-value`, ORDER_SCHEMAS.regionMinute)]),
      );
      expect(await registeredId(`${topics.enriched}-value`, ORDER_SCHEMAS.enrichedOrder)).toBeDefined();
      // The repartition topics and the stores' changelogs carry Avro too.
      for (const [name, schema] of [
        ['orders-by-customer', ORDER_SCHEMAS.order],
        ['orders-by-region', ORDER_SCHEMAS.enrichedOrder],
      ] as const) {
        expect(await registeredId(`${applicationId}-${name}-repartition-value`, schema)).toBeDefined();
      }
      expect(
        await registeredId(
          `${applicationId}-${ORDER_STORES.totals}-changelog-value`,
          ORDER_SCHEMAS.customerTotal,
        ),
      ).toBeDefined();
      expect(
        await registeredId(
          `${applicationId}-${ORDER_STORES.customers}-changelog-value`,
          ORDER_SCHEMAS.customer,
        ),
      ).toBeDefined();

      const [customer, total] = [...wantTotals][0] as [string, CustomerTotal];
      const answer = await httpGet(port, `/stores/${ORDER_STORES.totals}/keys/${customer}`);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({
        store: ORDER_STORES.totals,
        key: customer,
        value: total,
      });
      const row = customers.find((c) => c.id === customer);
      const stored = await httpGet(port, `/stores/${ORDER_STORES.customers}/keys/${customer}`);
      expect(JSON.parse(stored.body)).toMatchObject({ key: customer, value: row });
      const region = row?.region as string;
      const windows = await httpGet(port, `/stores/${ORDER_STORES.perMinute}/keys/${region}`);
      expect(windows.status).toBe(200);
      const served = (JSON.parse(windows.body).windows as { windowStart: number; value: number }[]).map(
        (w) => [regionMinuteKey(region, w.windowStart), w.value] as const,
      );
      expect(served).toEqual([...wantMinutes].filter(([key]) => key.startsWith(`${region}@`)).sort());

      app.child.kill('SIGTERM');
      expect(await app.exited, app.output()).toBe(0);
      await produceSample(kafka, topics, serdes, { orders: later });

      const restarted = apps.start('examples/orders/app.ts', [prefix], env);
      await resultsOf([...first, ...later], restarted);
      expect(await metric('eddy_restored_records_total')).toBe(0);
      // Only the new orders: each read from its topic and from the two repartition topics.
      expect(await metric('eddy_records_processed_total')).toBe(3 * later.length);
      restarted.child.kill('SIGTERM');
      expect(await restarted.exited, restarted.output()).toBe(0);
    } finally {
      for (const f of followers) await f.stop();
    }
  });
});
