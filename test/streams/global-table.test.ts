// Global tables against the broker: every instance holds all partitions of the global topic, restored before it
// processes a stream record; a restart on the same state directory restores only the tail; updates of the global
// topic while the app runs (new keys, new values, deletions) reach the join.
import type { RestoreListener } from '@eddy/state';
import { Serdes, StreamsApp, StreamsBuilder, type TaskAssignment, type Topology } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor } from '../support/kafka.js';
import { followTopic } from '../support/read.js';

const apps = inProcessApps();
const s = Serdes.string();
const PRODUCT_PARTITIONS = 3;

/** Orders (value: a product id) left-joined with the global table of product names; outputs say who joined them. */
function enrich(
  instance: string,
  names: { products: string; orders: string; out: string },
  onJoin: () => void = () => {},
): Topology {
  const b = new StreamsBuilder();
  const products = b.globalTable(names.products, { keySerde: s, valueSerde: s }, { name: 'products' });
  b.stream(names.orders, { keySerde: s, valueSerde: s })
    .leftJoin(
      products,
      (_order, product) => product,
      (product, name) => {
        onJoin();
        return `${instance}|${product}|${name ?? 'MISSING'}`;
      },
    )
    .to(names.out, { keySerde: s, valueSerde: s });
  return b.build();
}

/** Records restored per partition of the global topic, and where each restore started. */
function restoreLog() {
  const restored = new Map<number, number>();
  const starts = new Map<number, bigint>();
  const listener: RestoreListener = {
    onRestoreStart: (p, start) => starts.set(p.partition, start),
    onRestoreEnd: (p, n) => restored.set(p.partition, (restored.get(p.partition) ?? 0) + n),
  };
  const total = () => [...restored.values()].reduce((a, b) => a + b, 0);
  return { listener, restored, starts, total };
}

async function scenario() {
  const names = {
    products: uniqueName('products'),
    orders: uniqueName('orders'),
    out: uniqueName('enriched'),
  };
  await createTopics([
    { topic: names.products, numPartitions: PRODUCT_PARTITIONS },
    { topic: names.orders, numPartitions: 2 },
    { topic: names.out, numPartitions: 1 },
  ]);
  const producer = testProducer();
  await producer.connect();
  const outputs: string[] = [];
  const reader = await followTopic(names.out, ({ value }) => outputs.push(value!));
  return {
    names,
    outputs,
    /** Product `p<i>` lives in partition i % 3 of the global topic. */
    products: (ids: number[], name = (i: number) => `name${i}`) =>
      producer.send({
        topic: names.products,
        messages: ids.map((i) => ({ partition: i % PRODUCT_PARTITIONS, key: `p${i}`, value: name(i) })),
      }),
    deleteProduct: (i: number) =>
      producer.send({
        topic: names.products,
        messages: [{ partition: i % PRODUCT_PARTITIONS, key: `p${i}`, value: null }],
      }),
    /** Order `<tag><n>` for product `p<id>`, on order partition n % 2. */
    orders: (tag: string, ids: number[]) =>
      producer.send({
        topic: names.orders,
        messages: ids.map((id, n) => ({ partition: n % 2, key: `${tag}${n}`, value: `p${id}` })),
      }),
    async close() {
      await reader.stop();
      await producer.disconnect();
    },
  };
}

describe('a global table on the broker', () => {
  it('each of two instances holds every partition, restored before it processes a stream record', async () => {
    const sc = await scenario();
    const ids = Array.from({ length: 30 }, (_, i) => i);
    await sc.products(ids);
    // Orders already in the log at start: a record processed before the global store is restored joins MISSING.
    await sc.orders('early', ids);
    const applicationId = uniqueName('enrich');
    const latest = new Map<string, TaskAssignment>();
    const logs = new Map<string, ReturnType<typeof restoreLog>>();
    /** How many global records each instance had restored whenever it joined a stream record. */
    const restoredAtJoin: number[] = [];
    for (const instance of ['a', 'b']) {
      const log = restoreLog();
      logs.set(instance, log);
      const app = apps.track(
        new StreamsApp(
          enrich(instance, sc.names, () => restoredAtJoin.push(log.total())),
          {
            applicationId,
            brokers: brokerList(),
            stateDir: apps.stateDir(),
            restoreListener: log.listener,
          },
        ),
      );
      app.onAssignment((a) => latest.set(instance, a));
      await app.start();
    }
    for (const log of logs.values()) {
      expect(log.total()).toBe(30);
      expect([...log.restored.keys()].sort()).toEqual([0, 1, 2]);
    }
    await waitFor(() => ['a', 'b'].every((i) => latest.get(i)?.active.length === 1), {
      what: 'one order partition per instance',
    });
    await waitFor(() => new Set(sc.outputs.map((o) => o.split('|')[1])).size === 30, {
      what: 'every early order joined',
    });
    expect(sc.outputs.filter((o) => o.endsWith('|MISSING'))).toEqual([]);
    expect(new Set(restoredAtJoin)).toEqual(new Set([30]));

    // Each instance joins its own order partition against products of all three global partitions.
    const from = sc.outputs.length;
    await sc.orders('late', ids);
    await waitFor(() => sc.outputs.length - from >= 30, { what: 'the late orders joined' });
    const late = sc.outputs.slice(from).map((o) => o.split('|'));
    expect(late.filter(([, , name]) => name === 'MISSING')).toEqual([]);
    for (const instance of ['a', 'b']) {
      const products = late
        .filter(([who]) => who === instance)
        .map(([, product]) => Number(product!.slice(1)));
      expect(
        new Set(products.map((p) => p % PRODUCT_PARTITIONS)),
        `global partitions joined by ${instance}`,
      ).toEqual(new Set([0, 1, 2]));
    }
    await sc.close();
  }, 120_000);

  it('follows the topic while running, and a restart on the same state directory restores only the tail', async () => {
    const sc = await scenario();
    await sc.products(Array.from({ length: 30 }, (_, i) => i));
    const applicationId = uniqueName('enrich');
    const stateDir = apps.stateDir();
    const start = async (log: ReturnType<typeof restoreLog>) => {
      const app = apps.track(
        new StreamsApp(enrich('a', sc.names), {
          applicationId,
          brokers: brokerList(),
          stateDir,
          restoreListener: log.listener,
        }),
      );
      await app.start();
      return app;
    };
    const joined = (expected: string[]) =>
      waitFor(() => expected.every((e) => sc.outputs.includes(`a|${e}`)), {
        what: `joins ${expected.join(', ')}`,
      });

    const first = restoreLog();
    const app = await start(first);
    expect(first.total()).toBe(30);
    expect([...first.starts.values()]).toEqual([0n, 0n, 0n]);
    // While it runs: new products, a new name for p1, and p2 deleted.
    await sc.products([30, 31, 32]);
    await sc.products([1], () => 'renamed');
    await sc.deleteProduct(2);
    // Orders sent after the updates may still be processed first: wait until the join shows every update.
    await waitFor(
      async () => {
        const from = sc.outputs.length;
        await sc.orders(uniqueName('probe'), [30, 31, 32, 1, 2]);
        await waitFor(() => sc.outputs.length >= from + 5, { what: 'the probes joined' });
        const probes = sc.outputs.slice(from);
        return ['p30|name30', 'p31|name31', 'p32|name32', 'p1|renamed', 'p2|MISSING'].every((e) =>
          probes.includes(`a|${e}`),
        );
      },
      { what: 'the updates in the join', intervalMs: 500 },
    );
    await app.close();

    // Written while the app is down: one record per global partition.
    await sc.products([33, 34, 35]);
    const second = restoreLog();
    await start(second);
    expect(second.total()).toBe(3);
    for (const [partition, offset] of second.starts) {
      expect(offset, `restore start of partition ${partition}`).toBeGreaterThan(0n);
    }
    await sc.orders('after', [33, 34, 35, 1, 2, 0]);
    await joined(['p33|name33', 'p34|name34', 'p35|name35', 'p1|renamed', 'p2|MISSING', 'p0|name0']);
    await sc.close();
  }, 120_000);
});
