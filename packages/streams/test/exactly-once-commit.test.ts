// The exactly-once commit: a task skips input committed by the owner it fenced, a task whose transaction was refused
// (fenced, or its generation over) is closed without committing while the others commit, the tasks' transactions run
// at the same time, and a store that cannot write its state after the transaction stops the commit with
// STATE_FAILED.
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
  let pending: PendingOffsets;
  /** What the producers did, in order: `begin <id>`, `commit <id>`, `refuse <id>`. */
  let events: string[];
  /** Per transactional id: how many turns of the event loop its transaction takes before it ends. */
  let turns: Map<string, number>;
  /** Per transactional id: its transaction ends only once this holds (checked every turn). */
  let gates: Map<string, () => boolean>;

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
    pending = new PendingOffsets();
    events = [];
    turns = new Map();
    gates = new Map();
    const producer = (id: string): TransactionalProducerPort => ({
      // The previous owner's open transaction completes while this producer registers its transactional id.
      connect: async () => {
        admin.committed.set('words:0', 2n);
      },
      commitTransaction: async (records) => {
        events.push(`begin ${id}`);
        for (let i = turns.get(id) ?? 0; i > 0; i--) await new Promise((r) => setImmediate(r));
        while (gates.get(id)?.() === false) await new Promise((r) => setImmediate(r));
        if (refused.has(id)) {
          events.push(`refuse ${id}`);
          throw new StreamsError('TASK_MIGRATED', `${id} refused`);
        }
        events.push(`commit ${id}`);
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
      offsets: pending,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      onTaskMigrated: (id) => {
        events.push(`migrated ${id}`);
        migrated.push(id.toString());
      },
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

  it("runs the tasks' transactions at once; a task fenced meanwhile leaves the other's commit whole", async () => {
    await manager.ensure(TaskId.of(0, 0));
    await manager.ensure(TaskId.of(0, 1));
    for (const { task } of manager.active()) {
      task.addRecords('words', [word(5, 'x')]);
      task.process();
      pending.record(task);
    }
    const survivor = manager.get(TaskId.of(0, 0))!;
    const completed = survivor.state!.completeCommit.bind(survivor.state!);
    survivor.state!.completeCommit = async (offsets) => {
      events.push('state 0_0');
      await completed(offsets);
    };
    // 0_1 is refused while 0_0's transaction is still open, and closed before 0_0's commits.
    refused.add('eos-app-0_1');
    gates.set('eos-app-0_0', () => events.includes('migrated 0_1'));
    turns.set('eos-app-0_1', 1);
    const committed = await commit.commit();
    expect(events).toEqual([
      'begin eos-app-0_0',
      'begin eos-app-0_1',
      'refuse eos-app-0_1',
      'migrated 0_1',
      'commit eos-app-0_0',
      'state 0_0',
    ]);
    expect(committed).toEqual([{ topic: 'words', partition: 0, offset: '6' }]);
    // 0_0's offsets were committed, 0_1's forgotten (its new owner replays them): nothing is left to commit.
    expect(pending.size).toBe(0);
    expect(survivor.state!.changelogOffset('counts')).toBe(0n);
    expect(manager.active().map((a) => a.task.id.toString())).toEqual(['0_0']);
    expect(commit.commits).toBe(1);
  });

  it("commits the other tasks when one task's transaction fails, then reports the failure", async () => {
    await manager.ensure(TaskId.of(0, 0));
    await manager.ensure(TaskId.of(0, 1));
    for (const { task } of manager.active()) {
      task.addRecords('words', [word(5, 'x')]);
      task.process();
      pending.record(task);
    }
    const failing = manager.get(TaskId.of(0, 0))!;
    failing.producer!.commitTransaction = async () => {
      events.push('begin eos-app-0_0');
      throw new Error('broker gone');
    };
    turns.set('eos-app-0_1', 2);
    const failure = await commit.commit().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toMatchObject({ code: 'COMMIT_FAILED' });
    // 0_1 committed after 0_0 failed, and its offsets are done with; 0_0's are dropped: its failed transaction took
    // its output, so no later commit may commit that input without it (it replays from the last commit).
    expect(events).toEqual(['begin eos-app-0_0', 'begin eos-app-0_1', 'commit eos-app-0_1']);
    expect(pending.size).toBe(0);
    expect(manager.get(TaskId.of(0, 1))!.state!.changelogOffset('counts')).toBe(0n);
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
