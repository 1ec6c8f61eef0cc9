// Tables restored from their source topic instead of a changelog: restore reads the topic only up to the task's
// committed input (or replay point), commits checkpoint the position in it, and the app creates no changelog.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSourceMarks, keyValueStore, SOURCE_MARKS_HEADER, TaskStateManager } from '@eddy/state';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type ProcessorContext,
  Serdes,
  StreamsApp,
  StreamsBuilder,
  type StreamsError,
} from '../src/index.js';
import { MemoryKafkaCluster, memoryClientFactory } from '../src/internals.js';
import type { ChangelogRange, ChangelogReaderPort, ConsumedRecord } from '../src/kafka/port.js';
import { restoreTask } from '../src/runtime/state-restorer.js';
import { timestampedKeyValueStore } from '../src/topology/dsl/timestamped-key-value-store.js';
import { FakeAdmin } from './fake-admin.js';

const dirs: string[] = [];
const managers: TaskStateManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eddy-source-table-'));
  dirs.push(dir);
  return dir;
}

const utf8 = {
  serialize: (s: string) => Buffer.from(s),
  deserialize: (b: Uint8Array) => Buffer.from(b).toString(),
};
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Partition 0 of any number of topics, whose records the test lists. */
class FakeTopics implements ChangelogReaderPort {
  readonly records = new Map<string, ConsumedRecord[]>();
  readonly reads: ChangelogRange[] = [];

  add(
    topic: string,
    key: string,
    value: string | null,
    headers: Record<string, Buffer> = {},
    timestamp = 0,
  ): void {
    const list = this.records.get(topic) ?? [];
    list.push({
      offset: String(list.length),
      key: Buffer.from(key),
      value: value === null ? null : Buffer.from(value),
      timestamp,
      headers,
    });
    this.records.set(topic, list);
  }

  async read(
    ranges: ChangelogRange[],
    onBatch: (range: ChangelogRange, records: ConsumedRecord[]) => Promise<void>,
  ): Promise<void> {
    for (const range of ranges) {
      this.reads.push(range);
      const batch = (this.records.get(range.topic) ?? []).filter((r) => {
        const o = BigInt(r.offset);
        return o >= range.startOffset && o < range.endOffset;
      });
      if (batch.length > 0) await onBatch(range, batch);
    }
  }

  async close(): Promise<void> {}
}

/** A task with the store `users` copied from the topic `users`, and optionally a logged store `counts`. */
async function openTask(dir: string, withLogged = false) {
  const state = new TaskStateManager({ applicationId: 'app', taskId: '0_0', partition: 0, stateDir: dir });
  const users = state.register(
    keyValueStore({ name: 'users', keySerde: utf8, valueSerde: utf8, sourceTopic: 'users' }),
  );
  const counts = withLogged
    ? state.register(keyValueStore({ name: 'counts', keySerde: utf8, valueSerde: utf8 }))
    : undefined;
  await state.open();
  managers.push(state);
  return { state, users, counts };
}

function restoreContext(admin: FakeAdmin, reader: ChangelogReaderPort) {
  return { admin, reader, logger: quiet, listener: undefined };
}

/** The topic `users` with a=1, b=2, a=3, c=4, b deleted (offsets 0..4). */
function usersTopic(admin: FakeAdmin): FakeTopics {
  const topics = new FakeTopics();
  for (const [k, v] of [
    ['a', '1'],
    ['b', '2'],
    ['a', '3'],
    ['c', '4'],
    ['b', null],
  ] as const) {
    topics.add('users', k, v);
  }
  admin.set('users', [0, 5]);
  return topics;
}

describe('a store restored from its source topic', () => {
  it('writes no changelog and reads its source topic only up to the committed input offset', async () => {
    const admin = new FakeAdmin();
    const topics = usersTopic(admin);
    admin.committed.set('users:0', 3n);
    const { state, users } = await openTask(await tempDir());
    expect(state.changelogPartitions()).toEqual([
      { store: 'users', topic: 'users', partition: 0, checkpointOffset: undefined, fromSource: true },
    ]);
    await restoreTask(state, restoreContext(admin, topics));
    expect(topics.reads).toEqual([{ topic: 'users', partition: 0, startOffset: 0n, endOffset: 3n }]);
    expect([users.get('a'), users.get('b'), users.get('c')]).toEqual(['3', '2', undefined]);
    expect(state.changelogPartitions()[0]!.checkpointOffset).toBe(2n);
    // Processing the records from the committed offset on: a commit sends no changelog records and checkpoints
    // the store's position in the source topic.
    state.setSourcePosition('users', 0, 3);
    users.put('c', '4');
    state.completeSourceRecord();
    expect(state.prepareCommit()).toEqual([]);
    await state.completeCommit();
    expect(state.changelogPartitions()[0]!.checkpointOffset).toBe(3n);
  });

  it('keeps each value of a DSL table with the timestamp of its source record', async () => {
    const admin = new FakeAdmin();
    const topics = new FakeTopics();
    topics.add('users', 'a', '1', {}, 1_000);
    topics.add('users', 'b', '2', {}, 2_000);
    topics.add('users', 'a', '3', {}, 1_500);
    admin.set('users', [0, 3]);
    admin.committed.set('users:0', 3n);
    const state = new TaskStateManager({
      applicationId: 'app',
      taskId: '0_0',
      partition: 0,
      stateDir: await tempDir(),
    });
    managers.push(state);
    const users = state.register(
      timestampedKeyValueStore({ name: 'users', keySerde: utf8, valueSerde: utf8, sourceTopic: 'users' }),
    );
    await state.open();
    await restoreTask(state, restoreContext(admin, topics));
    expect([users.get('a'), users.get('b')]).toEqual([
      { value: '3', timestamp: 1_500 },
      { value: '2', timestamp: 2_000 },
    ]);
  });

  it('continues after its checkpoint, and ignores the source records’ own mark headers', async () => {
    const dir = await tempDir();
    const admin = new FakeAdmin();
    const topics = usersTopic(admin);
    admin.committed.set('users:0', 2n);
    const first = await openTask(dir);
    await restoreTask(first.state, restoreContext(admin, topics));
    await first.state.close();
    topics.records.get('users')![3]!.headers = {
      [SOURCE_MARKS_HEADER]: encodeSourceMarks([{ topic: 'users', partition: 0, offset: 1_000 }]),
    };
    admin.committed.set('users:0', 5n);
    const { state, users } = await openTask(dir);
    topics.reads.length = 0;
    await restoreTask(state, restoreContext(admin, topics));
    expect(topics.reads).toEqual([{ topic: 'users', partition: 0, startOffset: 2n, endOffset: 5n }]);
    expect([users.get('a'), users.get('b'), users.get('c')]).toEqual(['3', undefined, '4']);
    expect(state.sourceMarks('users')).toEqual([{ topic: 'users', partition: 0, offset: 4 }]);
  });

  it("reads up to the task's replay point when its logged stores hold input past the committed offset", async () => {
    const admin = new FakeAdmin();
    const topics = usersTopic(admin);
    admin.committed.set('users:0', 1n);
    // The logged store's last flush covered input up to offset 3 (a crash came before the offsets commit).
    topics.add('app-counts-changelog', 'x', '1', {
      [SOURCE_MARKS_HEADER]: encodeSourceMarks([{ topic: 'users', partition: 0, offset: 3 }]),
    });
    admin.set('app-counts-changelog', [0, 1]);
    const { state, users } = await openTask(await tempDir(), true);
    await restoreTask(state, restoreContext(admin, topics));
    expect(topics.reads).toEqual([
      { topic: 'app-counts-changelog', partition: 0, startOffset: 0n, endOffset: 1n },
      { topic: 'users', partition: 0, startOffset: 0n, endOffset: 4n },
    ]);
    expect(users.get('c')).toBe('4');
  });

  it('cannot also write a changelog', () => {
    const state = new TaskStateManager({ applicationId: 'app', taskId: '0_0', partition: 0 });
    expect(() =>
      state.register(
        keyValueStore({
          name: 'users',
          keySerde: utf8,
          valueSerde: utf8,
          persistent: false,
          sourceTopic: 'users',
          logging: true,
        }),
      ),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('StreamsBuilder.table restored from its source topic', () => {
  const s = Serdes.string();

  /** users as a table, and lookups answered from it through its value getter. */
  function lookups(options: { reuseSourceTopics?: boolean; reuseSourceTopic?: boolean }) {
    const b = new StreamsBuilder({
      ...(options.reuseSourceTopics === undefined ? {} : { reuseSourceTopics: options.reuseSourceTopics }),
    });
    const users = b.table(
      'users',
      { keySerde: s, valueSerde: s },
      {
        name: 'users-store',
        ...(options.reuseSourceTopic === undefined ? {} : { reuseSourceTopic: options.reuseSourceTopic }),
      },
    );
    const getter = users.valueGetter!;
    b.stream('lookups', { keySerde: s, valueSerde: s })
      .process<string, string>(
        () => {
          let ctx: ProcessorContext<string, string>;
          let get: (key: string) => string | undefined;
          return {
            init(c) {
              ctx = c;
              const read = getter.create(c);
              get = (key) => read(key)?.value;
            },
            process(r) {
              ctx.forward({ ...r, key: r.key ?? '', value: get(r.key ?? '') ?? 'none' });
            },
          };
        },
        { name: 'lookup' },
        ...getter.storeNames,
      )
      .to('answers', { keySerde: s, valueSerde: s });
    return b.build();
  }

  it('is off by default; the builder option and the per-table option turn it on', () => {
    const store = (t: ReturnType<typeof lookups>) =>
      t.seal('app').stores.find((x) => x.name === 'users-store')!.builder.options;
    expect(store(lookups({})).sourceTopic).toBeUndefined();
    expect(store(lookups({ reuseSourceTopics: true }))).toMatchObject({
      sourceTopic: 'users',
      logging: false,
    });
    expect(store(lookups({ reuseSourceTopic: true })).sourceTopic).toBe('users');
    expect(store(lookups({ reuseSourceTopics: true, reuseSourceTopic: false })).sourceTopic).toBeUndefined();
  });

  it('needs the store to use the serdes the topic is consumed with', () => {
    const b = new StreamsBuilder({ reuseSourceTopics: true });
    expect(() =>
      b.table(
        'users',
        { keySerde: Serdes.string(), valueSerde: Serdes.string() },
        { valueSerde: Serdes.json<string>() },
      ),
    ).toThrow(expect.objectContaining({ code: 'INVALID_TOPOLOGY' } satisfies Partial<StreamsError>));
  });

  it('on the in-memory Kafka: after its state directory is lost, the table is read back from the source topic', async () => {
    const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
    for (const topic of ['users', 'lookups', 'answers']) cluster.createTopic({ topic, partitions: 2 });
    const factory = memoryClientFactory(cluster);
    const producer = factory.producer();
    await producer.connect();
    const send = (topic: string, pairs: [string, string | null][]) =>
      producer.send(
        pairs.map(([k, v]) => ({ topic, key: Buffer.from(k), value: v === null ? null : Buffer.from(v) })),
      );
    const answers = (from = 0) =>
      new Map(
        cluster
          .topicRecords('answers')
          .slice(from)
          .map((r) => [r.key!.toString(), r.value!.toString()]),
      );
    const run = async () => {
      const app = new StreamsApp(
        lookups({ reuseSourceTopics: true }),
        { applicationId: 'users-app', brokers: ['memory:9092'], stateDir: await tempDir(), logger: quiet },
        { clientFactory: factory },
      );
      await app.start();
      return app;
    };
    await send('users', [
      ['ann', 'admin'],
      ['bob', 'dev'],
      ['cid', 'ops'],
      ['bob', null],
    ]);
    const first = await run();
    await send('lookups', [['ann', '?']]);
    await vi.waitFor(() => expect(answers().get('ann')).toBe('admin'), { timeout: 5_000, interval: 10 });
    await first.close();
    expect(cluster.hasTopic('users-app-users-store-changelog')).toBe(false);

    // A new instance with an empty state directory, and one more update it processes itself.
    await send('users', [['cid', 'sre']]);
    const second = await run();
    await send('lookups', [
      ['cid', '?'],
      ['bob', '?'],
      ['ann', '!'],
    ]);
    await vi.waitFor(() => expect(cluster.topicRecords('answers')).toHaveLength(4), {
      timeout: 5_000,
      interval: 10,
    });
    expect(answers(1)).toEqual(
      new Map([
        ['cid', 'sre'],
        ['bob', 'none'],
        ['ann', 'admin'],
      ]),
    );
    await second.close();
    await producer.close();
  });
});
