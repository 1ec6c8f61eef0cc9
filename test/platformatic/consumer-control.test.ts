// The @platformatic/kafka adapter's group consumer under the runtime's controls: a static member's restart without
// leaving the group, a requested rejoin with a fresh subscription, paused partitions and empty fetches, a member
// closed during a held join; and the partition follower.
import type {
  ConsumedRecord,
  FetchedBatch,
  GroupJoin,
  GroupProtocol,
  MemberPlan,
} from '@eddy/streams/internals';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { Clients } from './clients.js';

let clients: Clients;
/** What the consumers crashed with (outside their batch handlers): nothing, in every test. */
let crashes: unknown[] = [];
afterEach(async () => {
  await clients.closeAll();
  const crashed = crashes;
  crashes = [];
  expect(crashed).toEqual([]);
});

/** Deals the partitions of `topic` over the members in member id order; every plan's userData names its generation. */
function protocol(topic: string, name: () => string, assigned: string[][]): GroupProtocol {
  return {
    name: 'eddy-test',
    subscription: () => Buffer.from(name()),
    assign(members, partitionCount) {
      assigned.push(members.map((m) => m.userData.toString()).sort());
      const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
      const plans = new Map<string, MemberPlan>();
      sorted.forEach((m, i) => {
        const partitions = [];
        for (let p = i; p < partitionCount(topic); p += sorted.length)
          partitions.push({ topic, partition: p });
        plans.set(m.memberId, { partitions, userData: Buffer.from(m.userData) });
      });
      return plans;
    },
  };
}

function consumer(groupId: string, options: Record<string, unknown>) {
  return clients.track(
    clients.factory.consumer({
      groupId,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 300,
      readCommitted: true,
      fromBeginning: true,
      onCrash: (err: unknown) => crashes.push(err),
      ...options,
    }),
  );
}

describe('@platformatic/kafka adapter: consumer controls', () => {
  it('a static member closed without leaving comes back in the same generation; the other member sees nothing', async () => {
    clients = new Clients();
    const topic = uniqueName('plt-static');
    await createTopics([{ topic, numPartitions: 2 }]);
    const groupId = uniqueName('plt-static-group');
    const plans: string[][] = [];
    const joins = { a: [] as GroupJoin[], b: [] as GroupJoin[], b2: [] as GroupJoin[] };
    const start = async (name: 'a' | 'b' | 'b2') => {
      const c = consumer(groupId, {
        groupInstanceId: `${groupId}-${name.slice(0, 1)}`,
        protocol: protocol(topic, () => name, plans),
        onGroupJoin: (j: GroupJoin) => joins[name].push(j),
      });
      await c.connect();
      await c.subscribe([topic]);
      await c.run(async () => undefined);
      return c;
    };
    await start('a');
    await waitFor(() => joins.a.length > 0, { what: 'a joined' });
    const b = await start('b');
    await waitFor(() => joins.b.length > 0 && joins.a.at(-1)?.generationId === joins.b.at(-1)?.generationId, {
      what: 'a and b in one generation',
    });
    const generation = joins.b.at(-1)?.generationId;
    const aJoins = joins.a.length;
    const planned = plans.length;

    await b.close({ leaveGroup: false });
    await start('b2');
    await waitFor(() => joins.b2.length > 0, { what: 'b back' });
    // The stored assignment, userData included, in the same generation; no new plan, no join for a.
    expect(joins.b2[0]?.generationId).toBe(generation);
    expect(joins.b2[0]?.assigned).toEqual(joins.b.at(-1)?.assigned);
    expect(joins.b2[0]?.userData?.toString()).toBe('b');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(joins.a.length).toBe(aJoins);
    expect(plans.length).toBe(planned);
  });

  it('a requested rejoin rebalances with the fresh subscription', async () => {
    clients = new Clients();
    const topic = uniqueName('plt-rejoin');
    await createTopics([{ topic, numPartitions: 2 }]);
    const groupId = uniqueName('plt-rejoin-group');
    const plans: string[][] = [];
    let lag = 'lag-1000';
    const joins: GroupJoin[] = [];
    const c = consumer(groupId, {
      protocol: protocol(topic, () => lag, plans),
      onGroupJoin: (j: GroupJoin) => joins.push(j),
    });
    await c.connect();
    await c.subscribe([topic]);
    await c.run(async () => undefined);
    await waitFor(() => joins.length > 0, { what: 'joined' });
    lag = 'lag-42';
    c.requestRejoin();
    await waitFor(() => joins.length > 1, { what: 'rejoined' });
    expect(plans.at(-1)).toEqual(['lag-42']);
    expect(joins[1]?.generationId).toBe((joins[0]?.generationId ?? 0) + 1);
    expect(joins[1]?.userData?.toString()).toBe('lag-42');
    expect(c.groupMetadata()).toMatchObject({
      groupId,
      generationId: joins[1]?.generationId,
      memberId: joins[1]?.memberId,
    });
  });

  it('hands empty fetches over with the log end, and fetches nothing of a paused partition until resumed', async () => {
    clients = new Clients();
    const topic = uniqueName('plt-pause');
    await createTopics([{ topic, numPartitions: 2 }]);
    const producer = clients.track(clients.factory.producer());
    await producer.connect();
    await producer.send(
      Array.from({ length: 10 }, (_, i) => ({
        topic,
        partition: i % 2,
        key: null,
        value: Buffer.from(String(i)),
      })),
    );
    const batches: FetchedBatch[] = [];
    const received: (ConsumedRecord & { partition: number })[] = [];
    let joined = false;
    const c = consumer(uniqueName('plt-pause-group'), {
      emptyBatches: true,
      onGroupJoin: () => {
        joined = true;
      },
    });
    await c.connect();
    await c.subscribe([topic]);
    c.pause([{ topic, partition: 1 }]);
    await c.run(async (batch, control) => {
      batches.push(batch);
      for (const r of batch.records) {
        received.push({ ...r, partition: batch.partition });
        control.markConsumed(r.offset);
      }
    });
    await waitFor(() => joined && received.length >= 5, { what: 'partition 0' });
    // Caught up on partition 0: empty fetches say so.
    await waitFor(
      () =>
        batches.some(
          (b) =>
            b.partition === 0 && b.records.length === 0 && b.highWatermark === '5' && b.lastOffset === '4',
        ),
      { what: 'an empty fetch of partition 0' },
    );
    expect(received.every((r) => r.partition === 0)).toBe(true);
    expect(batches.some((b) => b.partition === 1)).toBe(false);
    c.resume([{ topic, partition: 1 }]);
    await waitFor(() => received.length >= 10, { what: 'partition 1 after resume' });
    expect(received.filter((r) => r.partition === 1).map((r) => r.value?.toString())).toEqual([
      '1',
      '3',
      '5',
      '7',
      '9',
    ]);
  });

  it('the partition follower reads from the given offsets on until closed', async () => {
    clients = new Clients();
    const topic = uniqueName('plt-follow');
    await createTopics([{ topic, numPartitions: 2 }]);
    const producer = clients.track(clients.factory.producer());
    await producer.connect();
    const send = (from: number) =>
      producer.send(
        Array.from({ length: 10 }, (_, i) => ({
          topic,
          partition: i % 2,
          key: null,
          value: Buffer.from(String(from + i)),
        })),
      );
    await send(0);
    const follower = clients.track(clients.factory.partitionFollower(uniqueName('follow')));
    const got: string[] = [];
    const following = follower.follow(
      [
        { topic, partition: 0, offset: 3n },
        { topic, partition: 1, offset: 0n },
      ],
      async (batch) => {
        for (const r of batch.records) got.push(`${batch.partition}@${r.offset}:${r.value?.toString()}`);
      },
    );
    await send(10);
    await waitFor(() => got.length >= 2 + 5 + 10, { what: 'followed records' });
    await follower.close();
    await following;
    expect(got.filter((g) => g.startsWith('0@')).map((g) => g.split(':')[1])).toEqual([
      '6',
      '8',
      '10',
      '12',
      '14',
      '16',
      '18',
    ]);
    expect(got.filter((g) => g.startsWith('1@'))).toHaveLength(10);
  });

  it('a member closed while the coordinator holds its join leaves once it is answered, without planning or syncing', async () => {
    clients = new Clients();
    const topic = uniqueName('plt-held');
    await createTopics([{ topic, numPartitions: 2 }]);
    const groupId = uniqueName('plt-held-group');
    // A member that goes without leaving: the coordinator holds the next join until its session expires.
    const gone = consumer(groupId, { sessionTimeoutMs: 8_000 });
    await gone.connect();
    await gone.subscribe([topic]);
    await gone.run(async () => {});
    await waitFor(() => gone.groupMetadata().generationId >= 1, { what: 'the first member to join' });
    await gone.close({ leaveGroup: false });

    let requests = 0;
    const joins: GroupJoin[] = [];
    const held = consumer(groupId, {
      sessionTimeoutMs: 45_000,
      onJoinRequest: () => requests++,
      onGroupJoin: (join: GroupJoin) => joins.push(join),
    });
    await held.connect();
    await held.subscribe([topic]);
    const running = held.run(async () => {});
    running.catch(() => undefined);
    // The second request carries the member id the coordinator asked for (MEMBER_ID_REQUIRED): that one is held.
    await waitFor(() => requests >= 2, { what: 'the held join request' });
    const closing = Date.now();
    await held.close();
    await running.catch(() => undefined);
    // close() waits for the held join to be answered, when the first member's 8 s session expires, and then leaves.
    // A member that went on planning and syncing on its closed client spent the client's retry budget (10 s) more.
    expect(Date.now() - closing).toBeLessThan(8_000 + 5_000);

    // Once the first member's session expires the held join is answered; the closed member leaves that generation.
    await waitFor(
      async () => {
        const { groups } = await withAdmin((a) => a.describeGroups([groupId]));
        return groups[0]?.state === 'Empty' && groups[0].members.length === 0;
      },
      { what: 'the group to be empty', timeoutMs: 20_000 },
    );
    const { groups } = await withAdmin((a) => a.describeGroups([groupId]));
    expect(groups[0]?.members).toEqual([]);
    // The closed consumer took no part in the generation its held join was answered with.
    expect(joins).toEqual([]);
  });
});
