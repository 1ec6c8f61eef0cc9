// Assignment userData through the patched kafkajs: every member, leader or not, receives its own bytes.
import {
  type AssignerAssignment,
  AssignerProtocol,
  type GroupMemberAssignment,
  type PartitionAssigner,
} from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClientRegistry, fastConsumerConfig } from '../kafkajs/clients.js';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { GroupObserver } from './group-observer.js';

const PROTOCOL = 'PerMemberUserData';

/** The bytes the leader gives the member that announced `tag`: binary, with a zero byte inside. */
function bytesFor(tag: string): Buffer {
  return Buffer.concat([Buffer.from(`for-${tag}`), Buffer.from([0x00, 0xff, tag.length])]);
}

/**
 * Each member announces a tag; the leader splits the partitions round the sorted tags and gives each
 * member `bytesFor(tag)` as assignment userData. `received` collects what the onAssignment hook sees.
 */
function perMemberAssigner(tag: string, received: AssignerAssignment[]): PartitionAssigner {
  return ({ cluster }) => ({
    name: PROTOCOL,
    version: 1,
    protocol: ({ topics }) => ({
      name: PROTOCOL,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(tag) }),
    }),
    assign: async ({ members, topics }) => {
      const tagged = members
        .map((m) => ({
          memberId: m.memberId,
          tag: AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData.toString() ?? '',
        }))
        .sort((x, y) => (x.tag < y.tag ? -1 : 1));
      return tagged.map(
        ({ memberId, tag: memberTag }, i): GroupMemberAssignment => ({
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 1,
            assignment: Object.fromEntries(
              topics.map((t) => [
                t,
                cluster
                  .findTopicPartitionMetadata(t)
                  .map((p) => p.partitionId)
                  .filter((p) => p % tagged.length === i),
              ]),
            ),
            userData: bytesFor(memberTag),
          }),
        }),
      );
    },
    onAssignment: (assignment) => {
      received.push(assignment);
    },
  });
}

describe('assignment userData (patched kafkajs)', () => {
  let clients: ClientRegistry;
  beforeEach(() => {
    clients = new ClientRegistry();
  });
  afterEach(() => clients.closeAll());

  it('reaches the leader and the non-leader, in GROUP_JOIN and in the assigner hook', async () => {
    const topic = uniqueName('user-data');
    const groupId = uniqueName('group');
    await createTopics([{ topic, numPartitions: 4 }]);
    const hooks = new Map<string, AssignerAssignment[]>();
    const start = async (tag: string): Promise<GroupObserver> => {
      hooks.set(tag, []);
      const consumer = await clients.consumer(
        fastConsumerConfig(groupId, { partitionAssigners: [perMemberAssigner(tag, hooks.get(tag) ?? [])] }),
      );
      const observer = new GroupObserver(consumer);
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({ eachMessage: observer.eachMessage });
      return observer;
    };

    const a = await start('a');
    await waitFor(() => a.partitions(topic).length === 4, { what: 'a alone owns everything' });
    // A member alone is its own leader and still gets its bytes.
    expect(a.lastJoin?.isLeader).toBe(true);
    expect(a.lastJoin?.memberAssignmentUserData).toEqual(bytesFor('a'));

    const b = await start('b');
    await waitFor(
      () =>
        a.partitions(topic).length === 2 &&
        b.partitions(topic).length === 2 &&
        a.lastJoin?.generationId === b.lastJoin?.generationId,
      { what: 'a and b split the partitions' },
    );
    const joins = { a: a.lastJoin, b: b.lastJoin };
    expect([joins.a?.isLeader, joins.b?.isLeader].sort()).toEqual([false, true]);
    expect(joins.a?.memberAssignmentUserData).toEqual(bytesFor('a'));
    expect(joins.b?.memberAssignmentUserData).toEqual(bytesFor('b'));
    expect(a.partitions(topic)).toEqual([0, 2]);
    expect(b.partitions(topic)).toEqual([1, 3]);

    // The assigner of every member hears about its own assignment, for the same generation.
    for (const [tag, join] of Object.entries(joins)) {
      const hook = hooks.get(tag)?.at(-1);
      expect(hook).toEqual({
        groupId,
        generationId: join?.generationId,
        memberId: join?.memberId,
        assignment: { [topic]: join?.memberAssignment[topic] },
        userData: bytesFor(tag),
      });
    }
  });

  it('is null when the assignment carries no userData (built-in round robin)', async () => {
    const topic = uniqueName('no-user-data');
    const groupId = uniqueName('group');
    await createTopics([{ topic, numPartitions: 2 }]);
    const consumer = await clients.consumer(fastConsumerConfig(groupId));
    const observer = new GroupObserver(consumer);
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachMessage: observer.eachMessage });
    const join = await waitFor(() => observer.lastJoin, { what: 'the consumer joins' });
    expect(join.memberAssignmentUserData).toBeNull();
    expect(join.groupProtocol).toBe('RoundRobinAssigner');
    expect(join.generationId).toBeGreaterThan(0);
  });
});
