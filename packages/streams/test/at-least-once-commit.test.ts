// The at-least-once commit: a task that becomes ready while a commit's changelog records are in flight takes no part in it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { Serdes, StreamsBuilder } from '../src/index.js';
import type {
  ChangelogReaderPort,
  ConsumedRecord,
  ConsumerPort,
  KafkaClientFactory,
  OutgoingRecord,
  ProducerPort,
  TopicPartitionOffset,
} from '../src/kafka/port.js';
import { AtLeastOnceCommit } from '../src/runtime/commit/at-least-once-commit.js';
import { PendingOffsets } from '../src/runtime/commit/pending-offsets.js';
import { DRAIN_ONLY, RecordCollector } from '../src/runtime/record-collector.js';
import { TaskId } from '../src/runtime/task-id.js';
import { TaskManager } from '../src/runtime/task-manager.js';
import { FakeAdmin } from './fake-admin.js';

const CHANGELOG = 'tm-app-counts-changelog';

/** Changelogs in these tests are empty: a reader that is asked to read is a failure of the test. */
const noReads: ChangelogReaderPort = {
  read: async () => {
    throw new Error('nothing to restore here');
  },
  close: async () => undefined,
};

const word = (offset: number, key: string): ConsumedRecord => ({
  offset: String(offset),
  key: Buffer.from(key),
  value: Buffer.from(key),
  timestamp: 1_000 + offset,
  headers: {},
});

/** Acknowledges each changelog send only when the test says so, with the last offset per partition. */
class HeldProducer implements ProducerPort {
  private next = 0n;
  release: () => void = () => undefined;
  sends: OutgoingRecord[][] = [];
  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  send(records: OutgoingRecord[]): Promise<Map<string, bigint>> {
    this.sends.push(records);
    return new Promise((resolve) => {
      this.release = () => {
        const last = new Map<string, bigint>();
        for (const r of records) last.set(`${r.topic}:${r.partition}`, this.next++);
        resolve(last);
      };
    });
  }
}

describe('AtLeastOnceCommit', () => {
  let stateDir: string;
  let manager: TaskManager;
  let producer: HeldProducer;
  let commit: AtLeastOnceCommit;
  const committed: TopicPartitionOffset[][] = [];

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'eddy-task-manager-'));
    const builder = new StreamsBuilder();
    builder
      .stream('words', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .groupByKey({ keySerde: Serdes.string() })
      .count({ name: 'counts' });
    const admin = new FakeAdmin();
    admin.set(CHANGELOG, [0, 0], [0, 0]);
    manager = new TaskManager({
      config: resolveConfig({ applicationId: 'tm-app', brokers: ['127.0.0.1:9092'], stateDir }),
      graph: builder.build().seal('tm-app'),
      collector: new RecordCollector(DRAIN_ONLY),
      admin,
      reader: noReads,
      factory: {} as KafkaClientFactory,
    });
    producer = new HeldProducer();
    const consumer = { commit: async (o: TopicPartitionOffset[]) => void committed.push(o) } as ConsumerPort;
    commit = new AtLeastOnceCommit({
      tasks: manager,
      offsets: new PendingOffsets(),
      consumer,
      producer,
      collector: new RecordCollector(DRAIN_ONLY),
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      onCommitPhase: undefined,
    });
  });
  afterEach(async () => {
    await manager.closeAll();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('completes only the tasks it flushed; a task ready in between commits next time', async () => {
    const first = await manager.ensure(TaskId.of(0, 0));
    first.task.addRecords('words', [word(0, 'a'), word(1, 'a')]);
    first.task.process();
    const committing = commit.commit();
    await new Promise((r) => setImmediate(r));
    expect(producer.sends.map((batch) => batch.map((r) => r.partition))).toEqual([[0]]);
    // Task 1 finishes restoring while the changelog records of task 0 are on their way.
    const second = await manager.ensure(TaskId.of(0, 1));
    second.task.addRecords('words', [word(0, 'b')]);
    second.task.process();
    producer.release();
    await committing;
    expect(first.state!.changelogOffset('counts')).toBe(0n);
    expect(second.state!.changelogOffset('counts')).toBeUndefined();
    // The next commit carries task 1's change.
    const next = commit.commit();
    await new Promise((r) => setImmediate(r));
    expect(producer.sends[1]!.map((r) => r.partition)).toEqual([1]);
    producer.release();
    await next;
    expect(second.state!.changelogOffset('counts')).toBe(1n);
  });
});
