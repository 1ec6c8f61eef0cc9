// At-least-once output between commits: sent in the background, one send at a time and in order; a commit waits
// for the send under way before any offset, and a failed send is reported by the next flush or commit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { Serdes, StreamsBuilder, StreamsError } from '../src/index.js';
import { MemoryKafkaCluster, memoryClientFactory } from '../src/internals.js';
import type { ConsumerPort, OutgoingRecord, ProducerPort, TopicPartitionOffset } from '../src/kafka/port.js';
import { AtLeastOnceCommit } from '../src/runtime/commit/at-least-once-commit.js';
import { PendingOffsets } from '../src/runtime/commit/pending-offsets.js';
import { RecordCollector } from '../src/runtime/record-collector.js';
import { TaskId } from '../src/runtime/task-id.js';
import { TaskManager } from '../src/runtime/task-manager.js';
import { FakeAdmin } from './fake-admin.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Lets pending callbacks run: enough turns of the event loop for an unblocked send or flush to settle. */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** Whether `work` settled yet, and how. */
function watch(work: Promise<unknown>) {
  const state = { done: false, error: undefined as unknown };
  work.then(
    () => {
      state.done = true;
    },
    (err: unknown) => {
      state.done = true;
      state.error = err;
    },
  );
  return state;
}

function gate() {
  let open = (): void => undefined;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

const value = (r: OutgoingRecord) => r.value?.toString();

describe('at-least-once output between commits', () => {
  let stateDir: string;
  let cluster: MemoryKafkaCluster;
  let manager: TaskManager;
  let collector: RecordCollector;
  let commit: AtLeastOnceCommit;
  let offsets: PendingOffsets;
  /** Each send the collector made, and how many were under way at once at most. */
  let sends: string[][];
  let mostAtOnce: number;
  /** Each offset commit, with how many output records Kafka held when it was made. */
  let committed: { offsets: TopicPartitionOffset[]; output: number }[];
  const next = new Map<number, number>();

  const output = () => cluster.topicRecords('out').map((r) => r.value!.toString());

  beforeEach(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'eddy-alos-output-'));
    cluster = new MemoryKafkaCluster({ startTime: 1_700_000_000_000 });
    cluster.createTopic({ topic: 'words', partitions: 2 });
    cluster.createTopic({ topic: 'out', partitions: 1 });
    const factory = memoryClientFactory(cluster);
    const producer = factory.producer();
    await producer.connect();
    sends = [];
    mostAtOnce = 0;
    let atOnce = 0;
    const counting: ProducerPort = {
      connect: async () => undefined,
      send: async (records) => {
        sends.push(records.map((r) => value(r)!));
        mostAtOnce = Math.max(mostAtOnce, ++atOnce);
        try {
          return await producer.send(records);
        } finally {
          atOnce--;
        }
      },
      close: () => producer.close(),
    };
    collector = new RecordCollector(counting);
    const builder = new StreamsBuilder();
    builder
      .stream('words', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .mapValues((w) => w?.toUpperCase() ?? null)
      .to('out', { keySerde: Serdes.string(), valueSerde: Serdes.string() });
    manager = new TaskManager({
      config: resolveConfig({ applicationId: 'alos', brokers: ['memory:9092'], stateDir, logger: quiet }),
      graph: builder.build().seal('alos'),
      collector,
      admin: new FakeAdmin(),
      reader: {
        read: async () => {
          throw new Error('a stateless task restores nothing');
        },
        close: async () => undefined,
      },
      factory,
    });
    offsets = new PendingOffsets();
    committed = [];
    next.clear();
    const consumer = {
      commit: async (o: TopicPartitionOffset[]) =>
        void committed.push({ offsets: o, output: output().length }),
      groupMetadata: () => ({ groupId: 'alos', generationId: 1, memberId: 'm-1' }),
    } as ConsumerPort;
    commit = new AtLeastOnceCommit({
      tasks: manager,
      offsets,
      consumer,
      collector,
      logger: quiet,
      onCommitPhase: undefined,
      onTaskMigrated: () => undefined,
    });
  });
  afterEach(async () => {
    await manager.closeAll();
    rmSync(stateDir, { recursive: true, force: true });
  });

  /** Processes `words` in the task of `partition`, as the thread does with a fetched batch. */
  async function feed(partition: number, ...words: string[]): Promise<void> {
    const { task } = await manager.ensure(TaskId.of(0, partition));
    const from = next.get(partition) ?? 0;
    next.set(partition, from + words.length);
    task.addRecords(
      'words',
      words.map((w, i) => ({
        offset: String(from + i),
        key: Buffer.from(w),
        value: Buffer.from(w),
        timestamp: 1_000,
        headers: {},
      })),
    );
    task.process();
    offsets.record(task);
  }

  it('flushOutput starts a send and returns without waiting for its acknowledgement', async () => {
    const held = gate();
    cluster.faults.delayNext('produce', held.promise, { target: 'out' });
    await feed(0, 'a', 'b');
    const flushed = watch(commit.flushOutput());
    await turns();
    expect(flushed).toEqual({ done: true, error: undefined });
    expect(sends).toEqual([['A', 'B']]);
    expect(output()).toEqual([]);
    expect(collector.pending).toBe(2);
    expect(collector.sent).toBe(0);
    held.open();
    await collector.settle();
    expect(output()).toEqual(['A', 'B']);
    expect(collector.sent).toBe(2);
    expect(collector.pending).toBe(0);
  });

  it('one send at a time: the next flushOutput waits for the send under way, and the output keeps its order', async () => {
    const held = gate();
    cluster.faults.delayNext('produce', held.promise, { target: 'out' });
    await feed(0, 'a1', 'a2');
    const first = watch(commit.flushOutput());
    await turns();
    expect(first.done).toBe(true);
    await feed(0, 'b1');
    const second = watch(commit.flushOutput());
    await turns();
    expect(second.done).toBe(false);
    expect(sends).toEqual([['A1', 'A2']]);
    held.open();
    await turns();
    expect(second).toEqual({ done: true, error: undefined });
    await collector.settle();
    expect(sends).toEqual([['A1', 'A2'], ['B1']]);
    expect(mostAtOnce).toBe(1);
    expect(output()).toEqual(['A1', 'A2', 'B1']);
  });

  it('a commit waits for the send under way, then sends the rest, and only then commits offsets', async () => {
    const held = gate();
    cluster.faults.delayNext('produce', held.promise, { target: 'out' });
    await feed(0, 'a', 'b');
    const flushed = watch(commit.flushOutput());
    await turns();
    expect(flushed.done).toBe(true);
    await feed(1, 'c');
    const committing = commit.commit();
    const state = watch(committing);
    await turns();
    expect(state.done).toBe(false);
    expect(committed).toEqual([]);
    expect(sends).toEqual([['A', 'B']]);
    held.open();
    const done = await committing;
    expect(done.map((o) => `${o.topic}:${o.partition}:${o.offset}`).sort()).toEqual([
      'words:0:2',
      'words:1:1',
    ]);
    // Every output record was acknowledged before the offsets went in.
    expect(committed.map((c) => c.output)).toEqual([3]);
    expect(sends).toEqual([['A', 'B'], ['C']]);
    expect(mostAtOnce).toBe(1);
  });

  it('a background send that fails is reported by the next flushOutput as PRODUCE_FAILED, its records kept in order', async () => {
    cluster.faults.failNext('produce', 'REQUEST_TIMED_OUT', { target: 'out' });
    await feed(0, 'a', 'b');
    await expect(commit.flushOutput()).resolves.toBeUndefined();
    await turns();
    await feed(0, 'c');
    const err = await commit.flushOutput().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamsError);
    expect(err).toMatchObject({ code: 'PRODUCE_FAILED', cause: { type: 'REQUEST_TIMED_OUT' } });
    // Nothing was sent after the failure; the failed records wait ahead of the newer ones.
    expect(sends).toEqual([['A', 'B']]);
    expect(collector.pending).toBe(3);
    expect(output()).toEqual([]);
    await commit.commit();
    expect(output()).toEqual(['A', 'B', 'C']);
    expect(committed.map((c) => c.output)).toEqual([3]);
  });

  it('a background send that fails fails the commit, which commits no offset', async () => {
    const held = gate();
    cluster.faults.delayNext('produce', held.promise, { target: 'out' });
    cluster.faults.failNext('produce', 'REQUEST_TIMED_OUT', { target: 'out' });
    await feed(0, 'a');
    const flushed = watch(commit.flushOutput());
    await turns();
    expect(flushed).toEqual({ done: true, error: undefined });
    await feed(1, 'b');
    const committing = commit.commit().catch((e: unknown) => e);
    await turns();
    held.open();
    expect(await committing).toMatchObject({ code: 'PRODUCE_FAILED', cause: { type: 'REQUEST_TIMED_OUT' } });
    expect(committed).toEqual([]);
    expect(output()).toEqual([]);
    expect(collector.pending).toBe(2);
    expect(sends).toEqual([['A']]);
  });

  it('a rollback takes back only what was added after its mark, never records handed to a send', async () => {
    cluster.faults.failNext('produce', 'REQUEST_TIMED_OUT', { target: 'out' });
    const record = (v: string): OutgoingRecord => ({ topic: 'out', key: null, value: Buffer.from(v) });
    collector.add(record('a'));
    collector.startSend();
    const mark = collector.mark();
    collector.add(record('b'));
    // The failed send puts "a" back at the head of the buffer while "b" waits behind it.
    await expect(collector.settle()).rejects.toMatchObject({ code: 'PRODUCE_FAILED' });
    collector.rollback(mark);
    expect(collector.pending).toBe(1);
    await collector.flush();
    expect(output()).toEqual(['a']);
  });
});
