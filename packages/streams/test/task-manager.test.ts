// TaskManager commits: a task that becomes ready between prepareCommit and completeCommit takes no part in that commit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { Serdes, StreamsBuilder, StreamsError } from '../src/index.js';
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

/** Transactional producers that keep each committed transaction's records, per transactional id. */
function transactionLog() {
  const transactions: { id: string; records: OutgoingRecord[] }[] = [];
  /** Transactional ids whose producer a newer owner fenced. */
  const fenced = new Set<string>();
  let next = 0n;
  const factory = {
    transactionalProducer: (id: string): TransactionalProducerPort => ({
      connect: async () => undefined,
      commitTransaction: async (records) => {
        if (fenced.has(id)) throw new StreamsError('TASK_MIGRATED', `${id} was fenced`);
        transactions.push({ id, records });
        const last = new Map<string, bigint>();
        for (const r of records) last.set(`${r.topic}:${r.partition}`, next++);
        return last;
      },
      close: async () => undefined,
    }),
  } as unknown as KafkaClientFactory;
  return { transactions, fenced, factory };
}

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
  let transactions: ReturnType<typeof transactionLog>['transactions'];
  let fenced: Set<string>;

  beforeEach(() => {
    const log = transactionLog();
    transactions = log.transactions;
    fenced = log.fenced;
    stateDir = mkdtempSync(join(tmpdir(), 'eddy-task-manager-'));
    const builder = new StreamsBuilder();
    builder
      .stream('words', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .groupByKey({ keySerde: Serdes.string() })
      .count({ name: 'counts' });
    builder
      .stream('clicks', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .groupByKey({ keySerde: Serdes.string() })
      .count({ name: 'clicks' });
    const admin = new FakeAdmin();
    admin.set(CHANGELOG, [0, 0], [0, 0]);
    admin.set('tm-app-clicks-changelog', [0, 0], [0, 0]);
    manager = new TaskManager({
      config: resolveConfig({ applicationId: 'tm-app', brokers: ['127.0.0.1:9092'], stateDir }),
      graph: builder.build().seal(),
      collector: new RecordCollector(DRAIN_ONLY),
      admin,
      reader: noReads,
      factory: log.factory,
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

  it("at-least-once: writes each task's changelog records, of all its stores, in one transaction of its own", async () => {
    const first = await manager.ensure(0);
    const second = await manager.ensure(1);
    first.task.addRecords('words', [word(0, 'a')]);
    first.task.addRecords('clicks', [word(0, 'c')]);
    second.task.addRecords('words', [word(0, 'b')]);
    first.task.process();
    second.task.process();
    expect(manager.prepareCommit()).toHaveLength(3);
    const offsets = await manager.sendChangelog();
    expect(
      transactions.map((t) => [t.id, t.records.map((r) => `${r.topic}:${r.partition}`).sort()]).sort(),
    ).toEqual([
      ['tm-app-0_0', ['tm-app-clicks-changelog:0', `${CHANGELOG}:0`]],
      ['tm-app-0_1', [`${CHANGELOG}:1`]],
    ]);
    await manager.completeCommit(offsets);
    expect(first.state!.changelogOffset('clicks')).toBe(offsets.get('tm-app-clicks-changelog:0'));
    expect(second.state!.changelogOffset('counts')).toBe(offsets.get(`${CHANGELOG}:1`));
  });

  it('at-least-once: a task whose producer its new owner fenced drops out of the commit, state and offsets', async () => {
    const first = await manager.ensure(0);
    const second = await manager.ensure(1);
    first.task.addRecords('words', [word(0, 'a')]);
    second.task.addRecords('words', [word(0, 'b')]);
    first.task.process();
    second.task.process();
    fenced.add('tm-app-0_1');
    manager.prepareCommit();
    const offsets = await manager.sendChangelog();
    expect([...offsets.keys()]).toEqual([`${CHANGELOG}:0`]);
    await manager.completeCommit(offsets);
    expect(first.state!.changelogOffset('counts')).toBe(offsets.get(`${CHANGELOG}:0`));
    expect(second.state!.changelogOffset('counts')).toBeUndefined();
    expect(manager.committable(0)).toBe(true);
    expect(manager.committable(1)).toBe(false);
    // The next commit leaves it out too, until the rebalance closes it.
    expect(manager.prepareCommit()).toEqual([]);
  });
});
