// A DSL count run by the StreamsApp on the in-memory Kafka, under both guarantees: with caching on, the updates of a
// key between two commits leave as one output at the commit; with caching off, every update leaves.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Serdes, StreamsApp, StreamsBuilder } from '../src/index.js';
import { MemoryKafkaCluster, memoryClientFactory } from '../src/internals.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const PER_KEY = 50;

/** Counts PER_KEY records of each of `a` and `b` with one commit, at close; returns the output counts per key. */
async function countWithOneCommit(
  processingGuarantee: 'at-least-once' | 'exactly-once',
  caching: boolean,
): Promise<Map<string, number[]>> {
  const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
  cluster.createTopic({ topic: 'clicks', partitions: 1 });
  cluster.createTopic({ topic: 'counts', partitions: 1 });
  const factory = memoryClientFactory(cluster);
  const producer = factory.producer();
  await producer.connect();
  await producer.send(
    Array.from({ length: 2 * PER_KEY }, (_, i) => ({
      topic: 'clicks',
      key: Buffer.from(i % 2 === 0 ? 'a' : 'b'),
      value: Buffer.from(`click-${i}`),
    })),
  );
  const builder = new StreamsBuilder();
  builder
    .stream('clicks', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .groupByKey()
    .count({ name: 'clicks', caching })
    .toStream()
    .to('counts', { keySerde: Serdes.string(), valueSerde: Serdes.float64() });
  const dir = await mkdtemp(join(tmpdir(), 'eddy-dsl-folding-'));
  dirs.push(dir);
  const app = new StreamsApp(
    builder.build(),
    {
      applicationId: 'folding',
      brokers: ['memory:9092'],
      stateDir: dir,
      logger: quiet,
      processingGuarantee,
      commitIntervalMs: 600_000,
    },
    { clientFactory: factory },
  );
  await app.start();
  await vi.waitFor(() => expect(app.metrics.processed).toBe(2 * PER_KEY), { timeout: 5_000, interval: 10 });
  await app.close();
  await producer.close();
  const isolation = processingGuarantee === 'exactly-once' ? 'read_committed' : 'read_uncommitted';
  const out = new Map<string, number[]>();
  for (const r of cluster.topicRecords('counts', isolation)) {
    const key = r.key!.toString();
    out.set(key, [...(out.get(key) ?? []), r.value!.readDoubleBE(0)]);
  }
  return out;
}

describe.each(['at-least-once', 'exactly-once'] as const)('a DSL count on the runtime (%s)', (guarantee) => {
  it('with caching on, forwards one change per key at the commit', async () => {
    expect(await countWithOneCommit(guarantee, true)).toEqual(
      new Map([
        ['a', [PER_KEY]],
        ['b', [PER_KEY]],
      ]),
    );
  });

  it('with caching off, forwards every update', async () => {
    const every = Array.from({ length: PER_KEY }, (_, i) => i + 1);
    expect(await countWithOneCommit(guarantee, false)).toEqual(
      new Map([
        ['a', every],
        ['b', every],
      ]),
    );
  });
});

describe('a cached table whose changes reach a repartition topic', () => {
  it('forwards each change at once, so every repartition record carries the position of its input', async () => {
    const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
    cluster.createTopic({ topic: 'profiles', partitions: 1 });
    const factory = memoryClientFactory(cluster);
    const producer = factory.producer();
    await producer.connect();
    await producer.send(
      Array.from({ length: 30 }, (_, i) => ({
        topic: 'profiles',
        key: Buffer.from(`user-${i % 5}`),
        value: Buffer.from(`city-${i % 3}`),
      })),
    );
    const builder = new StreamsBuilder();
    builder
      .table('profiles', { keySerde: Serdes.string(), valueSerde: Serdes.string() }, { name: 'profiles' })
      .toStream()
      .selectKey((_user, city) => city ?? '')
      .groupByKey({ name: 'by-city', keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .count({ name: 'moves' });
    const dir = await mkdtemp(join(tmpdir(), 'eddy-dsl-folding-'));
    dirs.push(dir);
    const app = new StreamsApp(
      builder.build(),
      {
        applicationId: 'feeds',
        brokers: ['memory:9092'],
        stateDir: dir,
        logger: quiet,
        commitIntervalMs: 600_000,
        repartitionPurgeIntervalMs: 600_000,
      },
      { clientFactory: factory },
    );
    await app.start();
    // One record per table update, each with its input's position, written before any commit (none folded).
    const repartitioned = () => cluster.records('feeds-by-city-repartition', 0);
    await vi.waitFor(() => expect(repartitioned()).toHaveLength(30), { timeout: 5_000, interval: 10 });
    expect(repartitioned().every((r) => r.headers['eddy.rp'] !== undefined)).toBe(true);
    expect(app.metrics.commits).toBe(0);
    await app.close();
    await producer.close();
  });
});
