// The at-least-once commit: each task's changelog records in one transaction of its own, a task that becomes ready
// while a commit is in flight takes no part in it, and a task whose producer a new owner fenced drops out.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { Serdes, StreamsBuilder, StreamsError } from '../src/index.js';
import type {
  ChangelogReaderPort,
  ConsumedRecord,
  ConsumerPort,
  KafkaClientFactory,
  OutgoingRecord,
  TopicPartitionOffset,
  TransactionalProducerPort,
} from '../src/kafka/port.js';
import { AtLeastOnceCommit } from '../src/runtime/commit/at-least-once-commit.js';
import { PendingOffsets } from '../src/runtime/commit/pending-offsets.js';
import { DRAIN_ONLY, RecordCollector } from '../src/runtime/record-collector.js';
import { TaskId } from '../src/runtime/task-id.js';
import { TaskManager } from '../src/runtime/task-manager.js';
import { FakeAdmin } from './fake-admin.js';

const COUNTS = 'tm-app-counts-changelog';
const LENGTHS = 'tm-app-lengths-changelog';

/** Changelogs in these tests are empty: a reader that is asked to read is a failure of the test. */
const noReads: ChangelogReaderPort = {
  read: async () => {
    throw new Error('nothing to restore here');
  },
  close: async () => undefined,
};

/**
 * Transactional producers that keep each committed transaction's records, per transactional id; a transaction
 * waits while `hold` is set, and the ids in `fenced` fail as a newer owner fenced them.
 */
function transactionLog() {
  const log = {
    transactions: [] as { id: string; records: OutgoingRecord[] }[],
    fenced: new Set<string>(),
    hold: undefined as Promise<void> | undefined,
    waiting: 0,
    release: (): void => undefined,
    /** Makes the next transactions wait until `release()`. */
    holdAll() {
      log.hold = new Promise<void>((r) => {
        log.release = () => {
          log.hold = undefined;
          r();
        };
      });
    },
  };
  let next = 0n;
  const factory = {
    transactionalProducer: (id: string): TransactionalProducerPort => ({
      connect: async () => undefined,
      commitTransaction: async (records) => {
        if (log.hold) {
          log.waiting++;
          await log.hold;
        }
        if (log.fenced.has(id)) throw new StreamsError('TASK_MIGRATED', `${id} was fenced`);
        log.transactions.push({ id, records });
        const last = new Map<string, bigint>();
        for (const r of records) last.set(`${r.topic}:${r.partition}`, next++);
        return last;
      },
      close: async () => undefined,
    }),
  } as unknown as KafkaClientFactory;
  return { log, factory };
}

const word = (offset: number, key: string): ConsumedRecord => ({
  offset: String(offset),
  key: Buffer.from(key),
  value: Buffer.from(key),
  timestamp: 1_000 + offset,
  headers: {},
});

describe('AtLeastOnceCommit', () => {
  let stateDir: string;
  let manager: TaskManager;
  let log: ReturnType<typeof transactionLog>['log'];
  let commit: AtLeastOnceCommit;
  let offsets: PendingOffsets;
  let migrated: TaskId[];
  const committed: TopicPartitionOffset[][] = [];

  beforeEach(() => {
    const t = transactionLog();
    log = t.log;
    migrated = [];
    stateDir = mkdtempSync(join(tmpdir(), 'eddy-commit-'));
    // One subtopology with two logged stores, each counting the words.
    const builder = new StreamsBuilder();
    const words = builder.stream('words', { keySerde: Serdes.string(), valueSerde: Serdes.string() });
    words.groupByKey({ keySerde: Serdes.string() }).count({ name: 'counts' });
    words
      .filter(() => true)
      .groupByKey({ keySerde: Serdes.string() })
      .count({ name: 'lengths' });
    const admin = new FakeAdmin();
    admin.set(COUNTS, [0, 0], [0, 0]);
    admin.set(LENGTHS, [0, 0], [0, 0]);
    manager = new TaskManager({
      config: resolveConfig({ applicationId: 'tm-app', brokers: ['127.0.0.1:9092'], stateDir }),
      graph: builder.build().seal('tm-app'),
      collector: new RecordCollector(DRAIN_ONLY),
      admin,
      reader: noReads,
      factory: t.factory,
    });
    offsets = new PendingOffsets();
    const consumer = {
      commit: async (o: TopicPartitionOffset[]) => void committed.push(o),
      groupMetadata: () => ({ groupId: 'tm-app', generationId: 1, memberId: 'm-1' }),
    } as ConsumerPort;
    commit = new AtLeastOnceCommit({
      tasks: manager,
      offsets,
      consumer,
      collector: new RecordCollector(DRAIN_ONLY),
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      onCommitPhase: undefined,
      onTaskMigrated: (id) => migrated.push(id),
    });
  });
  afterEach(async () => {
    await manager.closeAll();
    rmSync(stateDir, { recursive: true, force: true });
  });

  async function feed(partition: number, ...keys: string[]): Promise<void> {
    const { task } = await manager.ensure(TaskId.of(0, partition));
    task.addRecords(
      'words',
      keys.map((k, i) => word(i, k)),
    );
    task.process();
    offsets.record(task);
  }

  it("writes each task's changelog records, of all its stores, in one transaction of its own", async () => {
    await feed(0, 'a');
    await feed(1, 'bb');
    await commit.commit();
    expect(
      log.transactions.map((t) => [t.id, t.records.map((r) => `${r.topic}:${r.partition}`).sort()]).sort(),
    ).toEqual([
      ['tm-app-0_0', [`${COUNTS}:0`, `${LENGTHS}:0`]],
      ['tm-app-0_1', [`${COUNTS}:1`, `${LENGTHS}:1`]],
    ]);
    // Each checkpoint is one past its store's last record: the commit marker follows the transaction's last record.
    const first = manager.get(TaskId.of(0, 0))!.state!;
    expect(first.changelogOffset('counts')).toBe(1n);
    expect(first.changelogOffset('lengths')).toBe(2n);
  });

  it('completes only the tasks it flushed; a task ready in between commits next time', async () => {
    await feed(0, 'a', 'a');
    log.holdAll();
    const committing = commit.commit();
    while (log.waiting === 0) await new Promise((r) => setImmediate(r));
    // Task 0_1 finishes restoring while the changelog records of task 0_0 are on their way.
    await feed(1, 'b');
    log.release();
    await committing;
    expect(log.transactions.map((t) => t.id)).toEqual(['tm-app-0_0']);
    expect(manager.get(TaskId.of(0, 0))!.state!.changelogOffset('counts')).toBeDefined();
    expect(manager.get(TaskId.of(0, 1))!.state!.changelogOffset('counts')).toBeUndefined();
    // The next commit carries task 0_1's change.
    await commit.commit();
    expect(log.transactions.map((t) => t.id)).toEqual(['tm-app-0_0', 'tm-app-0_1']);
    expect(manager.get(TaskId.of(0, 1))!.state!.changelogOffset('counts')).toBeDefined();
  });

  it('leaves out the offsets of a task closed while the commit flushes output (a reconnect releasing the tasks)', async () => {
    let release = (): void => undefined;
    const flushing = new Promise<void>((r) => {
      release = r;
    });
    let flushes = 0;
    const holdingCollector = {
      flush: async () => {
        flushes++;
        await flushing;
      },
    } as unknown as RecordCollector;
    const held = new AtLeastOnceCommit({
      tasks: manager,
      offsets,
      consumer: {
        commit: async (o: TopicPartitionOffset[]) => void committed.push(o),
        groupMetadata: () => ({ groupId: 'tm-app', generationId: 1, memberId: 'm-1' }),
      } as ConsumerPort,
      collector: holdingCollector,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      onCommitPhase: undefined,
      onTaskMigrated: (id) => migrated.push(id),
    });
    await feed(0, 'a');
    await feed(1, 'b');
    const committing = held.commit();
    while (flushes === 0) await new Promise((r) => setImmediate(r));
    // Task 0_1's processed input is in the pending offsets, its changes only in its (now dropped) staged state.
    await manager.closeDirty(TaskId.of(0, 1));
    release();
    const done = await committing;
    expect(log.transactions.map((t) => t.id)).toEqual(['tm-app-0_0']);
    expect(done.map((o) => o.partition)).toEqual([0]);
    expect(committed.at(-1)!.map((o) => o.partition)).toEqual([0]);
  });

  it('a task whose producer its new owner fenced is closed without committing, its offsets left out', async () => {
    await feed(0, 'a');
    await feed(1, 'b');
    log.fenced.add('tm-app-0_1');
    const done = await commit.commit();
    expect(migrated.map(String)).toEqual(['0_1']);
    expect(manager.get(TaskId.of(0, 1))).toBeUndefined();
    expect(manager.get(TaskId.of(0, 0))!.state!.changelogOffset('counts')).toBeDefined();
    expect(done.map((o) => o.partition)).toEqual([0]);
    expect(committed.at(-1)!.map((o) => o.partition)).toEqual([0]);
  });
});
