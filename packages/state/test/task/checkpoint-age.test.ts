// The checkpoint's `coveredAt`: when the local state last covered its changelog, kept through commits and restores.
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/engine/checkpoint.js';
import { keyValueStore, TaskStateManager } from '../../src/index.js';
import { commit, ImmediateAcks, tempStateDir, utf8 } from '../helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(dir: string, clock: () => number) {
  const manager = new TaskStateManager({
    applicationId: 'app',
    taskId: '0_0',
    partition: 0,
    stateDir: dir,
    clock,
  });
  const kv = manager.register(keyValueStore({ name: 'kv', keySerde: utf8, valueSerde: utf8 }));
  await manager.open();
  cleanups.push(() => manager.close());
  return { manager, kv };
}

function dir(): string {
  const tmp = tempStateDir();
  cleanups.push(tmp.remove);
  return tmp.dir;
}

const coveredAt = (m: TaskStateManager) => m.changelogPartitions()[0]!.coveredAt;

describe('checkpoint coveredAt', () => {
  it('a commit records the time it was prepared, and a reopened store reads it back', async () => {
    const d = dir();
    let now = 1_000;
    const first = await open(d, () => now);
    first.manager.setSourcePosition('in', 0, 1);
    first.kv.put('a', '1');
    const records = first.manager.prepareCommit();
    now = 2_000;
    await first.manager.completeCommit(new ImmediateAcks().ack(records));
    expect(coveredAt(first.manager)).toBe(1_000);
    await first.manager.close();
    const second = await open(d, () => now);
    expect(coveredAt(second.manager)).toBe(1_000);
  });

  it('a restore batch takes the last record timestamp (at most now) and never goes back', async () => {
    const now = 10_000;
    const { manager } = await open(dir(), () => now);
    expect(coveredAt(manager)).toBeUndefined();
    const record = (offset: number, timestamp?: number) => ({
      offset: BigInt(offset),
      key: utf8.serialize('k'),
      value: utf8.serialize(String(offset)),
      ...(timestamp === undefined ? {} : { timestamp }),
    });
    await manager.applyRestoreBatch('kv', [record(0, 500), record(1, 700)]);
    expect(coveredAt(manager)).toBe(700);
    await manager.applyRestoreBatch('kv', [record(2, 600)]);
    expect(coveredAt(manager)).toBe(700);
    await manager.applyRestoreBatch('kv', [record(3)]);
    expect(coveredAt(manager)).toBe(700);
    await manager.applyRestoreBatch('kv', [record(4, 50_000)]);
    expect(coveredAt(manager)).toBe(10_000);
  });

  it('markCovered raises coveredAt of a checkpointed store and persists it', async () => {
    const d = dir();
    const first = await open(d, () => 1_000);
    first.manager.setSourcePosition('in', 0, 1);
    first.kv.put('a', '1');
    await commit(first.manager, new ImmediateAcks());
    await first.manager.markCovered('kv', 5_000);
    await first.manager.markCovered('kv', 4_000);
    expect(coveredAt(first.manager)).toBe(5_000);
    await first.manager.close();
    const second = await open(d, () => 6_000);
    expect(coveredAt(second.manager)).toBe(5_000);
    expect(second.kv.get('a')).toBe('1');
    expect(second.manager.changelogOffset('kv')).toBe(0n);
  });

  it('without a checkpoint, markCovered writes none', async () => {
    const { manager } = await open(dir(), () => 1_000);
    await manager.markCovered('kv', 5_000);
    expect(manager.changelogPartitions()[0]!.checkpointOffset).toBeUndefined();
    expect(coveredAt(manager)).toBeUndefined();
  });
});

describe('checkpoint format', () => {
  it('reads checkpoints written before stream time and coveredAt were kept', () => {
    const old = Buffer.from(JSON.stringify({ v: 1, changelogOffset: '7', marks: [['in', 0, 3]] }));
    expect(decodeCheckpoint(old, 's')).toEqual({
      changelogOffset: 7n,
      marks: [{ topic: 'in', partition: 0, offset: 3 }],
    });
  });

  it('round-trips stream time and coveredAt', () => {
    const checkpoint = {
      changelogOffset: undefined,
      marks: [],
      streamTime: 165,
      coveredAt: 1_700_000_000_000,
    };
    expect(decodeCheckpoint(encodeCheckpoint(checkpoint), 's')).toEqual(checkpoint);
  });

  it('a malformed time is a corrupted checkpoint', () => {
    const bad = Buffer.from(JSON.stringify({ v: 1, changelogOffset: null, marks: [], coveredAt: 'soon' }));
    expect(() => decodeCheckpoint(bad, 's')).toThrow(expect.objectContaining({ code: 'STORE_CORRUPTED' }));
  });
});
