// TaskManager commits: a task that becomes ready between prepareCommit and completeCommit takes no part in that commit;
// under exactly-once a task skips input its previous owner committed, and a refused transaction closes the tasks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { Serdes, StreamsBuilder } from '../src/index.js';
import { StreamsError } from '../src/errors.js';
import type {
  ChangelogReaderPort,
  ConsumedRecord,
  KafkaClientFactory,
  OutgoingRecord,
  TransactionalProducerPort,
} from '../src/kafka/port.js';
import { DRAIN_ONLY, RecordCollector } from '../src/runtime/record-collector.js';
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

describe('TaskManager commit', () => {
  let stateDir: string;
  let manager: TaskManager;

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
      graph: builder.build().seal(),
      collector: new RecordCollector(DRAIN_ONLY),
      admin,
      reader: noReads,
      factory: {} as KafkaClientFactory,
    });
  });
  afterEach(async () => {
    await manager.closeAll();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('completes only the tasks it prepared; a task ready in between commits next time', async () => {
    const first = await manager.ensure(0);
    first.task.addRecords('words', [word(0, 'a'), word(1, 'a')]);
    first.task.process();
    const changelog = manager.prepareCommit();
    expect(changelog.map((r) => r.partition)).toEqual([0]);
    // Task 1 finishes restoring while the changelog records of task 0 are on their way.
    const second = await manager.ensure(1);
    second.task.addRecords('words', [word(0, 'b')]);
    second.task.process();
    await manager.completeCommit(new Map([[`${CHANGELOG}:0`, 7n]]));
    expect(first.state!.changelogOffset('counts')).toBe(7n);
    expect(second.state!.changelogOffset('counts')).toBeUndefined();
    // The next commit carries task 1's change.
    const next = manager.prepareCommit();
    expect(next.map((r) => r.partition)).toEqual([1]);
    await manager.completeCommit(new Map([[`${CHANGELOG}:1`, 0n]]));
    expect(second.state!.changelogOffset('counts')).toBe(0n);
  });
});

describe('TaskManager exactly-once', () => {
  let stateDir: string;
  let admin: FakeAdmin;
  let manager: TaskManager;
  /** What each task's producer does when it commits; by transactional id. */
  let commit: (id: string) => Promise<Map<string, bigint>>;
  let sent: OutgoingRecord[];
  const group = { groupId: 'eos-app', generationId: 3, memberId: 'm-1' };

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'eddy-task-manager-eos-'));
    const builder = new StreamsBuilder();
    builder
      .stream('words', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .groupByKey({ keySerde: Serdes.string() })
      .count({ name: 'counts' });
    admin = new FakeAdmin();
    admin.set('eos-app-counts-changelog', [0, 0], [0, 0]);
    // The offset of the last changelog record the transaction wrote, per changelog partition.
    commit = async (id) => new Map([[`eos-app-counts-changelog:${id.slice(-1)}`, 0n]]);
    sent = [];
    const producer = (id: string): TransactionalProducerPort => ({
      // The previous owner's open transaction completes while this producer registers its transactional id.
      connect: async () => {
        admin.committed.set('words:0', 2n);
      },
      commitTransaction: (records) => {
        sent.push(...records);
        return commit(id);
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
      graph: builder.build().seal(),
      collector: new RecordCollector(DRAIN_ONLY),
      admin,
      reader: noReads,
      factory: { transactionalProducer: producer } as unknown as KafkaClientFactory,
    });
  });
  afterEach(async () => {
    await manager.closeAll();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('skips input below the offsets committed when its producer fenced the previous owner', async () => {
    const { task } = await manager.ensure(0);
    // Fetched from the offsets read at the assignment, before the previous owner's last transaction completed.
    task.addRecords('words', [word(0, 'a'), word(1, 'a'), word(2, 'b'), word(3, 'b')]);
    task.process();
    expect(task.consumedPositions.get('words')).toBe('3');
    await manager.commitTransactions(() => [], group);
    // Only the input from offset 2 on was processed: the changelog has b's count and nothing of a.
    expect(sent.map((r) => r.key?.toString())).toEqual(['b']);
  });

  it('closes the tasks not committed and rethrows when a transaction is refused (TASK_MIGRATED)', async () => {
    await manager.ensure(0);
    await manager.ensure(1);
    const committed: string[] = [];
    commit = async (id) => {
      if (id === 'eos-app-0_1') throw new StreamsError('TASK_MIGRATED', 'refused');
      committed.push(id);
      return new Map([['eos-app-counts-changelog:0', 0n]]);
    };
    await expect(manager.commitTransactions(() => [], group)).rejects.toMatchObject({
      code: 'TASK_MIGRATED',
    });
    expect(committed).toEqual(['eos-app-0_0']);
    expect(manager.active().map((a) => a.task.partition)).toEqual([0]);
  });
});
