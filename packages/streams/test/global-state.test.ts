// Global stores run by StreamsApp on the in-memory Kafka: every instance holds all partitions of the global topic,
// restored before any task processes a record; a restart on the same state directory reads only the tail; updates
// while running reach the join; a store failure stops the app; close releases every client.
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RestoreListener } from '@eddy/state';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Serdes,
  StreamsApp,
  type StreamsAppOptions,
  StreamsBuilder,
  type StreamsError,
  type Topology,
} from '../src/index.js';
import { MemoryKafkaCluster, memoryClientFactory } from '../src/internals.js';
import { STREAM_THREAD } from '../src/runtime/streams-app.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eddy-global-'));
  dirs.push(dir);
  return dir;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const s = Serdes.string();

/** Orders (value: a product id) joined with the global table of product names. */
function enrich(): Topology {
  const b = new StreamsBuilder();
  const products = b.globalTable('products', { keySerde: s, valueSerde: s }, { name: 'products' });
  b.stream('orders', { keySerde: s, valueSerde: s })
    .join(
      products,
      (_order, product) => product,
      (product, name) => `${product}:${name}`,
    )
    .to('enriched', { keySerde: s, valueSerde: s });
  return b.build();
}

/** Counts records restored per global store and the start offsets restores began at. */
function restoreLog() {
  const restored: number[] = [];
  const starts: bigint[] = [];
  const listener: RestoreListener = {
    onRestoreStart: (_p, start) => starts.push(start),
    onRestoreEnd: (_p, n) => restored.push(n),
  };
  return { listener, restored: () => restored.reduce((a, b) => a + b, 0), starts };
}

async function cluster() {
  const c = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
  c.createTopic({ topic: 'products', partitions: 3 });
  c.createTopic({ topic: 'orders', partitions: 2 });
  c.createTopic({ topic: 'enriched', partitions: 1 });
  const factory = memoryClientFactory(c);
  const producer = factory.producer();
  await producer.connect();
  const products = (from: number, n: number, suffix = '') =>
    producer.send(
      Array.from({ length: n }, (_, i) => ({
        topic: 'products',
        key: Buffer.from(`p${from + i}`),
        value: Buffer.from(`name${from + i}${suffix}`),
      })),
    );
  const orders = (ids: number[], tag: string) =>
    producer.send(
      ids.map((id, i) => ({ topic: 'orders', key: Buffer.from(`${tag}${i}`), value: Buffer.from(`p${id}`) })),
    );
  const enriched = () => c.topicRecords('enriched').map((r) => r.value!.toString());
  return { cluster: c, factory, producer, products, orders, enriched };
}

describe('global tables on the in-memory Kafka', () => {
  it('two instances each hold every partition, restored before processing; updates while running reach the join', async () => {
    const { cluster: c, factory, producer, products, orders, enriched } = await cluster();
    await products(0, 30);
    // Orders that exist before start: an inner join drops any order processed before its product is in the store.
    await orders(
      Array.from({ length: 30 }, (_, i) => i),
      'early',
    );
    const config = async () => ({
      applicationId: 'enrich',
      brokers: ['memory:9092'],
      stateDir: await stateDir(),
      logger: quiet,
    });
    const a = new StreamsApp(enrich(), await config(), { clientFactory: factory });
    const b = new StreamsApp(enrich(), await config(), { clientFactory: factory });
    await a.start();
    await b.start();
    await c.settle();
    expect(c.describeGroup('enrich').members.map((m) => m.assigned.length)).toEqual([1, 1]);
    // (Before the second instance joined, the first processed orders it then handed over: those repeat.)
    const early = new Set(Array.from({ length: 30 }, (_, i) => `p${i}:name${i}`));
    await vi.waitFor(() => expect(new Set(enriched())).toEqual(early), { timeout: 5_000, interval: 10 });
    // New products and a renamed one, then orders for them on both instances' partitions.
    await products(30, 10);
    await products(0, 1, '-renamed');
    await c.settle();
    await orders([0, ...Array.from({ length: 10 }, (_, i) => 30 + i)], 'late');
    const late = ['p0:name0-renamed', ...Array.from({ length: 10 }, (_, i) => `p${30 + i}:name${30 + i}`)];
    await vi.waitFor(() => expect(new Set(enriched())).toEqual(new Set([...early, ...late])), {
      timeout: 5_000,
      interval: 10,
    });
    expect(c.describeGroup('enrich').members.map((m) => m.assigned.length)).toEqual([1, 1]);
    await a.close();
    await b.close();
    await producer.close();
    expect(c.openClients()).toEqual([]);
  });

  it('two stream threads of one instance share its state directory and each keep the global stores', async () => {
    const { cluster: c, factory, producer, products, orders, enriched } = await cluster();
    await products(0, 10);
    const dir = await stateDir();
    const config = { applicationId: 'enrich', brokers: ['memory:9092'], stateDir: dir, logger: quiet };
    // As a threaded app's workers build them: thread 1 under the instance's names, thread 2 under `.t2`.
    const asThread = (index: number) =>
      ({ clientFactory: factory, [STREAM_THREAD]: { index, count: 2 } }) as StreamsAppOptions;
    const first = new StreamsApp(enrich(), config, asThread(1));
    const second = new StreamsApp(enrich(), config, asThread(2));
    // Each opens its own global stores at once: one directory for both would hold the second 15 s on its lock.
    const started = Date.now();
    await Promise.all([first.start(), second.start()]);
    await c.settle();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(
      readdirSync(join(dir, 'enrich'))
        .filter((d) => d.startsWith('global'))
        .sort(),
    ).toEqual(['global', 'global.t2']);
    expect(c.describeGroup('enrich').members.map((m) => m.assigned.length)).toEqual([1, 1]);
    await orders([0, 1, 2, 3, 4, 5, 6, 7], 'o');
    await vi.waitFor(
      () =>
        expect(new Set(enriched())).toEqual(new Set(Array.from({ length: 8 }, (_, i) => `p${i}:name${i}`))),
      { timeout: 5_000, interval: 10 },
    );
    await first.close();
    await second.close();
    await producer.close();
  });

  it('a restart with the state directory intact restores only the records written since', async () => {
    const { cluster: c, factory, producer, products, orders, enriched } = await cluster();
    await products(0, 20);
    const dir = await stateDir();
    const first = restoreLog();
    const config = (listener: RestoreListener) => ({
      applicationId: 'enrich',
      brokers: ['memory:9092'],
      stateDir: dir,
      logger: quiet,
      restoreListener: listener,
    });
    const a = new StreamsApp(enrich(), config(first.listener), { clientFactory: factory });
    await a.start();
    expect(first.restored()).toBe(20);
    expect(first.starts).toEqual([0n, 0n, 0n]);
    await products(20, 5);
    await c.settle();
    await a.close();
    await products(25, 4);
    const second = restoreLog();
    const b = new StreamsApp(enrich(), config(second.listener), { clientFactory: factory });
    await b.start();
    // Only the 4 records written while it was down: the 5 it read while running were checkpointed at close.
    expect(second.restored()).toBe(4);
    await orders([0, 22, 28], 'o');
    await vi.waitFor(() => expect(enriched()).toHaveLength(3), { timeout: 5_000, interval: 10 });
    expect(enriched().sort()).toEqual(['p0:name0', 'p22:name22', 'p28:name28']);
    await b.close();
    await producer.close();
  });

  it('rebuilds a global store whose offsets are no longer in its topic (records deleted while it was down)', async () => {
    const { cluster: c, factory, producer, products, orders, enriched } = await cluster();
    await products(0, 12);
    const dir = await stateDir();
    const warnings: string[] = [];
    const config = (listener: RestoreListener) => ({
      applicationId: 'enrich',
      brokers: ['memory:9092'],
      stateDir: dir,
      logger: { ...quiet, warn: (message: string) => warnings.push(message) },
      restoreListener: listener,
    });
    const a = new StreamsApp(enrich(), config(restoreLog().listener), { clientFactory: factory });
    await a.start();
    await a.close();
    // While it is down, p100 and p101 are written to partition 0, and everything before p101 there is deleted.
    await producer.send(
      ['p100', 'p101'].map((p) => ({
        topic: 'products',
        partition: 0,
        key: Buffer.from(p),
        value: Buffer.from('new'),
      })),
    );
    const end = c.partition('products', 0).highWatermark;
    c.deleteRecords('products', 0, end - 1n);
    const log = restoreLog();
    const b = new StreamsApp(enrich(), config(log.listener), { clientFactory: factory });
    await b.start();
    expect(warnings.filter((w) => w.includes('rebuilding the global store'))).toHaveLength(1);
    // Rebuilt from the start of every partition: the record left in partition 0 and the others' records again.
    const kept = c.topicRecords('products').length;
    expect(log.restored()).toBe(kept);
    // Products that lived only in the deleted records are gone; the others join.
    const survivors = new Set(c.topicRecords('products').map((r) => r.key!.toString()));
    await orders([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 100, 101], 'o');
    const expected = [...survivors].map(
      (p) => `${p}:${Number(p.slice(1)) >= 100 ? 'new' : `name${p.slice(1)}`}`,
    );
    await vi.waitFor(() => expect(new Set(enriched())).toEqual(new Set(expected)), {
      timeout: 5_000,
      interval: 10,
    });
    expect(survivors.has('p100')).toBe(false);
    expect(survivors.has('p101')).toBe(true);
    await b.close();
    await producer.close();
  });

  it('a global record that fails to deserialize stops the app with DESERIALIZATION_FAILED', async () => {
    const { cluster: c, factory, producer, products } = await cluster();
    const b = new StreamsBuilder();
    b.globalTable('products', { keySerde: s, valueSerde: Serdes.json<{ name: string }>() });
    b.stream('orders', { keySerde: s, valueSerde: s }).to('enriched', { keySerde: s, valueSerde: s });
    const app = new StreamsApp(
      b.build(),
      { applicationId: 'bad', brokers: ['memory:9092'], stateDir: await stateDir(), logger: quiet },
      { clientFactory: factory },
    );
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    await app.start();
    await products(0, 1);
    await vi.waitFor(() => expect(app.state).toBe('ERROR'), { timeout: 5_000, interval: 10 });
    expect(errors.map((e) => e.code)).toEqual(['DESERIALIZATION_FAILED']);
    await c.settle();
    await producer.close();
    expect(c.openClients()).toEqual([]);
  });

  it('start fails with TOPIC_MISSING when the global topic does not exist', async () => {
    const c = new MemoryKafkaCluster();
    c.createTopic({ topic: 'orders', partitions: 1 });
    c.createTopic({ topic: 'enriched', partitions: 1 });
    const app = new StreamsApp(
      enrich(),
      { applicationId: 'missing', brokers: ['memory:9092'], stateDir: await stateDir(), logger: quiet },
      { clientFactory: memoryClientFactory(c) },
    );
    await expect(app.start()).rejects.toMatchObject({ code: 'TOPIC_MISSING' });
    expect(c.openClients()).toEqual([]);
  });
});
