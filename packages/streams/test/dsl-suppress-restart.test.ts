// A suppression buffer and session windows survive a restart: an app on the in-memory Kafka buffers sessions,
// closes, and a new instance with an empty state directory restores them from their changelogs, merges a session
// it did not see begin, and emits the final results.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BufferConfig,
  Serdes,
  SessionWindows,
  StreamsApp,
  StreamsBuilder,
  Suppressed,
  type Windowed,
  WindowedSerdes,
} from '../src/index.js';
import { MemoryKafkaCluster, memoryClientFactory } from '../src/internals.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eddy-suppress-restart-'));
  dirs.push(dir);
  return dir;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const s = Serdes.string();
const windowed = WindowedSerdes.sessionWindowed(s);

function finalSessionCounts() {
  const builder = new StreamsBuilder();
  builder
    .stream('clicks', { keySerde: s, valueSerde: s })
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5))
    .count({ name: 'sessions' })
    .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()).withName('final'))
    .toStream()
    .to('final', { keySerde: windowed, valueSerde: Serdes.float64() });
  return builder.build();
}

describe('suppress across a restart', () => {
  it('a new instance restores buffer and sessions from their changelogs and emits each final result once', async () => {
    const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
    cluster.createTopic({ topic: 'clicks', partitions: 1 });
    cluster.createTopic({ topic: 'final', partitions: 1 });
    const factory = memoryClientFactory(cluster);
    const producer = factory.producer();
    await producer.connect();
    const send = (key: string, timestamp: number) =>
      producer.send([{ topic: 'clicks', key: Buffer.from(key), value: Buffer.from('x'), timestamp }]);
    const consumed = () => Number(cluster.committedOffsets('sessions-app').get('clicks:0') ?? 0);
    const output = () =>
      cluster.topicRecords('final').map((r) => {
        const w = windowed.deserialize(r.key) as Windowed<string>;
        return `${w.key} [${w.window.start},${w.window.end}] ${r.value!.readDoubleBE(0)} @${r.timestamp}`;
      });
    const app = async () => {
      const a = new StreamsApp(
        finalSessionCounts(),
        {
          applicationId: 'sessions-app',
          brokers: ['memory:9092'],
          stateDir: await stateDir(),
          logger: quiet,
          commitIntervalMs: 1,
        },
        { clientFactory: factory },
      );
      await a.start();
      return a;
    };

    const first = await app();
    await send('a', 0);
    await send('a', 5);
    await send('b', 8);
    await vi.waitFor(() => expect(consumed()).toBe(3), { timeout: 5_000, interval: 10 });
    await first.close();
    expect(output()).toEqual([]);
    expect(cluster.topicRecords('sessions-app-final-store-changelog').length).toBeGreaterThan(0);

    const second = await app();
    await send('b', 12); // merges with the restored session [8,8]
    await send('z', 30);
    await vi.waitFor(() => expect(output()).toHaveLength(2), { timeout: 5_000, interval: 10 });
    await vi.waitFor(() => expect(consumed()).toBe(5), { timeout: 5_000, interval: 10 });
    await second.close();
    expect(output()).toEqual(['a [0,5] 2 @5', 'b [8,12] 2 @12']);
    await producer.close();
  });
});
