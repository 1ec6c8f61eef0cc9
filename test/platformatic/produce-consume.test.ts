// The @platformatic/kafka adapter against the broker: records with headers through its producer and group consumer,
// and Eddy's group protocol handing two members each its own userData.
import type {
  BatchHandler,
  ConsumedRecord,
  GroupJoin,
  GroupProtocol,
  MemberPlan,
} from '@eddy/streams/internals';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { Clients } from './clients.js';

let clients: Clients;
afterEach(() => clients.closeAll());

const consumerOptions = (groupId: string) => ({
  groupId,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 500,
  readCommitted: true,
  fromBeginning: true,
});

describe('@platformatic/kafka adapter: produce and consume', () => {
  it('round-trips keys, values, tombstones, timestamps and headers, and commits what was consumed', async () => {
    clients = new Clients();
    const topic = uniqueName('plt-roundtrip');
    await createTopics([{ topic, numPartitions: 3 }]);
    const producer = clients.track(clients.factory.producer());
    await producer.connect();
    const ts = Date.now() - 10_000;
    const records = Array.from({ length: 30 }, (_, i) => ({
      topic,
      key: Buffer.from(`k${i % 5}`),
      value: i === 29 ? null : Buffer.from(`v${i}`),
      timestamp: ts + i,
      headers: { seq: Buffer.from(String(i)), bin: Buffer.from([0, 255, i]) },
    }));
    const last = await producer.send(records);
    expect([...last.values()].reduce((n, o) => n + Number(o) + 1, 0)).toBe(30);

    const groupId = uniqueName('plt-group');
    const consumer = clients.track(clients.factory.consumer(consumerOptions(groupId)));
    await consumer.connect();
    await consumer.subscribe([topic]);
    const received: (ConsumedRecord & { partition: number })[] = [];
    const handler: BatchHandler = async (batch, control) => {
      for (const r of batch.records) {
        received.push({ ...r, partition: batch.partition });
        control.markConsumed(r.offset);
      }
    };
    await consumer.run(handler);
    await waitFor(() => received.length >= 30, { what: '30 records', timeoutMs: 30_000 });
    expect(received).toHaveLength(30);
    const bySeq = new Map(received.map((r) => [r.headers.seq?.toString(), r]));
    for (let i = 0; i < 30; i++) {
      const r = bySeq.get(String(i));
      expect(r?.key?.toString()).toBe(`k${i % 5}`);
      expect(r?.value === null ? null : r?.value?.toString()).toBe(i === 29 ? null : `v${i}`);
      expect(r?.timestamp).toBe(ts + i);
      expect([...(r?.headers.bin ?? [])]).toEqual([0, 255, i]);
    }
    // Same key, same partition: the Java client's murmur2 placement keeps a key's records in order.
    for (const key of ['k0', 'k1', 'k2', 'k3', 'k4']) {
      expect(new Set(received.filter((r) => r.key?.toString() === key).map((r) => r.partition)).size).toBe(1);
    }
    const offsets = [...last].map(([tp, offset]) => {
      const [t, p] = tp.split(':');
      return { topic: t as string, partition: Number(p), offset: String(offset + 1n) };
    });
    await consumer.commit(offsets);
    const admin = clients.track(clients.factory.admin());
    await admin.connect();
    const committed = await admin.committedOffsets(groupId, [topic]);
    expect(committed).toEqual(new Map([...last].map(([tp, o]) => [tp, o + 1n])));
    const partitionOffsets = await admin.partitionOffsets(topic);
    expect(partitionOffsets.map((p) => p.high)).toEqual(
      [0, 1, 2].map((p) => (last.get(`${topic}:${p}`) ?? -1n) + 1n),
    );
    expect(await admin.partitionCounts([topic, uniqueName('missing')])).toEqual(new Map([[topic, 3]]));
  });

  it("Eddy's group protocol: the leader plans from both members' subscriptions, each member gets its own userData", async () => {
    clients = new Clients();
    const topic = uniqueName('plt-protocol');
    await createTopics([{ topic, numPartitions: 4 }]);
    const groupId = uniqueName('plt-group');
    const seen: string[][] = [];
    const protocol = (name: string): GroupProtocol => ({
      name: 'eddy-test',
      subscription: () => Buffer.from(name),
      assign(members, partitionCount) {
        seen.push(members.map((m) => m.userData.toString()).sort());
        const plans = new Map<string, MemberPlan>();
        const sorted = [...members].sort((a, b) => a.userData.compare(b.userData));
        sorted.forEach((m, i) => {
          const partitions = [];
          for (let p = i; p < partitionCount(topic); p += sorted.length)
            partitions.push({ topic, partition: p });
          plans.set(m.memberId, { partitions, userData: Buffer.from(`for ${m.userData.toString()}`) });
        });
        return plans;
      },
    });
    const joins = new Map<string, GroupJoin[]>([
      ['a', []],
      ['b', []],
    ]);
    for (const name of ['a', 'b']) {
      const consumer = clients.track(
        clients.factory.consumer({
          ...consumerOptions(groupId),
          protocol: protocol(name),
          groupInstanceId: `${groupId}-${name}`,
          onGroupJoin: (join) => joins.get(name)?.push(join),
        }),
      );
      await consumer.connect();
      await consumer.subscribe([topic]);
      await consumer.run(async () => undefined);
      if (name === 'a') await waitFor(() => (joins.get('a')?.length ?? 0) > 0, { what: 'a joined' });
    }
    const latest = (name: string) => joins.get(name)?.at(-1);
    await waitFor(
      () => latest('a')?.generationId === latest('b')?.generationId && latest('b')?.userData != null,
      { what: 'both in one generation', timeoutMs: 30_000 },
    );
    expect(latest('a')?.userData?.toString()).toBe('for a');
    expect(latest('b')?.userData?.toString()).toBe('for b');
    expect(
      latest('a')
        ?.assigned.map((p) => p.partition)
        .sort(),
    ).toEqual([0, 2]);
    expect(
      latest('b')
        ?.assigned.map((p) => p.partition)
        .sort(),
    ).toEqual([1, 3]);
    expect(latest('a')?.memberId).not.toBe(latest('b')?.memberId);
    expect(seen.at(-1)).toEqual(['a', 'b']);
  });
});
