// Restore planning against a fake admin and an in-memory changelog: a checkpoint older than the topic's
// delete.retention.ms, with records after it, is not trusted (its store is rebuilt from the whole changelog).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyValueStore, keyValueStore, TaskStateManager } from '@eddy/state';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChangelogRange,
  type ChangelogReaderPort,
  ChangelogTruncated,
  type ConsumedRecord,
} from '../src/kafka/port.js';
import type { LogFields, Logger } from '../src/logger.js';
import { restoreTask, restoreTasks, staleCheckpointReason } from '../src/runtime/state-restorer.js';
import { FakeAdmin } from './fake-admin.js';

const CHANGELOG = 'app-kv-changelog';
const DAY = 86_400_000;
const utf8 = {
  serialize: (s: string) => Buffer.from(s),
  deserialize: (b: Uint8Array) => Buffer.from(b).toString(),
};

/** A changelog partition 0 whose surviving records the test lists (compaction leaves gaps). */
class FakeChangelog implements ChangelogReaderPort {
  records: ConsumedRecord[] = [];
  readonly reads: ChangelogRange[] = [];

  add(offset: number, key: string, value: string | null, timestamp: number): void {
    this.records.push({
      offset: String(offset),
      key: Buffer.from(key),
      value: value === null ? null : Buffer.from(value),
      timestamp,
      headers: {},
    });
  }

  async read(
    ranges: ChangelogRange[],
    onBatch: (range: ChangelogRange, records: ConsumedRecord[]) => Promise<void>,
  ): Promise<void> {
    for (const range of ranges) {
      this.reads.push(range);
      const batch = this.records.filter((r) => {
        const o = BigInt(r.offset);
        return o >= range.startOffset && o < range.endOffset;
      });
      if (batch.length > 0) await onBatch(range, batch);
    }
  }

  async close(): Promise<void> {}
}

const dirs: string[] = [];
const managers: TaskStateManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

let now = 0;
const clock = () => now;

async function openTask(
  dir: string,
): Promise<{ state: TaskStateManager; kv: KeyValueStore<string, string> }> {
  const state = new TaskStateManager({
    applicationId: 'app',
    taskId: '0_0',
    partition: 0,
    stateDir: dir,
    clock,
  });
  const kv = state.register(keyValueStore({ name: 'kv', keySerde: utf8, valueSerde: utf8 }));
  await state.open();
  managers.push(state);
  return { state, kv };
}

/** A task that wrote a=1 (changelog offset 0) and checkpointed at time `at`, then stopped. */
async function checkpointedAt(at: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-restorer-'));
  dirs.push(dir);
  now = at;
  const { state, kv } = await openTask(dir);
  state.setSourcePosition('in', 0, 0);
  kv.put('a', '1');
  state.prepareCommit();
  await state.completeCommit(new Map([[`${CHANGELOG}:0`, 0n]]));
  await state.close();
  return dir;
}

function context(admin: FakeAdmin, reader: ChangelogReaderPort) {
  const warnings: { message: string; fields: LogFields }[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (message, fields) => warnings.push({ message, fields: fields ?? {} }),
    error() {},
  };
  return { ctx: { admin, reader, logger, listener: undefined, now: clock }, warnings };
}

/** After the checkpoint: a=1 deleted (offset 1), b=2 written (offset 2); compaction then removed offsets 0 and 1. */
function compactedLog(admin: FakeAdmin, deleteRetentionMs: number): FakeChangelog {
  admin.set(CHANGELOG, [0, 3]);
  admin.configs.set(CHANGELOG, {
    'cleanup.policy': 'compact',
    'delete.retention.ms': String(deleteRetentionMs),
  });
  const log = new FakeChangelog();
  log.add(2, 'b', '2', 2 * DAY);
  return log;
}

describe('restore from a checkpoint older than delete.retention.ms', () => {
  it('wipes the store and restores the whole changelog, with a log line that says why', async () => {
    const dir = await checkpointedAt(1_000);
    const admin = new FakeAdmin();
    const log = compactedLog(admin, DAY);
    now = 1_000 + DAY;
    const { state, kv } = await openTask(dir);
    const { ctx, warnings } = context(admin, log);
    await restoreTask(state, ctx);
    expect(kv.get('a')).toBeUndefined();
    expect(kv.get('b')).toBe('2');
    expect(log.reads).toEqual([{ topic: CHANGELOG, partition: 0, startOffset: 0n, endOffset: 3n }]);
    expect(warnings).toEqual([
      {
        message: expect.stringContaining('delete.retention.ms'),
        fields: expect.objectContaining({ store: 'kv', checkpointAgeMs: DAY, deleteRetentionMs: DAY }),
      },
    ]);
  });

  it('a younger checkpoint is trusted: only the records after it are read', async () => {
    const dir = await checkpointedAt(1_000);
    const admin = new FakeAdmin();
    admin.set(CHANGELOG, [0, 3]);
    admin.configs.set(CHANGELOG, { 'cleanup.policy': 'compact', 'delete.retention.ms': String(DAY) });
    const log = new FakeChangelog();
    log.add(1, 'a', null, 2_000);
    log.add(2, 'b', '2', 3_000);
    now = DAY;
    const { state, kv } = await openTask(dir);
    const { ctx, warnings } = context(admin, log);
    await restoreTask(state, ctx);
    expect(kv.get('a')).toBeUndefined();
    expect(kv.get('b')).toBe('2');
    expect(log.reads).toEqual([{ topic: CHANGELOG, partition: 0, startOffset: 1n, endOffset: 3n }]);
    expect(warnings).toEqual([]);
    // The checkpoint now covers the log as of the last record's write.
    expect(state.changelogPartitions()[0]!.coveredAt).toBe(3_000);
  });

  it('an old checkpoint at the end of the log is kept, and its coveredAt moves to when the end was read', async () => {
    const dir = await checkpointedAt(1_000);
    const admin = new FakeAdmin();
    admin.set(CHANGELOG, [0, 1]);
    admin.configs.set(CHANGELOG, { 'cleanup.policy': 'compact', 'delete.retention.ms': '1000' });
    now = 10 * DAY;
    const { state, kv } = await openTask(dir);
    const { ctx, warnings } = context(admin, new FakeChangelog());
    await restoreTask(state, ctx);
    expect(kv.get('a')).toBe('1');
    expect(warnings).toEqual([]);
    expect(state.changelogPartitions()[0]!.coveredAt).toBe(10 * DAY);
  });

  it('replicas (several tasks in one read) make the same decision', async () => {
    const dir = await checkpointedAt(1_000);
    const admin = new FakeAdmin();
    const log = compactedLog(admin, 60_000);
    now = 1_000 + 60_000;
    const { state, kv } = await openTask(dir);
    const { ctx, warnings } = context(admin, log);
    await restoreTasks([state], ctx);
    expect(kv.get('a')).toBeUndefined();
    expect(warnings).toHaveLength(1);
  });
});

describe('a changelog truncated while a store restores from it', () => {
  it('plans again: the partly restored store is rebuilt from the new log start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-restorer-'));
    dirs.push(dir);
    const admin = new FakeAdmin();
    admin.set(CHANGELOG, [0, 4]);
    const log = new FakeChangelog();
    log.add(0, 'a', '1', 0);
    log.add(1, 'b', '1', 0);
    log.add(2, 'a', '2', 0);
    log.add(3, 'c', '1', 0);
    // The first read applies offsets 0–1, then retention deletes up to offset 3 before the rest is fetched.
    const read = log.read.bind(log);
    let truncations = 0;
    log.read = async (ranges, onBatch) => {
      if (truncations > 0) return read(ranges, onBatch);
      truncations++;
      await onBatch(ranges[0]!, log.records.slice(0, 2));
      log.records = log.records.slice(3);
      admin.set(CHANGELOG, [3, 4]);
      throw new ChangelogTruncated(CHANGELOG, 0);
    };
    const { state, kv } = await openTask(dir);
    const { ctx, warnings } = context(admin, log);
    await restoreTask(state, ctx);
    // What the changelog holds now, and nothing of the partial first read: b=1 was deleted by retention.
    expect([kv.get('a'), kv.get('b'), kv.get('c')]).toEqual([undefined, undefined, '1']);
    expect(log.reads).toEqual([{ topic: CHANGELOG, partition: 0, startOffset: 3n, endOffset: 4n }]);
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('deleted while the store restored'),
      expect.stringContaining('below the changelog start'),
    ]);
  });

  it('gives up after repeated truncations with the error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-restorer-'));
    dirs.push(dir);
    const admin = new FakeAdmin();
    admin.set(CHANGELOG, [0, 1]);
    const reader: ChangelogReaderPort = {
      read: async () => {
        throw new ChangelogTruncated(CHANGELOG, 0);
      },
      close: async () => undefined,
    };
    const { state } = await openTask(dir);
    await expect(restoreTask(state, context(admin, reader).ctx)).rejects.toBeInstanceOf(ChangelogTruncated);
  });
});

describe('a changelog whose config cannot be read', () => {
  class NoConfigAdmin extends FakeAdmin {
    override async topicConfigs(): Promise<Map<string, Record<string, string>>> {
      throw new Error('TOPIC_AUTHORIZATION_FAILED');
    }
  }

  it("is judged by Kafka's default delete.retention.ms, with a log line", async () => {
    const dir = await checkpointedAt(1_000);
    const admin = new NoConfigAdmin();
    const log = compactedLog(admin, 1);
    now = 1_000 + DAY;
    const { state, kv } = await openTask(dir);
    const { ctx, warnings } = context(admin, log);
    await restoreTask(state, ctx);
    expect(kv.get('a')).toBeUndefined();
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('cannot read'),
      expect.stringContaining('delete.retention.ms'),
    ]);
  });
});

describe('staleCheckpointReason', () => {
  const compact = { 'cleanup.policy': 'compact', 'delete.retention.ms': '1000' };
  it('is stale from the age delete.retention.ms on', () => {
    expect(staleCheckpointReason(5_000, 5_999, compact)).toBeUndefined();
    expect(staleCheckpointReason(5_000, 6_000, compact)).toEqual({ ageMs: 1_000, deleteRetentionMs: 1_000 });
  });
  it("uses Kafka's default of one day when the topic does not say", () => {
    expect(staleCheckpointReason(0, DAY - 1, {})).toBeUndefined();
    expect(staleCheckpointReason(0, DAY, {})).toEqual({ ageMs: DAY, deleteRetentionMs: DAY });
  });
  it('applies to compacted topics only, and trusts checkpoints that carry no time', () => {
    expect(staleCheckpointReason(0, 10 * DAY, { 'cleanup.policy': 'delete' })).toBeUndefined();
    expect(staleCheckpointReason(0, 10 * DAY, { 'cleanup.policy': 'compact,delete' })).toBeDefined();
    expect(staleCheckpointReason(undefined, 10 * DAY, compact)).toBeUndefined();
  });
});
