// A port GroupProtocol carried by kafkajs: subscription bytes in the JoinGroup envelope, plans in SyncGroup's.

import { describe, expect, it } from 'vitest';
import { AssignerProtocol, type Cluster, type Logger } from '#kafkajs';
import { groupProtocolAssigner } from '../src/kafka/kafkajs/group-assigner.js';
import type { GroupMemberSubscription, GroupProtocol, MemberPlan } from '../src/kafka/port.js';

function clusterWith(partitionCounts: Record<string, number>): Cluster {
  return {
    findTopicPartitionMetadata: (topic: string) =>
      Array.from({ length: partitionCounts[topic] ?? 0 }, (_, partitionId) => ({ partitionId })),
  } as unknown as Cluster;
}

/** A protocol that gives the first member every partition of `in` and echoes what it saw. */
function recordingProtocol(seen: { members: GroupMemberSubscription[]; counts: number[] }[]): GroupProtocol {
  return {
    name: 'test-protocol',
    subscription: () => Buffer.from('my-subscription'),
    assign(members, partitionCount) {
      seen.push({ members, counts: [partitionCount('in'), partitionCount('missing')] });
      const plans = new Map<string, MemberPlan>(
        members.map((m) => [m.memberId, { partitions: [], userData: Buffer.from(`for ${m.memberId}`) }]),
      );
      const first = members[0]!.memberId;
      const n = partitionCount('in');
      plans.set(first, {
        partitions: Array.from({ length: n }, (_, partition) => ({ topic: 'in', partition })),
        userData: Buffer.from(`for ${first}`),
      });
      return plans;
    },
  };
}

describe('groupProtocolAssigner', () => {
  it('announces the protocol name and its subscription bytes with the subscribed topics', () => {
    const assigner = groupProtocolAssigner(recordingProtocol([]))({
      cluster: clusterWith({}),
      groupId: 'g',
      logger: {} as Logger,
    });
    expect(assigner.name).toBe('test-protocol');
    const state = assigner.protocol({ topics: ['in', 'other'] });
    expect(state.name).toBe('test-protocol');
    const metadata = AssignerProtocol.MemberMetadata.decode(state.metadata);
    expect(metadata).toMatchObject({ version: 1, topics: ['in', 'other'] });
    expect(metadata?.userData.toString()).toBe('my-subscription');
  });

  it('hands the members’ bytes and the metadata’s partition counts to the protocol, and writes its plans', async () => {
    const seen: { members: GroupMemberSubscription[]; counts: number[] }[] = [];
    const assigner = groupProtocolAssigner(recordingProtocol(seen))({
      cluster: clusterWith({ in: 3 }),
      groupId: 'g',
      logger: {} as Logger,
    });
    const member = (memberId: string, userData: string) => ({
      memberId,
      memberMetadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics: ['in', 'other'],
        userData: Buffer.from(userData),
      }),
    });
    const result = await assigner.assign({
      members: [member('a', 'sub-a'), member('b', 'sub-b')],
      topics: ['other', 'in'],
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.members.map((m) => [m.memberId, m.userData.toString()])).toEqual([
      ['a', 'sub-a'],
      ['b', 'sub-b'],
    ]);
    expect(seen[0]?.counts).toEqual([3, 0]);
    const decoded = new Map(
      result.map((r) => [r.memberId, AssignerProtocol.MemberAssignment.decode(r.memberAssignment)]),
    );
    // Every subscribed topic is listed, empty or not, as kafkajs's own assigners do.
    expect(decoded.get('a')?.assignment).toEqual({ in: [0, 1, 2], other: [] });
    expect(decoded.get('b')?.assignment).toEqual({ in: [], other: [] });
    expect(decoded.get('a')?.userData.toString()).toBe('for a');
    expect(decoded.get('b')?.userData.toString()).toBe('for b');
  });

  it('passes onAssignment to the patched kafkajs, and has none without it', async () => {
    const context = { cluster: clusterWith({}), groupId: 'g', logger: {} as Logger };
    expect(groupProtocolAssigner(recordingProtocol([]))(context).onAssignment).toBeUndefined();
    const received: unknown[] = [];
    const assigner = groupProtocolAssigner(recordingProtocol([]), {
      onAssignment: (a) => void received.push(a),
    })(context);
    const assignment = {
      groupId: 'g',
      generationId: 3,
      memberId: 'a',
      assignment: { in: [0] },
      userData: null,
    };
    await assigner.onAssignment?.(assignment);
    expect(received).toEqual([assignment]);
  });
});
