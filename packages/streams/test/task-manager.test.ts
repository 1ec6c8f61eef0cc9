// TaskManager commits: a task that becomes ready between prepareCommit and completeCommit takes no part in that commit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { Serdes, StreamsBuilder } from '../src/index.js';
import type { ChangelogReaderPort, ConsumedRecord, KafkaClientFactory } from '../src/kafka/port.js';
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
