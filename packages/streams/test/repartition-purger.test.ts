// RepartitionPurger: deletes repartition records below committed offsets, at most once per interval, retrying failures.
import { describe, expect, it } from 'vitest';
import { RepartitionPurger } from '../src/runtime/repartition-purger.js';
import { FakeAdmin } from './fake-admin.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const R = 'app-r-repartition';

describe('RepartitionPurger', () => {
  it('deletes below the committed offsets of repartition topics only, once per interval', async () => {
    const admin = new FakeAdmin();
    admin.set(R, [0, 100], [0, 100]);
    admin.set('user-input', [0, 100]);
    let now = 1_000;
    const purger = new RepartitionPurger(admin, new Set([R]), silent, 500, () => now);
    purger.committed([
      { topic: R, partition: 0, offset: '40' },
      { topic: 'user-input', partition: 0, offset: '50' },
    ]);
    await purger.idle();
    expect((await admin.partitionOffsets(R)).map((o) => o.low)).toEqual([40n, 0n]);
    expect((await admin.partitionOffsets('user-input'))[0]?.low).toBe(0n);
    // Within the interval the newer offsets wait; the next commit after it deletes up to the latest.
    now += 100;
    purger.committed([{ topic: R, partition: 1, offset: '10' }]);
    await purger.idle();
    expect((await admin.partitionOffsets(R)).map((o) => o.low)).toEqual([40n, 0n]);
    now += 500;
    purger.committed([{ topic: R, partition: 0, offset: '60' }]);
    await purger.idle();
    expect((await admin.partitionOffsets(R)).map((o) => o.low)).toEqual([60n, 10n]);
  });

  it('a failed deletion is retried after the next commit; the records are only kept longer', async () => {
    const admin = new FakeAdmin();
    admin.set(R, [0, 100]);
    let failures = 1;
    const deleteRecords = admin.deleteRecords.bind(admin);
    admin.deleteRecords = async (topic, partitions) => {
      if (failures-- > 0) throw new Error('broker says no');
      await deleteRecords(topic, partitions);
    };
    let now = 0;
    const warned: string[] = [];
    const logger = { ...silent, warn: (m: string) => warned.push(m) };
    const purger = new RepartitionPurger(admin, new Set([R]), logger, 10, () => now);
    purger.committed([{ topic: R, partition: 0, offset: '30' }]);
    await purger.idle();
    expect(warned).toHaveLength(1);
    expect((await admin.partitionOffsets(R))[0]?.low).toBe(0n);
    now += 10;
    purger.committed([]);
    await purger.idle();
    expect((await admin.partitionOffsets(R))[0]?.low).toBe(30n);
  });
});
