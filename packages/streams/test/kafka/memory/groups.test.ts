// In-memory Kafka: consumer groups — joins, rebalances, static members, session timeouts, positions and offsets.
import { describe, expect, it } from 'vitest';
import { StreamsError } from '../../../src/errors.js';
import type { MemberPlan } from '../../../src/kafka/port.js';
import { buf, deferred, type Harness, newCluster, roundRobin, startConsumer, values } from './helpers.js';

async function withTopic(partitions: number, records = 0): Promise<Harness> {
  const h = newCluster();
  h.cluster.createTopic({ topic: 't', partitions });
  if (records > 0) {
    const producer = h.factory.producer();
    await producer.connect();
    await producer.send(
      Array.from({ length: records }, (_, i) => ({
        topic: 't',
        partition: i % partitions,
        key: null,
        value: buf(String(i)),
      })),
    );
    await producer.close();
  }
  return h;
}

describe('in-memory Kafka: group membership', () => {
  it('the first member to join leads: its protocol assigns, and run() resolves with the first assignment', async () => {
    const h = await withTopic(3);
    const calls: string[][] = [];
    const a = await startConsumer(h, ['t'], { protocol: roundRobin(['t'], calls) });
    expect(a.joins).toHaveLength(1);
    expect(a.joins[0]).toMatchObject({ generationId: 1, memberId: 'member-1' });
    expect(a.joins[0]!.userData).toEqual(buf('0'));
    expect(a.assigned()).toEqual(['t:0', 't:1', 't:2']);
    expect(calls).toEqual([['member-1']]);
    expect(a.consumer.groupMetadata()).toEqual({ groupId: 'g', generationId: 1, memberId: 'member-1' });
    await a.consumer.close();
  });

  it('a second member joining rebalances the group: every member rejoins in a new generation, the leader assigns', async () => {
    const h = await withTopic(4);
    const leaderCalls: string[][] = [];
    const followerCalls: string[][] = [];
    const a = await startConsumer(h, ['t'], { protocol: roundRobin(['t'], leaderCalls) });
    const b = await startConsumer(h, ['t'], { protocol: roundRobin(['t'], followerCalls) });
    await h.cluster.settle();
    expect(a.joins.map((j) => j.generationId)).toEqual([1, 2]);
    expect(b.joins.map((j) => j.generationId)).toEqual([2]);
    expect(a.assigned()).toEqual(['t:0', 't:2']);
    expect(b.assigned()).toEqual(['t:1', 't:3']);
    expect(leaderCalls).toEqual([['member-1'], ['member-1', 'member-2']]);
    expect(followerCalls).toEqual([]);
    expect(h.cluster.describeGroup('g')).toMatchObject({
      state: 'Stable',
      generationId: 2,
      leader: 'member-1',
    });
    await Promise.all([a.consumer.close(), b.consumer.close()]);
  });

  it('a member leaving rebalances the group and the rest take its partitions; the leader leaving hands leadership on', async () => {
    const h = await withTopic(2);
    const a = await startConsumer(h, ['t']);
    const b = await startConsumer(h, ['t']);
    await h.cluster.settle();
    await a.consumer.close();
    await h.cluster.settle();
    expect(b.assigned()).toEqual(['t:0', 't:1']);
    expect(h.cluster.describeGroup('g')).toMatchObject({ generationId: 3, leader: 'member-2' });
    await b.consumer.close();
    expect(h.cluster.describeGroup('g')).toMatchObject({ state: 'Empty', members: [] });
  });

  it('a rebalance waits for a running batch handler to finish before its member rejoins (eager protocol)', async () => {
    const h = await withTopic(2, 2);
    const release = deferred();
    let handled = 0;
    const a = await startConsumer(h, ['t'], {
      handler: async (batch, control) => {
        handled++;
        if (handled === 1) await release.promise;
        control.markConsumed(batch.records[batch.records.length - 1]!.offset);
      },
    });
    await h.cluster.settle();
    const starting = startConsumer(h, ['t']);
    await h.cluster.settle();
    // b's run() is still waiting for the group: a's handler blocks a's rejoin.
    expect(h.cluster.describeGroup('g').state).toBe('PreparingRebalance');
    expect(a.joins).toHaveLength(1);
    release.resolve();
    const b = await starting;
    await h.cluster.settle();
    expect(h.cluster.describeGroup('g')).toMatchObject({ state: 'Stable', generationId: 2 });
    expect(a.joins).toHaveLength(2);
    expect(b.joins).toHaveLength(1);
    await Promise.all([a.consumer.close(), b.consumer.close()]);
  });

  it('a member that stops heartbeating is removed after its session timeout, and the group rebalances without it', async () => {
    const h = await withTopic(2);
    const a = await startConsumer(h, ['t'], { sessionTimeoutMs: 10_000 });
    const b = await startConsumer(h, ['t'], { sessionTimeoutMs: 10_000 });
    await h.cluster.settle();
    const resume = h.cluster.stallMember('g', b.consumer.groupMetadata().memberId);
    h.cluster.advance(10_000);
    expect(h.cluster.describeGroup('g').members).toHaveLength(2); // not yet: Kafka expires after the timeout
    h.cluster.advance(1);
    await h.cluster.settle();
    expect(h.cluster.describeGroup('g').members.map((m) => m.memberId)).toEqual(['member-1']);
    expect(a.assigned()).toEqual(['t:0', 't:1']);
    // Resumed, it finds it is no longer a member and joins again as a new one.
    resume();
    await h.cluster.settle();
    expect(b.consumer.groupMetadata()).toMatchObject({ memberId: 'member-3', generationId: 4 });
    expect(b.assigned()).toEqual(['t:1']);
    await Promise.all([a.consumer.close(), b.consumer.close()]);
  });

  it('a member busy in a batch does not heartbeat unless the handler calls heartbeat()', async () => {
    const h = await withTopic(1, 1);
    const release = deferred();
    const inside = deferred();
    let heartbeat: (() => Promise<void>) | undefined;
    const a = await startConsumer(h, ['t'], {
      sessionTimeoutMs: 10_000,
      handler: async (_batch, control) => {
        heartbeat = control.heartbeat;
        inside.resolve();
        await release.promise;
      },
    });
    await inside.promise;
    h.cluster.advance(6_000);
    await heartbeat!();
    h.cluster.advance(6_000);
    expect(h.cluster.describeGroup('g').members).toHaveLength(1);
    h.cluster.advance(6_000);
    expect(h.cluster.describeGroup('g').members).toHaveLength(0);
    release.resolve();
    await a.consumer.close();
  });

  it('isActive() turns false in a batch whose member was removed from the group', async () => {
    const h = await withTopic(1, 1);
    const inside = deferred();
    const release = deferred();
    const active: boolean[] = [];
    const a = await startConsumer(h, ['t'], {
      sessionTimeoutMs: 1_000,
      handler: async (batch, control) => {
        active.push(control.isActive());
        inside.resolve();
        await release.promise;
        active.push(control.isActive());
        control.markConsumed(batch.records[0]!.offset);
      },
    });
    await inside.promise;
    h.cluster.advance(1_001);
    release.resolve();
    await h.cluster.settle();
    expect(active.slice(0, 2)).toEqual([true, false]);
    await a.consumer.close();
  });

  it('a static member that restarts within its session timeout gets its assignment back without a rebalance (KIP-345)', async () => {
    const h = await withTopic(2);
    const calls: string[][] = [];
    const a = await startConsumer(h, ['t'], { groupInstanceId: 'pod-0', protocol: roundRobin(['t'], calls) });
    const b = await startConsumer(h, ['t'], { groupInstanceId: 'pod-1', protocol: roundRobin(['t'], calls) });
    await h.cluster.settle();
    const before = b.assigned();
    await b.consumer.close({ leaveGroup: false });
    h.cluster.advance(5_000);
    const b2 = await startConsumer(h, ['t'], {
      groupInstanceId: 'pod-1',
      protocol: roundRobin(['t'], calls),
    });
    await h.cluster.settle();
    expect(b2.assigned()).toEqual(before);
    expect(b2.joins[0]).toMatchObject({ generationId: 2, memberId: 'pod-1-3' });
    expect(a.joins.map((j) => j.generationId)).toEqual([1, 2]);
    expect(calls).toHaveLength(2);
    await Promise.all([a.consumer.close(), b2.consumer.close()]);
  });

  it('a static member that stays away past its session timeout is removed and the group rebalances', async () => {
    const h = await withTopic(2);
    const a = await startConsumer(h, ['t'], { groupInstanceId: 'pod-0' });
    const b = await startConsumer(h, ['t'], { groupInstanceId: 'pod-1' });
    await h.cluster.settle();
    await b.consumer.close({ leaveGroup: false });
    h.cluster.advance(10_001);
    await h.cluster.settle();
    expect(a.assigned()).toEqual(['t:0', 't:1']);
    await a.consumer.close({ leaveGroup: true });
    expect(h.cluster.describeGroup('g').state).toBe('Empty');
  });

  it('a second member with the same group instance id fences the first: its next call fails with FENCED_INSTANCE_ID', async () => {
    const h = await withTopic(1);
    const first = await startConsumer(h, ['t'], { groupInstanceId: 'pod-0' });
    const second = await startConsumer(h, ['t'], { groupInstanceId: 'pod-0' });
    await h.cluster.settle();
    expect(first.crashes).toEqual([expect.objectContaining({ type: 'FENCED_INSTANCE_ID' })]);
    expect(second.assigned()).toEqual(['t:0']);
    await expect(first.consumer.commit([{ topic: 't', partition: 0, offset: '0' }])).rejects.toMatchObject({
      code: 'TASK_MIGRATED',
      cause: expect.objectContaining({ type: 'FENCED_INSTANCE_ID' }),
    });
    await Promise.all([first.consumer.close(), second.consumer.close()]);
    expect(h.cluster.openClients()).toEqual([]);
  });

  it('members announcing a different protocol name are refused with INCONSISTENT_GROUP_PROTOCOL', async () => {
    const h = await withTopic(1);
    const a = await startConsumer(h, ['t']);
    const other = { ...roundRobin(['t']), name: 'other' };
    const b = await startConsumer(h, ['t'], { protocol: other });
    expect(b.crashes).toEqual([expect.objectContaining({ type: 'INCONSISTENT_GROUP_PROTOCOL' })]);
    await Promise.all([a.consumer.close(), b.consumer.close()]);
  });

  it('a leader whose assign throws leaves the group, and the next member leads', async () => {
    const h = await withTopic(2);
    const failing = roundRobin(['t']);
    let fail = false;
    const crashing = {
      ...failing,
      assign: (members: Parameters<typeof failing.assign>[0], count: (t: string) => number) => {
        if (fail) throw new Error('cannot assign');
        return failing.assign(members, count) as Map<string, MemberPlan>;
      },
    };
    const a = await startConsumer(h, ['t'], { protocol: crashing });
    fail = true;
    const b = await startConsumer(h, ['t']);
    await h.cluster.settle();
    expect(a.crashes).toEqual([new Error('cannot assign')]);
    expect(b.assigned()).toEqual(['t:0', 't:1']);
    expect(h.cluster.describeGroup('g')).toMatchObject({ leader: 'member-2', state: 'Stable' });
    await Promise.all([a.consumer.close(), b.consumer.close()]);
  });

  it('requestRejoin() with a changed subscription rebalances; rebalance(groupId) forces one for every member', async () => {
    const h = await withTopic(2);
    let lag = 0;
    const protocol = { ...roundRobin(['t']), subscription: () => Buffer.from(String(lag)) };
    const a = await startConsumer(h, ['t']);
    const b = await startConsumer(h, ['t'], { protocol });
    await h.cluster.settle();
    b.consumer.requestRejoin(); // same subscription, not the leader: Kafka answers with the current assignment
    await h.cluster.settle();
    expect(h.cluster.describeGroup('g').generationId).toBe(2);
    lag = 5;
    b.consumer.requestRejoin();
    await h.cluster.settle();
    expect(h.cluster.describeGroup('g').generationId).toBe(3);
    h.cluster.rebalance('g');
    await h.cluster.settle();
    expect(a.joins.map((j) => j.generationId)).toEqual([1, 2, 3, 4]);
    expect(b.joins.map((j) => j.generationId)).toEqual([2, 2, 3, 4]);
    await Promise.all([a.consumer.close(), b.consumer.close()]);
  });

  it('adding partitions to a subscribed topic rebalances the group with the new count', async () => {
    const h = await withTopic(1);
    const a = await startConsumer(h, ['t']);
    h.cluster.addPartitions('t', 3);
    await h.cluster.settle();
    expect(a.assigned()).toEqual(['t:0', 't:1', 't:2']);
    await a.consumer.close();
  });
});

describe('in-memory Kafka: positions and committed offsets', () => {
  it('fetches each partition in offset order; without a committed offset fromBeginning reads all, latest only new records', async () => {
    const h = await withTopic(2, 4);
    const early = await startConsumer(h, ['t'], { groupId: 'early', fromBeginning: true });
    const late = await startConsumer(h, ['t'], { groupId: 'late', fromBeginning: false });
    const producer = h.factory.producer();
    await producer.connect();
    await producer.send([{ topic: 't', partition: 1, key: null, value: buf('new') }]);
    await h.cluster.settle();
    expect(values(early.records.filter((r) => r.partition === 0))).toEqual(['0', '2']);
    expect(values(early.records.filter((r) => r.partition === 1))).toEqual(['1', '3', 'new']);
    expect(values(late.records)).toEqual(['new']);
    await Promise.all([early.consumer.close(), late.consumer.close(), producer.close()]);
  });

  it('markConsumed moves the fetch position; unmarked records are fetched again', async () => {
    const h = await withTopic(1, 3);
    const seen: string[] = [];
    let round = 0;
    const a = await startConsumer(h, ['t'], {
      handler: async (batch, control) => {
        seen.push(...values(batch.records));
        if (round++ === 0) control.markConsumed(batch.records[0]!.offset);
        else control.markConsumed(batch.records[batch.records.length - 1]!.offset);
      },
    });
    await h.cluster.settle();
    expect(seen).toEqual(['0', '1', '2', '1', '2']);
    await a.consumer.close();
  });

  it('with emptyBatches, a caught-up partition is handed over empty once per change, with its high watermark', async () => {
    const h = await withTopic(2, 2);
    const seen: string[] = [];
    const a = await startConsumer(h, ['t'], {
      emptyBatches: true,
      handler: async (batch, control) => {
        const offsets = batch.records.map((r) => r.offset).join(',');
        seen.push(`${batch.partition}:[${offsets}] ${batch.highWatermark}/${batch.lastOffset}`);
        if (batch.records.length > 0) control.markConsumed(batch.records[batch.records.length - 1]!.offset);
      },
    });
    await h.cluster.settle();
    // As kafkajs reports an empty fetch: lastOffset = high watermark - 1; never again while nothing changes.
    expect(seen).toEqual(['0:[0] 1/0', '1:[0] 1/0', '0:[] 1/0', '1:[] 1/0']);
    const producer = h.factory.producer();
    await producer.connect();
    await producer.send([{ topic: 't', partition: 1, key: null, value: buf('x') }]);
    await h.cluster.settle();
    expect(seen.slice(4)).toEqual(['1:[1] 2/1', '1:[] 2/1']);
    await Promise.all([a.consumer.close(), producer.close()]);
  });

  it('after a rebalance every partition restarts from its committed offset (eager protocol)', async () => {
    const h = await withTopic(1, 3);
    const a = await startConsumer(h, ['t']);
    await h.cluster.settle();
    await a.consumer.commit([{ topic: 't', partition: 0, offset: '1' }]);
    h.cluster.rebalance('g');
    await h.cluster.settle();
    expect(values(a.records)).toEqual(['0', '1', '2', '1', '2']);
    expect(h.cluster.committedOffsets('g')).toEqual(new Map([['t:0', 1n]]));
    await a.consumer.close();
  });

  it('Kafka refuses the offset commit of a removed member (UNKNOWN_MEMBER_ID) or an old generation (ILLEGAL_GENERATION): TASK_MIGRATED, as the kafkajs adapter maps it', async () => {
    const h = await withTopic(2);
    const release = deferred();
    const inside = deferred();
    let first = true;
    const a = await startConsumer(h, ['t'], {
      handler: async () => {
        if (!first) return;
        first = false;
        inside.resolve();
        await release.promise;
      },
    });
    const producer = h.factory.producer();
    await producer.connect();
    await producer.send([{ topic: 't', partition: 0, key: null, value: buf('x') }]);
    await inside.promise;
    // While a's batch runs, the group rebalances without it (rebalance timeout) and moves on to generation 2.
    const b = startConsumer(h, ['t']);
    await h.cluster.settle();
    h.cluster.advance(60_000);
    await b;
    // a's member was removed: its commit is refused.
    const commitResult = await a.consumer.commit([{ topic: 't', partition: 0, offset: '1' }]).catch((e) => e);
    expect(commitResult).toBeInstanceOf(StreamsError);
    expect(commitResult).toMatchObject({
      code: 'TASK_MIGRATED',
      cause: expect.objectContaining({ type: 'UNKNOWN_MEMBER_ID' }),
    });
    const generation = h.cluster.describeGroup('g').generationId;
    const member = (await b).consumer.groupMetadata().memberId;
    expect(() =>
      h.cluster.group('g').commitOffsets(member, generation - 1, [{ topic: 't', partition: 0, offset: '1' }]),
    ).toThrow(expect.objectContaining({ type: 'ILLEGAL_GENERATION' }));
    release.resolve();
    await h.cluster.settle();
    expect(h.cluster.committedOffsets('g').size).toBe(0);
    await Promise.all([a.consumer.close(), (await b).consumer.close(), producer.close()]);
  });

  it('commits from the current generation succeed while a rebalance is pending, as Kafka accepts them before the rejoin', async () => {
    const h = await withTopic(1, 1);
    const release = deferred();
    const inside = deferred();
    const errors: unknown[] = [];
    const a = await startConsumer(h, ['t'], {
      handler: async (batch, control) => {
        inside.resolve();
        await release.promise;
        await control.heartbeat().catch((e) => errors.push(e));
        await a.consumer.commit([{ topic: 't', partition: 0, offset: '1' }]);
        control.markConsumed(batch.records[0]!.offset);
      },
    });
    await inside.promise;
    h.cluster.rebalance('g');
    release.resolve();
    await h.cluster.settle();
    expect(errors).toEqual([expect.objectContaining({ type: 'REBALANCE_IN_PROGRESS' })]);
    expect(h.cluster.committedOffsets('g')).toEqual(new Map([['t:0', 1n]]));
    await a.consumer.close();
  });

  it('stop() without leaving keeps the member in the group until its session times out; close() is idempotent', async () => {
    const h = await withTopic(1);
    const a = await startConsumer(h, ['t']);
    await a.consumer.stop({ leaveGroup: false });
    expect(h.cluster.describeGroup('g').members).toHaveLength(1);
    h.cluster.advance(10_001);
    expect(h.cluster.describeGroup('g').members).toHaveLength(0);
    await a.consumer.close();
    await a.consumer.close();
    expect(h.cluster.openClients()).toEqual([]);
  });

  it('stop() during the first join makes run() resolve without an assignment and leaves nothing in the group', async () => {
    const h = await withTopic(1);
    const hold = deferred();
    const blocker = await startConsumer(h, ['t'], {
      handler: async (batch, control) => {
        await hold.promise;
        control.markConsumed(batch.records[0]!.offset);
      },
    });
    const producer = h.factory.producer();
    await producer.connect();
    await producer.send([{ topic: 't', partition: 0, key: null, value: null }]);
    await h.cluster.settle();
    const consumer = h.factory.consumer({
      groupId: 'g',
      protocol: roundRobin(['t']),
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      readCommitted: false,
      fromBeginning: true,
    });
    await consumer.connect();
    await consumer.subscribe(['t']);
    const running = consumer.run(async () => undefined);
    await h.cluster.settle();
    await consumer.close();
    await running;
    hold.resolve();
    await h.cluster.settle();
    expect(h.cluster.describeGroup('g').members.map((m) => m.memberId)).toEqual(['member-1']);
    await Promise.all([blocker.consumer.close(), producer.close()]);
  });
});
