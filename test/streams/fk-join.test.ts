// Foreign-key joins against the broker: left rows and the right rows they name sit on different partitions of
// topics with different partition counts; the joined tables converge, also after a restart that restores state.
import { partitionForKey } from '@eddy/assignor';
import { Serdes, StreamsApp, StreamsBuilder } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor } from '../support/kafka.js';
import { followTopic } from '../support/read.js';

interface Order {
  item: string;
  customer: string | null;
}

const apps = inProcessApps();
const str = Serdes.string();

function topology(t: { orders: string; customers: string; inner: string; left: string }) {
  const b = new StreamsBuilder();
  const orders = b.table(t.orders, { keySerde: str, valueSerde: Serdes.json<Order>() });
  const customers = b.table(t.customers, { keySerde: str, valueSerde: str });
  orders
    .join(
      customers,
      (o) => o.customer,
      (o, c) => `${o.item}/${c}`,
      {
        name: 'orders-customers',
        materialized: { valueSerde: str },
      },
    )
    .toStream()
    .to(t.inner, { keySerde: str, valueSerde: str });
  orders
    .leftJoin(
      customers,
      (o) => o.customer,
      (o, c) => `${o.item}/${c ?? '-'}`,
      {
        name: 'orders-left-customers',
        materialized: { valueSerde: str },
      },
    )
    .toStream()
    .to(t.left, { keySerde: str, valueSerde: str });
  return b.build();
}

/** The latest value per key of a topic as it arrives (a null value deletes the key). */
async function tableOf(topic: string, readCommitted: boolean) {
  const table = new Map<string, string>();
  const follower = await followTopic(
    topic,
    ({ key, value }) => {
      if (key === null) return;
      if (value === null) table.delete(key);
      else table.set(key, value);
    },
    { readCommitted },
  );
  return { table, stop: () => follower.stop() };
}

function expectedJoin(orders: Map<string, Order>, customers: Map<string, string>, left: boolean) {
  const out = new Map<string, string>();
  for (const [key, o] of orders) {
    const name = o.customer === null ? undefined : customers.get(o.customer);
    if (name !== undefined) out.set(key, `${o.item}/${name}`);
    else if (left) out.set(key, `${o.item}/-`);
  }
  return out;
}

describe('foreign-key join against the broker', () => {
  it.each(['at-least-once', 'exactly-once'] as const)(
    'joins rows across partitions, follows fk changes, fan-out and deletes, and survives a restart (%s)',
    async (processingGuarantee) => {
      const t = {
        orders: uniqueName('orders'),
        customers: uniqueName('customers'),
        inner: uniqueName('joined'),
        left: uniqueName('left-joined'),
      };
      await createTopics([
        { topic: t.orders, numPartitions: 2 },
        { topic: t.customers, numPartitions: 3 },
        { topic: t.inner, numPartitions: 2 },
        { topic: t.left, numPartitions: 2 },
      ]);
      const orders = new Map<string, Order>();
      const customers = new Map<string, string>();
      const producer = testProducer();
      await producer.connect();
      const sendOrders = (rows: [string, Order | null][]) => {
        for (const [k, o] of rows) {
          if (o === null) orders.delete(k);
          else orders.set(k, o);
        }
        return producer.send({
          topic: t.orders,
          messages: rows.map(([key, o]) => ({ key, value: o === null ? null : JSON.stringify(o) })),
        });
      };
      const sendCustomers = (rows: [string, string | null][]) => {
        for (const [k, c] of rows) {
          if (c === null) customers.delete(k);
          else customers.set(k, c);
        }
        return producer.send({ topic: t.customers, messages: rows.map(([key, value]) => ({ key, value })) });
      };
      const inner = await tableOf(t.inner, processingGuarantee === 'exactly-once');
      const left = await tableOf(t.left, processingGuarantee === 'exactly-once');
      const differences = () => {
        const diff: string[] = [];
        for (const [name, got, want] of [
          ['inner', inner.table, expectedJoin(orders, customers, false)],
          ['left', left.table, expectedJoin(orders, customers, true)],
        ] as const) {
          for (const k of new Set([...got.keys(), ...want.keys()])) {
            if (got.get(k) !== want.get(k)) diff.push(`${name} ${k}: ${got.get(k)} (want ${want.get(k)})`);
          }
        }
        return diff;
      };
      const converged = (what: string) =>
        waitFor(() => differences().length === 0, { what, timeoutMs: 60_000 }).catch((err) => {
          throw new Error(`${String(err)}; ${differences().join(', ')}`);
        });
      try {
        const applicationId = uniqueName('fk-app');
        const start = async () => {
          const app = apps.track(
            new StreamsApp(topology(t), {
              applicationId,
              brokers: brokerList(),
              stateDir: apps.stateDir(),
              commitIntervalMs: 200,
              processingGuarantee,
            }),
          );
          await app.start();
          return app;
        };

        // Orders on both partitions, naming customers that mostly live on another partition number.
        const customerKeys = Array.from({ length: 6 }, (_, i) => `c${i}`);
        const orderKeys = Array.from({ length: 24 }, (_, i) => `o${i}`);
        const partitionOf = (key: string, n: number) => partitionForKey(Buffer.from(key), n);
        const crossing = orderKeys.filter(
          (o, i) => partitionOf(o, 2) !== partitionOf(customerKeys[i % 6]!, 3),
        ).length;
        expect(crossing).toBeGreaterThan(orderKeys.length / 3);

        let app = await start();
        await sendOrders(orderKeys.map((k, i) => [k, { item: `item${i}`, customer: `c${i % 6}` }]));
        await sendCustomers(customerKeys.slice(0, 5).map((c) => [c, `name-${c}`]));
        await converged('the first joins');
        expect(inner.table.size).toBe(20); // c5 does not exist yet

        // Restart with a fresh state directory: the stores (subscriptions included) come back from their changelogs.
        await app.close();
        app = await start();

        await sendCustomers([
          ['c5', 'name-c5'],
          ['c0', 'renamed-c0'],
          ['c1', null],
        ]);
        await sendOrders([
          ['o2', { item: 'item2', customer: 'c3' }],
          ['o3', { item: 'item3', customer: 'c9' }],
          ['o4', { item: 'item4', customer: null }],
          ['o6', null],
          ['o7', { item: 'item7-changed', customer: 'c1' }],
        ]);
        await converged('the joins after changes on both sides');
        await sendCustomers([['c9', 'name-c9']]);
        await converged('a late right row joining its subscribers');
        expect(inner.table.get('o3')).toBe('item3/name-c9');
        expect(app.state).toBe('RUNNING');
      } finally {
        await inner.stop();
        await left.stop();
        await producer.disconnect();
      }
    },
  );
});
