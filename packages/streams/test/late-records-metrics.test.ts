// A windowed count run by a StreamsApp on the in-memory Kafka: records too late for their window are dropped and
// counted, both in `app.metrics` and as the Prometheus series `eddy_records_dropped_total{reason="late"}`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Serdes, StreamsApp, StreamsBuilder, TimeWindows } from '../src/index.js';
import { MemoryKafkaCluster, memoryClientFactory } from '../src/internals.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** clicks → one-second windows with no grace, counted per key → `<key>@<window start>` → counts. */
function clicksPerSecond() {
  const builder = new StreamsBuilder();
  builder
    .stream('clicks', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(1_000))
    .count({ name: 'clicks-per-second' })
    .toStream()
    .map((windowed, n): [string, number | null] => [`${windowed.key}@${windowed.window.start}`, n])
    .to('counts', { keySerde: Serdes.string(), valueSerde: Serdes.float64() });
  return builder.build();
}

describe('late records of a windowed aggregation', () => {
  it('are dropped and counted in app.metrics and eddy_records_dropped_total{reason="late"}', async () => {
    const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
    cluster.createTopic({ topic: 'clicks', partitions: 1 });
    cluster.createTopic({ topic: 'counts', partitions: 1 });
    const factory = memoryClientFactory(cluster);
    const producer = factory.producer();
    await producer.connect();
    const click = (timestamp: number) => ({
      topic: 'clicks',
      key: Buffer.from('k'),
      value: Buffer.from('x'),
      timestamp,
    });
    // 20_000 moves stream time past the end of [10_000, 11_000); 10_500 and 5_000 then arrive after their windows closed.
    await producer.send([click(10_000), click(20_000), click(10_500), click(5_000), click(20_100)]);
    const dir = await mkdtemp(join(tmpdir(), 'eddy-late-'));
    dirs.push(dir);
    const registry = new Registry();
    const app = new StreamsApp(
      clicksPerSecond(),
      {
        applicationId: 'late',
        brokers: ['memory:9092'],
        stateDir: dir,
        logger: quiet,
        metrics: { registry },
      },
      { clientFactory: factory },
    );
    await app.start();
    await vi.waitFor(() => expect(app.metrics.processed).toBe(5), { timeout: 5_000, interval: 10 });

    expect(app.metrics.droppedRecords).toEqual({ late: 2 });
    const series = (await registry.metrics())
      .split('\n')
      .filter((line) => line.startsWith('eddy_records_dropped_total{'));
    expect(series).toEqual(['eddy_records_dropped_total{reason="late"} 2']);
    // The counts leave the store's cache on the commit at close: the last count of each window.
    await app.close();
    const counts = cluster
      .topicRecords('counts')
      .map((r) => [r.key!.toString(), r.value!.readDoubleBE(0)] as const);
    expect(new Map(counts)).toEqual(
      new Map([
        ['k@10000', 1],
        ['k@20000', 2],
      ]),
    );
    await producer.close();
  });
});
