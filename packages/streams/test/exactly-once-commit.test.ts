// The exactly-once commit: a task skips input committed by the owner it fenced, a task whose transaction was refused
// (fenced, or its generation over) is closed without committing while the others commit, and a store that cannot
// write its state after the transaction stops the commit with STATE_FAILED.
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
  TransactionalProducerPort,
} from '../src/kafka/port.js';
import { ExactlyOnceCommit } from '../src/runtime/commit/exactly-once-commit.js';
import { PendingOffsets } from '../src/runtime/commit/pending-offsets.js';
import { DRAIN_ONLY, RecordCollector } from '../src/runtime/record-collector.js';
import { TaskId } from '../src/runtime/task-id.js';
import { TaskManager } from '../src/runtime/task-manager.js';
import { FakeAdmin } from './fake-admin.js';

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

describe('ExactlyOnceCommit', () => {
  let stateDir: string;
  let admin: FakeAdmin;
  let manager: TaskManager;
  let commit: ExactlyOnceCommit;
  let sent: { id: string; records: OutgoingRecord[] }[];
  let refused: Set<string>;
  let migrated: string[];

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'eddy-eos-commit-'));
    const builder = new StreamsBuilder();
    builder
      .stream('words', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .groupByKey({ keySerde: Serdes.string() })
      .count({ name: 'counts' });
    admin = new FakeAdmin();
    admin.set('eos-app-counts-changelog', [0, 0], [0, 0]);
    sent = [];
    refused = new Set();
    migrated = [];
    const producer = (id: string): TransactionalProducerPort => ({
      // The previous owner's open transaction completes while this producer registers its transactional id.
      connect: async () => {
        admin.committed.set('words:0', 2n);
      },
      commitTransaction: async (records) => {
        if (refused.has(id)) throw new StreamsError('TASK_MIGRATED', `${id} refused`);
        sent.push({ id, records });
        const last = new Map<string, bigint>();
        for (const r of records) if (r.partition !== undefined) last.set(`${r.topic}:${r.partition}`, 0n);
        return last;
      },
      close: async () => undefined,
    });
    manager = new TaskManager({
      config: resolveConfig({
        applicationId: 'eos-app',
        brokers: ['127.0.0.1:9092'],
        stateDir,
        processingGuarantee: 'exactly-once',
      }),
      graph: builder.build().seal('eos-app'),
      collector: new RecordCollector(DRAIN_ONLY),
      admin,
      reader: noReads,
      factory: { transactionalProducer: producer } as unknown as KafkaClientFactory,
    });
    const consumer = {
      groupMetadata: () => ({ groupId: 'eos-app', generationId: 3, memberId: 'm-1' }),
    } as ConsumerPort;
    commit = new ExactlyOnceCommit({
      tasks: manager,
      consumer,
      offsets: new PendingOffsets(),
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      onTaskMigrated: (id) => migrated.push(id.toString()),
    });
  });
  afterEach(async () => {
    await manager.closeAll();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('skips input below the offsets committed when its producer fenced the previous owner', async () => {
    const { task } = await manager.ensure(TaskId.of(0, 0));
    // Fetched from the offsets read at the assignment, before the previous owner's last transaction completed.
    task.addRecords('words', [word(0, 'a'), word(1, 'a'), word(2, 'b'), word(3, 'b')]);
    task.process();
    expect(task.consumedPositions.get('words')).toBe('3');
    await commit.commit();
    // Only the input from offset 2 on was processed: the changelog has b's count and nothing of a.
    expect(sent.flatMap((t) => t.records.map((r) => r.key?.toString()))).toEqual(['b']);
  });

  it('closes a task whose transaction was refused, without committing; the other tasks commit', async () => {
    await manager.ensure(TaskId.of(0, 0));
    await manager.ensure(TaskId.of(0, 1));
    for (const { task } of manager.active()) {
      task.addRecords('words', [word(5, 'x')]);
      task.process();
    }
    refused.add('eos-app-0_1');
    await commit.commit();
    expect(sent.map((t) => t.id)).toEqual(['eos-app-0_0']);
    expect(migrated).toEqual(['0_1']);
    expect(manager.active().map((a) => a.task.id.toString())).toEqual(['0_0']);
  });

  it('fails with STATE_FAILED when a store cannot write the state of a committed transaction', async () => {
    const active = await manager.ensure(TaskId.of(0, 0));
    active.task.addRecords('words', [word(5, 'x')]);
    active.task.process();
    active.state!.completeCommit = async () => {
      throw new Error('ENOSPC: no space left on device');
    };
    const failure = await commit.commit().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(StreamsError);
    expect(failure).toMatchObject({ code: 'STATE_FAILED' });
    expect((failure as Error).message).toContain('ENOSPC');
    // The transaction went out: the changelog holds the count.
    expect(sent.map((t) => t.id)).toEqual(['eos-app-0_0']);
  });
});
