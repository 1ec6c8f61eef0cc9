// A stream–stream join's times survive a restart: an app on the in-memory Kafka holds non-joined records, closes,
// and a new instance with an empty state directory restores from the changelogs where its next look for closed
// records may start and how far back each side's store reaches, and goes on as one uninterrupted run would.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JoinWindows, Serdes, StreamsApp, StreamsBuilder } from '../src/index.js';
import { MemoryKafkaCluster, memoryClientFactory } from '../src/internals.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eddy-join-restart-'));
  dirs.push(dir);
  return dir;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const s = Serdes.string();
const str = { keySerde: s, valueSerde: s };

function leftJoin() {
  const builder = new StreamsBuilder();
  builder
    .stream('left', str)
    .leftJoin(
      builder.stream('right', str),
      (l, r) => `${l}+${r}`,
      JoinWindows.ofTimeDifferenceAndGrace(10, 5),
      {
        name: 'pairs',
      },
    )
    .to('out', str);
  return builder.build();
}

describe('stream-stream join across a restart', () => {
  it('keeps where the next look starts and what each store holds', async () => {
    const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
    for (const topic of ['left', 'right', 'out']) cluster.createTopic({ topic, partitions: 1 });
    const factory = memoryClientFactory(cluster);
    const producer = factory.producer();
    await producer.connect();
    const committed = () => {
      const offsets = cluster.committedOffsets('join-app');
      return Number(offsets.get('left:0') ?? 0) + Number(offsets.get('right:0') ?? 0);
    };
    let sent = 0;
    // One record at a time: the two topics' records are then processed in the order they are sent.
    const send = async (topic: string, key: string, value: string, timestamp: number) => {
      await producer.send([{ topic, key: Buffer.from(key), value: Buffer.from(value), timestamp }]);
      sent++;
      await vi.waitFor(() => expect(committed()).toBe(sent), { timeout: 5_000, interval: 10 });
    };
    const output = () => cluster.topicRecords('out').map((r) => `${r.key} ${r.value} @${r.timestamp}`);
    const app = async () => {
      const a = new StreamsApp(
        leftJoin(),
        {
          applicationId: 'join-app',
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
    await send('left', 'A', 'a', 100);
    await send('left', 'B', 'b', 104);
    await send('left', 'C', 'c', 110);
    await send('left', 'D', 'd', 116); // looks: a has closed; the look ends at c (next look after 110 + 15)
    await send('right', 'X', 'x', 120);
    await first.close();
    expect(output()).toEqual(['A a+null @100']);

    const second = await app();
    await send('left', 'E', 'e', 121); // b has closed, but 121 is not past 110 + 15: no look
    await send('right', 'A', 'late', 95); // joins a (the left store reaches down to 116 - 25); 95 <= 120 - 25: expired
    await send('left', 'F', 'f', 126); // looks: b and c have closed, d and e have not
    await vi.waitFor(() => expect(output()).toHaveLength(4), { timeout: 5_000, interval: 10 });
    expect(second.metrics.droppedRecords.expired).toBe(1);
    await second.close();
    expect(output()).toEqual(['A a+null @100', 'A a+late @100', 'B b+null @104', 'C c+null @110']);
    await producer.close();
  });
});
