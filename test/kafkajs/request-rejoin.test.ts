// consumer.requestRejoin() (patched kafkajs) on the broker: when a rejoin rebalances the group, and what the leader sees.
import { randomUUID } from 'node:crypto';
import { type DecodedSubscription, decodeSubscription, eddyGroupProtocol } from '@eddy/assignor';
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupProtocolAssigner } from '../../packages/streams/src/kafka/kafkajs/index.js';
import { GroupObserver } from '../assignor/group-observer.js';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { ClientRegistry, fastConsumerConfig } from './clients.js';

const PARTITIONS = 4;

/** One group member: its observer, the lag it announces and how often its subscription was read. */
interface Member {
  readonly identity: string;
  readonly observer: GroupObserver;
  lag: number;
  subscriptionReads: number;
}

/** Wraps an assigner so that every `assign` call (on the leader) records the subscriptions it was given. */
function recordingAssigner(inner: PartitionAssigner, seen: DecodedSubscription[][]): PartitionAssigner {
  return (config) => {
    const assigner = inner(config);
    return {
      ...assigner,
      assign: async (group) => {
        seen.push(
          group.members.map((m) => {
            const metadata = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
            if (metadata === null) throw new Error(`member ${m.memberId} sent no metadata`);
            return decodeSubscription(metadata.userData);
          }),
        );
        return assigner.assign(group);
      },
    };
  };
}

describe.each([
  ['dynamic members', false],
  ['static members', true],
])('consumer.requestRejoin() with %s (patched kafkajs)', (_kind, isStatic) => {
  let clients: ClientRegistry;
  let topic: string;
  let groupId: string;
  /** One entry per leader `assign` call: the decoded subscriptions of the members. */
  let assigns: DecodedSubscription[][];

  beforeEach(async () => {
    clients = new ClientRegistry();
    topic = uniqueName('rejoin');
    groupId = uniqueName('group');
    assigns = [];
    await createTopics([{ topic, numPartitions: PARTITIONS }]);
  });
  afterEach(() => clients.closeAll());

  async function startMember(identity: string): Promise<Member> {
    const processId = randomUUID();
    let member: Member | undefined;
    const consumer = await clients.consumer(
      fastConsumerConfig(groupId, {
        ...(isStatic ? { groupInstanceId: identity } : {}),
        partitionAssigners: [
          recordingAssigner(
            groupProtocolAssigner(
              eddyGroupProtocol({
                topicGroups: [{ subtopology: 0, sourceTopics: [topic], stateful: true }],
                subscription: () => {
                  if (member === undefined) throw new Error('subscription read before the member exists');
                  member.subscriptionReads += 1;
                  return {
                    identity,
                    processId,
                    taskLags: { '0_0': member.lag },
                    endpoint: `${identity}:7070`,
                  };
                },
              }),
            ),
            assigns,
          ),
        ],
      }),
    );
    member = { identity, observer: new GroupObserver(consumer), lag: 1_000, subscriptionReads: 0 };
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: member.observer.eachMessage });
    return member;
  }

  /** Waits until `m` has sent `count` more successful heartbeats: it is stable in its generation. */
  async function moreHeartbeats(m: Member, count: number): Promise<void> {
    const from = m.observer.heartbeats;
    await waitFor(() => m.observer.heartbeats >= from + count, {
      what: `${count} more heartbeats of ${m.identity}`,
    });
  }

  /** Starts two members and waits until both are stable in one generation; returns [leader, follower]. */
  async function stableGroup(): Promise<[Member, Member]> {
    const a = await startMember('app-0');
    await waitFor(() => a.observer.lastJoin, { what: 'app-0 joins' });
    const b = await startMember('app-1');
    await waitFor(
      () =>
        b.observer.lastJoin !== undefined &&
        a.observer.lastJoin?.generationId === b.observer.lastJoin.generationId &&
        a.observer.partitions(topic).length + b.observer.partitions(topic).length === PARTITIONS,
      { what: 'app-0 and app-1 share the partitions in one generation' },
    );
    await Promise.all([moreHeartbeats(a, 2), moreHeartbeats(b, 2)]);
    const leader = a.observer.lastJoin?.isLeader ? a : b;
    const follower = leader === a ? b : a;
    expect(leader.observer.lastJoin?.isLeader).toBe(true);
    expect(follower.observer.lastJoin?.isLeader).toBe(false);
    return [leader, follower];
  }

  const memberIds = (...members: Member[]) => members.map((m) => m.observer.lastJoin?.memberId).sort();

  it.each([
    ['the leader, with a changed subscription', 'leader', true],
    ['the leader, with the same subscription', 'leader', false],
    ['a follower, with a changed subscription', 'follower', true],
  ] as const)(
    'a rejoin of %s rebalances the Stable group: both members get a new generation, nobody leaves',
    async (_case, who, changed) => {
      const [leader, follower] = await stableGroup();
      const requester = who === 'leader' ? leader : follower;
      const generation = leader.observer.lastJoin!.generationId;
      const idsBefore = memberIds(leader, follower);
      const readsBefore = requester.subscriptionReads;
      const assignsBefore = assigns.length;
      if (changed) requester.lag = 42;

      requester.observer.consumer.requestRejoin();
      await waitFor(
        () =>
          leader.observer.lastJoin!.generationId > generation &&
          follower.observer.lastJoin?.generationId === leader.observer.lastJoin!.generationId,
        { what: 'both members in a new generation' },
      );

      // One rebalance, with the same two members: nobody left or was replaced.
      expect(leader.observer.lastJoin?.generationId).toBe(generation + 1);
      expect(memberIds(leader, follower)).toEqual(idsBefore);
      expect(leader.observer.lastJoin?.isLeader).toBe(true);
      expect(leader.observer.crashes).toEqual([]);
      expect(follower.observer.crashes).toEqual([]);
      const description = await leader.observer.consumer.describeGroup();
      expect(description.state).toBe('Stable');
      expect(description.members.map((m) => m.memberId).sort()).toEqual(idsBefore);

      // The rejoin read the subscription again, and the leader planned with what it said.
      expect(requester.subscriptionReads).toBeGreaterThan(readsBefore);
      expect(assigns.length).toBe(assignsBefore + 1);
      const planned = new Map(assigns.at(-1)!.map((s) => [s.identity, s.taskLags.get('0_0')]));
      expect(planned).toEqual(
        new Map([
          [leader.identity, leader.lag],
          [follower.identity, follower.lag],
        ]),
      );
      expect(planned.get(requester.identity)).toBe(changed ? 42 : 1_000);

      // All partitions still owned once each.
      const owned = [...leader.observer.partitions(topic), ...follower.observer.partitions(topic)].sort();
      expect(owned).toEqual([0, 1, 2, 3]);
    },
  );

  it('a rejoin of a follower with the same subscription does not rebalance: it gets its assignment back in the same generation', async () => {
    const [leader, follower] = await stableGroup();
    const generation = leader.observer.lastJoin!.generationId;
    const leaderJoins = leader.observer.joins.length;
    const followerJoins = follower.observer.joins.length;
    const partitions = follower.observer.partitions(topic);
    const readsBefore = follower.subscriptionReads;
    const assignsBefore = assigns.length;

    follower.observer.consumer.requestRejoin();
    await waitFor(() => follower.observer.joins.length > followerJoins, { what: 'the follower rejoins' });

    // It did send a JoinGroup (with a freshly read subscription) ...
    expect(follower.subscriptionReads).toBeGreaterThan(readsBefore);
    // ... and the broker answered with the current generation and its stored assignment.
    expect(follower.observer.lastJoin?.generationId).toBe(generation);
    expect(follower.observer.partitions(topic)).toEqual(partitions);
    // The leader keeps heartbeating in the same generation and never rejoins or plans again.
    await Promise.all([moreHeartbeats(leader, 3), moreHeartbeats(follower, 3)]);
    expect(leader.observer.joins).toHaveLength(leaderJoins);
    expect(follower.observer.joins).toHaveLength(followerJoins + 1);
    expect(assigns.length).toBe(assignsBefore);
  });

  it('requestRejoin() on a consumer that is not running does nothing and does not throw', async () => {
    const consumer = clients.track(clients.kafka.consumer(fastConsumerConfig(groupId)));
    // Not connected yet.
    expect(() => consumer.requestRejoin()).not.toThrow();
    await consumer.connect();
    // Connected and subscribed, not running.
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    expect(() => consumer.requestRejoin()).not.toThrow();

    // The request was dropped: running joins once and stays in that generation.
    const observer = new GroupObserver(consumer);
    await consumer.run({ eachMessage: observer.eachMessage });
    await waitFor(() => observer.lastJoin, { what: 'the consumer joins' });
    const from = observer.heartbeats;
    await waitFor(() => observer.heartbeats >= from + 3, { what: '3 heartbeats after the join' });
    expect(observer.joins).toHaveLength(1);

    // Stopped: no consumer group any more.
    await consumer.stop();
    expect(() => consumer.requestRejoin()).not.toThrow();
    await consumer.disconnect();
    expect(() => consumer.requestRejoin()).not.toThrow();
  });
});
