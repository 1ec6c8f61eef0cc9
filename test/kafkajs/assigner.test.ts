// A custom kafkajs PartitionAssigner on Kafka 4: the leader's decision reaches every member, and where userData goes.
import {
  AssignerProtocol,
  type Consumer,
  type ConsumerGroupJoinEvent,
  type GroupMember,
  type GroupMemberAssignment,
  type PartitionAssigner,
} from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { ClientRegistry, fastConsumerConfig } from './clients.js';

const PROTOCOL = 'EddyTaggedAssigner';

interface AssignCall {
  /** Tag of the member whose assigner ran, i.e. the leader. */
  by: string;
  members: { memberId: string; tag: string; topics: string[] }[];
  result: { memberId: string; assignment: Record<string, number[]>; userData: string }[];
}

/**
 * Each member announces a tag in its subscription userData. With tags `a` and `b` both present, `a` gets
 * partitions 0 and 3 and `b` gets 1, 2 and 4 (a split no built-in assigner makes); a member alone gets everything.
 * The assignment userData says `for-<tag>`.
 */
function taggedAssigner(tag: string, calls: AssignCall[]): PartitionAssigner {
  return ({ cluster }) => ({
    name: PROTOCOL,
    version: 1,
    protocol: ({ topics }) => ({
      name: PROTOCOL,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(tag) }),
    }),
    assign: async ({ members, topics }: { members: GroupMember[]; topics: string[] }) => {
      const decoded = members.map((m) => {
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
        return { memberId: m.memberId, tag: meta?.userData.toString() ?? '', topics: meta?.topics ?? [] };
      });
      const split: Record<string, number[]> = { a: [0, 3], b: [1, 2, 4] };
      const result = decoded.map(({ memberId, tag: memberTag }) => {
        const assignment: Record<string, number[]> = {};
        for (const topic of topics) {
          const all = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
          assignment[topic] = decoded.length === 1 ? all.sort((x, y) => x - y) : (split[memberTag] ?? []);
        }
        return { memberId, assignment, userData: `for-${memberTag}` };
      });
      calls.push({ by: tag, members: decoded, result });
      return result.map(
        (r): GroupMemberAssignment => ({
          memberId: r.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 1,
            assignment: r.assignment,
            userData: Buffer.from(r.userData),
          }),
        }),
      );
    },
  });
}

type JoinPayload = ConsumerGroupJoinEvent['payload'];

describe('kafkajs custom partition assigner on Kafka 4', () => {
  let clients: ClientRegistry;
  beforeEach(() => {
    clients = new ClientRegistry();
  });
  afterEach(() => clients.closeAll());

  it('gives each member exactly the leader-computed partitions; each member receives its own assignment userData', async () => {
    const topic = uniqueName('assign');
    const groupId = uniqueName('group');
    await createTopics([{ topic, numPartitions: 5 }]);

    const calls: AssignCall[] = [];
    const lastJoin = new Map<string, JoinPayload>();
    const received = new Map<string, Set<number>>();
    const start = async (tag: string): Promise<Consumer> => {
      const consumer = await clients.consumer(
        fastConsumerConfig(groupId, { partitionAssigners: [taggedAssigner(tag, calls)] }),
      );
      consumer.on(consumer.events.GROUP_JOIN, (e) => lastJoin.set(tag, e.payload));
      received.set(tag, new Set());
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition }) => {
          received.get(tag)?.add(partition);
        },
      });
      return consumer;
    };

    const consumerA = await start('a');
    await waitFor(() => lastJoin.get('a')?.memberAssignment[topic]?.length === 5, {
      timeoutMs: 15_000,
      what: 'a alone owns all 5 partitions',
    });
    const consumerB = await start('b');
    const split = await waitFor(
      () => {
        const a = lastJoin.get('a');
        const b = lastJoin.get('b');
        return a && b && a.memberAssignment[topic]?.length === 2 && b.memberAssignment[topic]?.length === 3
          ? { a, b }
          : undefined;
      },
      { timeoutMs: 20_000, what: 'a and b split the partitions' },
    );

    // Each member holds exactly what the leader's assign() decided for its memberId.
    const decision = calls.at(-1);
    expect(decision?.members.map((m) => m.tag).sort()).toEqual(['a', 'b']);
    expect(decision?.members.every((m) => m.topics.includes(topic))).toBe(true);
    for (const [tag, payload] of Object.entries(split)) {
      const decided = decision?.result.find((r) => r.memberId === payload.memberId);
      expect(decided?.userData).toBe(`for-${tag}`);
      expect(payload.memberAssignment).toEqual(decided?.assignment);
      expect(payload.groupProtocol).toBe(PROTOCOL);
    }
    expect(split.a.memberAssignment).toEqual({ [topic]: [0, 3] });
    expect(split.b.memberAssignment).toEqual({ [topic]: [1, 2, 4] });
    expect(split.a.isLeader).not.toBe(split.b.isLeader);
    expect(split.a.leaderId).toBe(split.b.leaderId);

    // Unpatched kafkajs keeps only `assignment` of the SyncGroup answer; the project's kafkajs patch adds the
    // generation and the member's own assignment userData to the GROUP_JOIN payload, leader and non-leader alike.
    for (const [tag, payload] of Object.entries(split)) {
      expect(Object.keys(payload).sort()).toEqual(
        [
          'duration',
          'generationId',
          'groupId',
          'groupProtocol',
          'isLeader',
          'leaderId',
          'memberAssignment',
          'memberAssignmentUserData',
          'memberId',
        ].sort(),
      );
      expect(payload.memberAssignmentUserData?.toString()).toBe(`for-${tag}`);
    }
    const nonLeader = split.a.isLeader ? 'b' : 'a';
    // Only the leader's assigner computes the assignment.
    expect(decision?.by).toBe(nonLeader === 'a' ? 'b' : 'a');

    // The broker does keep the full assignment bytes: DescribeGroups returns them, userData included. This is the
    // only place a non-leader can read its assignment userData through the public kafkajs API.
    const description = await (nonLeader === 'a' ? consumerA : consumerB).describeGroup();
    expect(description.protocol).toBe(PROTOCOL);
    const nonLeaderId = split[nonLeader].memberId;
    const own = description.members.find((m) => m.memberId === nonLeaderId);
    const decoded = own ? AssignerProtocol.MemberAssignment.decode(own.memberAssignment) : null;
    expect(decoded?.userData.toString()).toBe(`for-${nonLeader}`);
    expect(decoded?.assignment).toEqual(split[nonLeader].memberAssignment);
    expect(
      AssignerProtocol.MemberMetadata.decode(own?.memberMetadata ?? Buffer.alloc(0))?.userData.toString(),
    ).toBe(nonLeader);

    // And the fetches follow the assignment: each member only reads from its partitions.
    const producer = await clients.producer();
    for (const tag of ['a', 'b']) received.set(tag, new Set());
    await producer.send({ topic, messages: [0, 1, 2, 3, 4].map((partition) => ({ partition, value: 'x' })) });
    await waitFor(() => (received.get('a')?.size ?? 0) + (received.get('b')?.size ?? 0) === 5, {
      timeoutMs: 15_000,
      what: 'one message per partition consumed',
    });
    expect([...(received.get('a') ?? [])].sort()).toEqual([0, 3]);
    expect([...(received.get('b') ?? [])].sort()).toEqual([1, 2, 4]);
  });
});
