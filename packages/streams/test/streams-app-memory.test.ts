// StreamsApp run on the in-memory Kafka, without a broker: a stateless topology end to end, two instances
// sharing partitions, a failed offset commit, at-least-once output sent in the background and a send of it that
// fails, exactly-once, a static restart, close during start, and a count through a repartition topic under both
// guarantees.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type ProcessorContext,
  Serdes,
  type StreamRecord,
  StreamsApp,
  StreamsBuilder,
  type StreamsError,
  Topology,
} from '../src/index.js';
import { MemoryKafkaCluster, memoryClientFactory } from '../src/internals.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eddy-memory-app-'));
  dirs.push(dir);
  return dir;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** The sum of a group's committed offsets over the partitions of `topic`: how many of its records were consumed. */
const consumed = (cluster: MemoryKafkaCluster, groupId: string, topic: string) =>
  [...cluster.committedOffsets(groupId)].reduce(
    (n, [key, offset]) => (key.startsWith(`${topic}:`) ? n + Number(offset) : n),
    0,
  );

/** The last float64 count per key among `records`. */
const lastCounts = (records: { key: Buffer | null; value: Buffer | null }[]) =>
  new Map(records.map((r) => [r.key!.toString(), r.value!.readDoubleBE(0)]));

function shout(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream('words', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .mapValues((w) => w?.toUpperCase() ?? null)
    .to('shouted', { keySerde: Serdes.string(), valueSerde: Serdes.string() });
  return builder.build();
}

/** A cluster with the topics of `shout()`, a connected producer, and readers of the output. */
async function shoutCluster(partitions = 4) {
  const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
  cluster.createTopic({ topic: 'words', partitions });
  cluster.createTopic({ topic: 'shouted', partitions });
  const factory = memoryClientFactory(cluster);
  const producer = factory.producer();
  await producer.connect();
  const send = (prefix: string, n: number) =>
    producer.send(
      Array.from({ length: n }, (_, i) => ({
        topic: 'words',
        key: Buffer.from(`k${i}`),
        value: Buffer.from(`${prefix}${i}`),
      })),
    );
  const records = () => cluster.topicRecords('shouted');
  const output = () => records().map((r) => r.value!.toString());
  return { cluster, factory, producer, send, records, output };
}

describe('StreamsApp on the in-memory Kafka', () => {
  it('starts, maps every input record to the output topic with its key and timestamp, commits on close and leaves', async () => {
    const { cluster, factory, producer, records } = await shoutCluster(2);
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    await producer.send(
      words.map((w, i) => ({
        topic: 'words',
        key: Buffer.from(w),
        value: Buffer.from(w),
        timestamp: 1_000 + i,
      })),
    );
    await producer.close();

    const app = new StreamsApp(
      shout(),
      { applicationId: 'shout', brokers: ['memory:9092'], stateDir: await stateDir(), logger: quiet },
      { clientFactory: factory },
    );
    await app.start();
    expect(app.state).toBe('RUNNING');
    expect(cluster.describeGroup('shout')).toMatchObject({ state: 'Stable', members: [expect.anything()] });

    await vi.waitFor(() => expect(records()).toHaveLength(words.length), { timeout: 5_000, interval: 10 });
    const got = new Map(records().map((r) => [r.key!.toString(), r]));
    words.forEach((w, i) => {
      expect(got.get(w)?.value?.toString()).toBe(w.toUpperCase());
      expect(got.get(w)?.timestamp).toBe(1_000 + i);
    });

    await app.close();
    expect(app.state).toBe('NOT_RUNNING');
    expect(consumed(cluster, 'shout', 'words')).toBe(words.length);
    expect(cluster.describeGroup('shout').state).toBe('Empty');
    expect(cluster.openClients()).toEqual([]);
  });

  it('two instances share the partitions; when one closes, the other takes them over from the committed offsets', async () => {
    const { cluster, factory, producer, send, output } = await shoutCluster();
    const config = async () => ({
      applicationId: 'shout',
      brokers: ['memory:9092'],
      stateDir: await stateDir(),
      logger: quiet,
    });
    const a = new StreamsApp(shout(), await config(), { clientFactory: factory });
    const b = new StreamsApp(shout(), await config(), { clientFactory: factory });
    await a.start();
    await b.start();
    await cluster.settle();
    const group = cluster.describeGroup('shout');
    expect(group.members.map((m) => m.assigned.length)).toEqual([2, 2]);
    await send('v', 40);
    await vi.waitFor(() => expect(output()).toHaveLength(40), { timeout: 5_000, interval: 10 });
    await a.close();
    await send('w', 40);
    await vi.waitFor(() => expect(output()).toHaveLength(80), { timeout: 5_000, interval: 10 });
    expect(cluster.describeGroup('shout').members.map((m) => m.assigned.length)).toEqual([4]);
    expect(new Set(output())).toEqual(
      new Set([
        ...Array.from({ length: 40 }, (_, i) => `V${i}`),
        ...Array.from({ length: 40 }, (_, i) => `W${i}`),
      ]),
    );
    await b.close();
    await producer.close();
    expect(cluster.openClients()).toEqual([]);
  });

  it('by default, an offset commit that times out is retried in-process: the app reconnects and goes on', async () => {
    const { cluster, factory, producer, send, output } = await shoutCluster();
    await send('v', 1);
    const warnings: string[] = [];
    const app = new StreamsApp(
      shout(),
      {
        applicationId: 'shout',
        brokers: ['memory:9092'],
        stateDir: await stateDir(),
        logger: { ...quiet, warn: (message: string) => warnings.push(message) },
        commitIntervalMs: 1,
      },
      { clientFactory: factory },
    );
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    cluster.faults.failNext('commit', 'REQUEST_TIMED_OUT', { target: 'shout' });
    await app.start();
    await vi.waitFor(() => expect(warnings).toContain('lost Kafka while running; reconnecting in-process'), {
      timeout: 5_000,
      interval: 10,
    });
    await send('w', 1);
    await vi.waitFor(() => expect(output()).toContain('W0'), { timeout: 5_000, interval: 10 });
    expect(app.state).toBe('RUNNING');
    expect(errors).toEqual([]);
    await app.close();
    await producer.close();
    expect(cluster.openClients()).toEqual([]);
  });

  it('with retryBackoff off, an offset commit that fails stops the app in ERROR with COMMIT_FAILED, told to onError, and leaves the group', async () => {
    const { cluster, factory, producer, send } = await shoutCluster();
    await send('v', 1);
    const app = new StreamsApp(
      shout(),
      {
        applicationId: 'shout',
        brokers: ['memory:9092'],
        stateDir: await stateDir(),
        logger: quiet,
        commitIntervalMs: 1,
        retryBackoff: false,
      },
      { clientFactory: factory },
    );
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    cluster.faults.failNext('commit', 'REQUEST_TIMED_OUT', { target: 'shout' });
    await app.start();
    await vi.waitFor(() => expect(app.state).toBe('ERROR'), { timeout: 5_000, interval: 10 });
    expect(errors.map((e) => e.code)).toEqual(['COMMIT_FAILED']);
    expect(cluster.describeGroup('shout').members).toEqual([]);
    await producer.close();
    expect(cluster.openClients()).toEqual([]);
  });

  it('at-least-once: batches go on while output is on its way; a send that fails commits nothing and the recovery sends its records again in order', async () => {
    const { cluster, factory, producer, send, output } = await shoutCluster(1);
    const warnings: { message: string; code: unknown }[] = [];
    const app = new StreamsApp(
      shout(),
      {
        applicationId: 'shout',
        brokers: ['memory:9092'],
        stateDir: await stateDir(),
        logger: {
          ...quiet,
          warn: (message: string, f?: { code?: unknown }) => warnings.push({ message, code: f?.code }),
        },
        commitIntervalMs: 60_000,
      },
      { clientFactory: factory },
    );
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    let release = (): void => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    // The first send of output waits, then fails.
    cluster.faults.delayNext('produce', held, { target: 'shouted' });
    cluster.faults.failNext('produce', 'REQUEST_TIMED_OUT', { target: 'shouted' });
    await app.start();
    await send('v', 10);
    await vi.waitFor(() => expect(app.metrics.processed).toBe(10), { timeout: 5_000, interval: 10 });
    await send('w', 10);
    // The next batch is processed while the first one's output is held.
    await vi.waitFor(() => expect(app.metrics.processed).toBe(20), { timeout: 2_000, interval: 10 });
    expect(output()).toEqual([]);
    release();
    await vi.waitFor(
      () =>
        expect(warnings).toContainEqual({
          message: 'lost Kafka while running; reconnecting in-process',
          code: 'PRODUCE_FAILED',
        }),
      { timeout: 5_000, interval: 10 },
    );
    const expected = [
      ...Array.from({ length: 10 }, (_, i) => `V${i}`),
      ...Array.from({ length: 10 }, (_, i) => `W${i}`),
    ];
    await vi.waitFor(() => expect(output()).toHaveLength(20), { timeout: 5_000, interval: 10 });
    // No offset went in past the output that failed: the recovery replayed all of it, once and in order.
    expect(output()).toEqual(expected);
    expect(app.state).toBe('RUNNING');
    expect(errors).toEqual([]);
    await app.close();
    expect(consumed(cluster, 'shout', 'words')).toBe(20);
    expect(output()).toEqual(expected);
    await producer.close();
    expect(cluster.openClients()).toEqual([]);
  });

  it('at-least-once: a rebalance waits for the output still on its way before the member rejoins', async () => {
    const { cluster, factory, producer, send, output } = await shoutCluster(1);
    const app = new StreamsApp(
      shout(),
      {
        applicationId: 'shout',
        brokers: ['memory:9092'],
        stateDir: await stateDir(),
        logger: quiet,
        commitIntervalMs: 60_000,
      },
      { clientFactory: factory },
    );
    let release = (): void => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    cluster.faults.delayNext('produce', held, { target: 'shouted' });
    await app.start();
    await cluster.settle();
    const generation = cluster.describeGroup('shout').generationId;
    await send('v', 10);
    await vi.waitFor(() => expect(app.metrics.processed).toBe(10), { timeout: 5_000, interval: 10 });
    // The batch's output is on its way (held) when the group rebalances: the member may not rejoin, and so its
    // partition may not move to another member, before that output is acknowledged.
    cluster.rebalance('shout');
    await cluster.settle();
    expect(cluster.describeGroup('shout').generationId).toBe(generation);
    expect(output()).toEqual([]);
    release();
    await vi.waitFor(() => expect(cluster.describeGroup('shout').generationId).toBeGreaterThan(generation), {
      timeout: 5_000,
      interval: 10,
    });
    expect(output()).toEqual(Array.from({ length: 10 }, (_, i) => `V${i}`));
    expect(app.state).toBe('RUNNING');
    await app.close();
    await producer.close();
    expect(cluster.openClients()).toEqual([]);
  });

  it('at-least-once: a send that fails after the last batch is reported at once, not at the next commit', async () => {
    const { cluster, factory, producer, send, output } = await shoutCluster(1);
    const warnings: string[] = [];
    const app = new StreamsApp(
      shout(),
      {
        applicationId: 'shout',
        brokers: ['memory:9092'],
        stateDir: await stateDir(),
        logger: { ...quiet, warn: (message: string) => warnings.push(message) },
        commitIntervalMs: 60_000,
      },
      { clientFactory: factory },
    );
    cluster.faults.failNext('produce', 'REQUEST_TIMED_OUT', { target: 'shouted' });
    await app.start();
    await send('v', 5);
    await vi.waitFor(() => expect(warnings).toContain('lost Kafka while running; reconnecting in-process'), {
      timeout: 5_000,
      interval: 10,
    });
    await vi.waitFor(() => expect(output()).toEqual(['V0', 'V1', 'V2', 'V3', 'V4']), {
      timeout: 5_000,
      interval: 10,
    });
    await app.close();
    await producer.close();
    expect(cluster.openClients()).toEqual([]);
  });

  it('exactly-once: counts, changelog records and input offsets are committed in transactions read_committed sees', async () => {
    const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
    cluster.createTopic({ topic: 'words', partitions: 2 });
    cluster.createTopic({ topic: 'counts', partitions: 2 });
    const factory = memoryClientFactory(cluster);
    const builder = new StreamsBuilder();
    builder
      .stream('words', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .groupByKey({ keySerde: Serdes.string() })
      .count({ name: 'c', caching: false })
      .toStream()
      .to('counts', { keySerde: Serdes.string(), valueSerde: Serdes.float64() });
    const app = new StreamsApp(
      builder.build(),
      {
        applicationId: 'eos',
        brokers: ['memory:9092'],
        stateDir: await stateDir(),
        logger: quiet,
        processingGuarantee: 'exactly-once',
        commitIntervalMs: 1,
      },
      { clientFactory: factory },
    );
    await app.start();
    const producer = factory.producer();
    await producer.connect();
    const keys = Array.from({ length: 20 }, (_, i) => `k${i % 3}`);
    await producer.send(keys.map((k) => ({ topic: 'words', key: Buffer.from(k), value: Buffer.from('x') })));
    const committed = () => cluster.topicRecords('counts', 'read_committed');
    await vi.waitFor(() => expect(committed()).toHaveLength(keys.length), { timeout: 5_000, interval: 10 });
    await app.close();
    expect(lastCounts(committed())).toEqual(
      new Map([
        ['k0', 7],
        ['k1', 7],
        ['k2', 6],
      ]),
    );
    expect(consumed(cluster, 'eos', 'words')).toBe(keys.length);
    const changelog = cluster.topicRecords('eos-c-changelog', 'read_committed');
    expect(new Set(changelog.map((r) => r.key!.toString()))).toEqual(new Set(['k0', 'k1', 'k2']));
    await producer.close();
    expect(cluster.openClients()).toEqual([]);
  });

  it('exactly-once: a member paused past its session whose transaction is then refused closes the task and rejoins; output once', async () => {
    const { cluster, factory, send } = await shoutCluster(1);
    const config = async () => ({
      applicationId: 'eos',
      brokers: ['memory:9092'],
      stateDir: await stateDir(),
      logger: quiet,
      processingGuarantee: 'exactly-once' as const,
      commitIntervalMs: 1,
    });
    const a = new StreamsApp(shout(), await config(), { clientFactory: factory });
    const errors: StreamsError[] = [];
    a.onError((e) => errors.push(e));
    await a.start();
    const committed = () => cluster.topicRecords('shouted', 'read_committed');
    await send('first', 3);
    await vi.waitFor(() => expect(committed()).toHaveLength(3), { timeout: 5_000, interval: 10 });
    // A's next transaction waits; meanwhile A stops heartbeating past its session and B takes its task over.
    let resume: () => void = () => undefined;
    cluster.faults.delayNext(
      'transaction',
      new Promise<void>((r) => {
        resume = r;
      }),
      { target: 'eos-0_0' },
    );
    await send('second', 2);
    await vi.waitFor(() => expect(cluster.faults.pending).toBe(0), { timeout: 5_000, interval: 10 });
    const memberA = cluster.describeGroup('eos').members[0]!.memberId;
    const unstall = cluster.stallMember('eos', memberA);
    const b = new StreamsApp(shout(), await config(), { clientFactory: factory });
    const starting = b.start();
    cluster.advance(60_001);
    await starting;
    await vi.waitFor(() => expect(committed()).toHaveLength(5), { timeout: 5_000, interval: 10 });
    // A resumes: its held transaction is refused (fenced), which closes the task instead of stopping A.
    resume();
    unstall();
    await cluster.settle();
    await vi.waitFor(() => expect(a.state).toBe('RUNNING'), { timeout: 5_000, interval: 10 });
    expect(errors).toEqual([]);
    expect(
      committed()
        .map((r) => r.value!.toString())
        .sort(),
    ).toEqual(['FIRST0', 'FIRST1', 'FIRST2', 'SECOND0', 'SECOND1'].sort());
    await Promise.all([a.close(), b.close()]);
  });

  it('a static instance restarted within the session timeout gets its partitions back without a rebalance', async () => {
    const { cluster, factory, producer } = await shoutCluster();
    const dirs = [await stateDir(), await stateDir()];
    const instance = (i: number) =>
      new StreamsApp(
        shout(),
        {
          applicationId: 'shout',
          brokers: ['memory:9092'],
          stateDir: dirs[i]!,
          logger: quiet,
          instanceId: `app-${i}`,
        },
        { clientFactory: factory },
      );
    const a = instance(0);
    await a.start();
    const b = instance(1);
    await b.start();
    await cluster.settle();
    const before = cluster.describeGroup('shout');
    await b.close(); // a static member does not leave the group
    cluster.advance(5_000);
    const restarted = instance(1);
    await restarted.start();
    await cluster.settle();
    const after = cluster.describeGroup('shout');
    expect(after.generationId).toBe(before.generationId);
    const byInstance = (g: typeof before) => new Map(g.members.map((m) => [m.groupInstanceId, m.assigned]));
    expect(byInstance(after)).toEqual(byInstance(before));
    expect(a.metrics.rebalances).toBe(2);
    await Promise.all([a.close({ leaveGroup: true }), restarted.close({ leaveGroup: true })]);
    await producer.close();
    expect(cluster.describeGroup('shout').state).toBe('Empty');
    expect(cluster.openClients()).toEqual([]);
  });

  it('close() while start() waits for a connection: start() rejects with CLOSED_DURING_START and nothing is left', async () => {
    const { cluster, factory, producer } = await shoutCluster();
    await producer.close();
    let release: () => void = () => undefined;
    cluster.faults.delayNext(
      'connect',
      new Promise<void>((r) => {
        release = r;
      }),
      { target: 'producer' },
    );
    const app = new StreamsApp(
      shout(),
      { applicationId: 'shout', brokers: ['memory:9092'], stateDir: await stateDir(), logger: quiet },
      { clientFactory: factory },
    );
    const starting = app.start().then(
      () => undefined,
      (e: StreamsError) => e,
    );
    await cluster.settle();
    const closing = app.close();
    release();
    expect(await starting).toMatchObject({ code: 'CLOSED_DURING_START' });
    await closing;
    expect(app.state).toBe('NOT_RUNNING');
    expect(cluster.describeGroup('shout').members).toEqual([]);
    expect(cluster.openClients()).toEqual([]);
  });

  /** Lines keyed by id → rekeyed by word → repartition topic → counted per word in a store → counts. */
  function wordCount(): Topology {
    return new Topology()
      .addRepartitionTopic('by-word')
      .addSource('lines', { topics: ['lines'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .addProcessor(
        'rekey',
        () => {
          let ctx: ProcessorContext<string, string>;
          return {
            init: (c: ProcessorContext<string, string>) => {
              ctx = c;
            },
            process: (r: StreamRecord<string, string>) => ctx.forward({ ...r, key: r.value }),
          };
        },
        'lines',
      )
      .addSink(
        'to-words',
        { repartitionTopic: 'by-word', keySerde: Serdes.string(), valueSerde: Serdes.string() },
        'rekey',
      )
      .addSource('words', {
        repartitionTopic: 'by-word',
        keySerde: Serdes.string(),
        valueSerde: Serdes.string(),
      })
      .addProcessor(
        'count',
        () => {
          let ctx: ProcessorContext<string, number>;
          return {
            init: (c: ProcessorContext<string, number>) => {
              ctx = c;
            },
            process: (r: StreamRecord<string, string>) => {
              const store = ctx.getStateStore<KeyValueStore<string, number>>('word-counts');
              const n = (store.get(r.key) ?? 0) + 1;
              store.put(r.key, n);
              ctx.forward({ ...r, value: n });
            },
          };
        },
        'words',
      )
      .addSink('out', { topic: 'counts', keySerde: Serdes.string(), valueSerde: Serdes.float64() }, 'count')
      .addStateStore(
        keyValueStore({ name: 'word-counts', keySerde: Serdes.string(), valueSerde: Serdes.float64() }),
        'count',
      );
  }

  for (const processingGuarantee of ['at-least-once', 'exactly-once'] as const) {
    it(`${processingGuarantee}: counts words through a repartition topic, commits it to its end and purges it below`, async () => {
      const cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
      cluster.createTopic({ topic: 'lines', partitions: 3 });
      cluster.createTopic({ topic: 'counts', partitions: 3 });
      const factory = memoryClientFactory(cluster);
      const producer = factory.producer();
      await producer.connect();
      const words = Array.from({ length: 60 }, (_, i) => ['red', 'green', 'blue', 'cyan'][i % 4]!);
      await producer.send(
        words.map((w, i) => ({ topic: 'lines', key: Buffer.from(`line-${i}`), value: Buffer.from(w) })),
      );
      const app = new StreamsApp(
        wordCount(),
        {
          applicationId: 'wc',
          brokers: ['memory:9092'],
          stateDir: await stateDir(),
          logger: quiet,
          processingGuarantee,
          commitIntervalMs: 1,
        },
        { clientFactory: factory },
      );
      await app.start();
      const repartition = 'wc-by-word-repartition';
      expect(cluster.partitionCount(repartition)).toBe(3);
      const isolation = processingGuarantee === 'exactly-once' ? 'read_committed' : 'read_uncommitted';
      const counts = () => cluster.topicRecords('counts', isolation);
      await vi.waitFor(() => expect(counts()).toHaveLength(words.length), { timeout: 5_000, interval: 10 });
      await app.close();
      expect(lastCounts(counts())).toEqual(
        new Map([
          ['red', 15],
          ['green', 15],
          ['blue', 15],
          ['cyan', 15],
        ]),
      );
      // DeleteRecords after a commit (at most once per purge interval): only records below the committed offsets go.
      const committed = cluster.committedOffsets('wc');
      const starts = [0, 1, 2].map((p) => cluster.partition(repartition, p).logStartOffset);
      for (const [p, start] of starts.entries()) {
        expect(start).toBeLessThanOrEqual(committed.get(`${repartition}:${p}`) ?? 0n);
      }
      expect(starts.some((start) => start > 0n)).toBe(true);
      // Committed past each partition's last entry, a transaction's commit marker included: no lag is left over.
      for (const p of [0, 1, 2]) {
        expect(committed.get(`${repartition}:${p}`) ?? 0n).toBe(
          cluster.partition(repartition, p).highWatermark,
        );
      }
      await producer.close();
      expect(cluster.openClients()).toEqual([]);
    });
  }
});
