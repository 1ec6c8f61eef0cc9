// Tables fold their changes per key between commits when caching is on, and forward every change when it is off:
// a grouped table's count and a materialized filter run by the app on the in-memory Kafka, with one commit at close.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type KTable, Serdes, StreamsApp, StreamsBuilder } from '../src/index.js';
import { MemoryKafkaCluster, memoryClientFactory } from '../src/internals.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const s = Serdes.string();

/** user → region changes, and how many records each sends through the repartition topic of a groupBy. */
const changes: [string, string | null, number][] = [
  ['alice', 'eu', 1],
  ['bob', 'eu', 1],
  ['carol', 'us', 1],
  ['alice', 'us', 2], // leaves eu, joins us
  ['bob', 'eu', 1], // same group: one record
  ['carol', null, 1],
  ['bob', 'us', 2],
];

/**
 * Runs the topology `build` adds to a table of the changes (caching off) until it processed `processed` records,
 * with no commit before close; returns what it wrote to `out`.
 */
async function runOnce(
  id: string,
  processed: number,
  build: (users: KTable<string, string>) => void,
): Promise<{ key: string; value: Buffer | null }[]> {
  const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
  cluster.createTopic({ topic: 'users', partitions: 1 });
  cluster.createTopic({ topic: 'out', partitions: 1 });
  const factory = memoryClientFactory(cluster);
  const producer = factory.producer();
  await producer.connect();
  await producer.send(
    changes.map(([user, region]) => ({
      topic: 'users',
      key: Buffer.from(user),
      value: region === null ? null : Buffer.from(region),
    })),
  );
  const b = new StreamsBuilder();
  build(b.table('users', { keySerde: s, valueSerde: s }, { caching: false }));
  const stateDir = await mkdtemp(join(tmpdir(), 'eddy-table-caching-'));
  dirs.push(stateDir);
  const app = new StreamsApp(
    b.build(),
    {
      applicationId: id,
      brokers: ['memory:9092'],
      stateDir,
      logger: quiet,
      // No commit until close: everything below is processed between two commits.
      commitIntervalMs: 3_600_000,
    },
    { clientFactory: factory },
  );
  await app.start();
  await vi.waitFor(() => expect(app.metrics.processed).toBe(processed), { timeout: 5_000, interval: 10 });
  await app.close();
  await producer.close();
  return cluster.topicRecords('out').map((r) => ({ key: r.key!.toString(), value: r.value }));
}

async function runCounts(caching: boolean): Promise<[string, number][]> {
  const processed = changes.length + changes.reduce((n, [, , sent]) => n + sent, 0);
  const out = await runOnce(`counts-${caching}`, processed, (users) =>
    users
      .groupBy((user, region) => [region, user], { name: 'by-region', keySerde: s, valueSerde: s })
      .count({ name: 'region-counts', caching })
      .toStream()
      .to('out', { keySerde: s, valueSerde: Serdes.float64() }),
  );
  return out.map(({ key, value }): [string, number] => [key, value!.readDoubleBE(0)]);
}

async function runFilter(caching: boolean): Promise<[string, string | null][]> {
  const out = await runOnce(`filter-${caching}`, changes.length, (users) =>
    users
      .filter((_user, region) => region === 'us', { name: 'in-us', caching })
      .toStream()
      .to('out', { keySerde: s, valueSerde: s }),
  );
  return out.map(({ key, value }): [string, string | null] => [key, value?.toString() ?? null]);
}

describe('caching of a grouped table', () => {
  it('caching on: one change per group per commit, with the final count', async () => {
    const counts = await runCounts(true);
    expect(counts.sort()).toEqual([
      ['eu', 0],
      ['us', 2],
    ]);
  });

  it('caching off: every change of every group', async () => {
    expect(await runCounts(false)).toEqual([
      ['eu', 1],
      ['eu', 2],
      ['us', 1],
      ['eu', 1],
      ['us', 2],
      ['eu', 1],
      ['us', 1],
      ['eu', 0],
      ['us', 2],
    ]);
  });
});

describe('caching of a materialized filter', () => {
  it('caching on: one change per key per commit; a key absent before and after forwards nothing', async () => {
    // carol joined and left within the commit; alice and bob ended up passing.
    expect(await runFilter(true)).toEqual([
      ['alice', 'us'],
      ['bob', 'us'],
    ]);
  });

  it('caching off: every change', async () => {
    expect(await runFilter(false)).toEqual([
      ['carol', 'us'],
      ['alice', 'us'],
      ['carol', null],
      ['bob', 'us'],
    ]);
  });
});
