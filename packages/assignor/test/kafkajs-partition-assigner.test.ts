// The kafkajs PartitionAssigner adapter, fed members directly: subscriptions, partitions, userData, errors.

import { randomUUID } from 'node:crypto';
import { type Assigner, AssignerProtocol, type Cluster, type GroupMember, type Logger } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { EddyPartitionAssignerOptions, OwnAssignment, SubscriptionInfo } from '../src/index.js';
import {
  decodeAssignment,
  decodeOwnAssignment,
  decodeSubscription,
  EDDY_ASSIGNER_NAME,
  eddyPartitionAssigner,
  encodeSubscription,
  isAssignorError,
} from '../src/index.js';

/** The part of kafkajs's Cluster the assigner reads: partition metadata per topic. */
function clusterWith(partitionCounts: Record<string, number>): Cluster {
  return {
    findTopicPartitionMetadata: (topic: string) =>
      Array.from({ length: partitionCounts[topic] ?? 0 }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      })),
  } as unknown as Cluster;
}

function createAssigner(
  partitionCounts: Record<string, number>,
  info: SubscriptionInfo,
  extra: Partial<EddyPartitionAssignerOptions> = {},
): Assigner {
  const factory = eddyPartitionAssigner({
    assignerProtocol: AssignerProtocol,
    subscriptionInfo: () => info,
    ...extra,
  });
  return factory({ cluster: clusterWith(partitionCounts), groupId: 'g', logger: {} as Logger });
}

function info(identity: string, taskLags: Record<string, number> = {}): SubscriptionInfo {
  return { identity, processId: randomUUID(), taskLags, endpoint: `${identity}.app:7070` };
}

/** A group member as the leader sees it, subscribed to `topics` with the subscription of `sub`. */
function groupMember(
  memberId: string,
  topics: string[],
  sub: SubscriptionInfo,
  version?: number,
): GroupMember {
  const userData = encodeSubscription(
    sub,
    version === undefined ? {} : { version, latestSupportedVersion: version },
  );
  return {
    memberId,
    memberMetadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData }),
  };
}

interface Received {
  partitions: Record<string, number[]>;
  userData: Buffer;
}

async function assignAll(assigner: Assigner, members: GroupMember[], topics: string[]) {
  const result = await assigner.assign({ members, topics });
  const out = new Map<string, Received>();
  for (const { memberId, memberAssignment } of result) {
    const decoded = AssignerProtocol.MemberAssignment.decode(memberAssignment);
    if (decoded === null) throw new Error(`no assignment for ${memberId}`);
    out.set(memberId, { partitions: decoded.assignment, userData: decoded.userData });
  }
  return out;
}

describe('eddyPartitionAssigner', () => {
  it('announces the member subscription as userData under the protocol name "eddy"', () => {
    const own = info('app-0', { '0_1': 5 });
    const assigner = createAssigner({}, own);
    expect(assigner.name).toBe(EDDY_ASSIGNER_NAME);
    const state = assigner.protocol({ topics: ['in'] });
    expect(state.name).toBe('eddy');
    const metadata = AssignerProtocol.MemberMetadata.decode(state.metadata);
    expect(metadata?.topics).toEqual(['in']);
    const subscription = decodeSubscription(metadata?.userData ?? Buffer.alloc(0));
    expect(subscription).toMatchObject({
      identity: 'app-0',
      processId: own.processId,
      endpoint: 'app-0.app:7070',
    });
    expect([...subscription.taskLags]).toEqual([['0_1', 5]]);
  });

  it('reads subscriptionInfo() at every join', () => {
    let lag = 100;
    const assigner = eddyPartitionAssigner({
      assignerProtocol: AssignerProtocol,
      subscriptionInfo: () => ({ ...info('app-0'), taskLags: { '0_0': lag } }),
    })({ cluster: clusterWith({}), groupId: 'g', logger: {} as Logger });
    const lagOf = () =>
      decodeSubscription(
        AssignerProtocol.MemberMetadata.decode(assigner.protocol({ topics: ['in'] }).metadata)?.userData ??
          Buffer.alloc(0),
      ).taskLags.get('0_0');
    expect(lagOf()).toBe(100);
    lag = 3;
    expect(lagOf()).toBe(3);
  });

  it('gives each member the partitions of its active tasks on every co-partitioned topic, plus its Eddy userData', async () => {
    const subs = {
      a: info('app-0', { '0_0': 0, '0_1': 0 }),
      b: info('app-1', { '0_2': 0 }),
      c: info('app-2'),
    };
    const assigner = createAssigner({ in: 6, other: 6 }, subs.a);
    const members = [
      groupMember('m-c', ['in', 'other'], subs.c),
      groupMember('m-a', ['in', 'other'], subs.a),
      groupMember('m-b', ['in', 'other'], subs.b),
    ];
    const got = await assignAll(assigner, members, ['other', 'in']);

    const seen: number[] = [];
    for (const [memberId, { partitions, userData }] of got) {
      expect(Object.keys(partitions).sort()).toEqual(['in', 'other']);
      expect(partitions.in).toEqual(partitions.other);
      expect(partitions.in).toHaveLength(2);
      const assignment = decodeAssignment(userData);
      expect(assignment.active.map((id) => Number(id.split('_')[1]))).toEqual(partitions.in);
      expect(assignment.errorCode).toBe('NONE');
      expect(assignment.version).toBe(2);
      expect([...assignment.hostOf.keys()].sort()).toEqual([
        'app-0.app:7070',
        'app-1.app:7070',
        'app-2.app:7070',
      ]);
      seen.push(...(partitions.in ?? []));
      expect(memberId).toMatch(/^m-[abc]$/);
    }
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    // Caught-up state wins: app-0 keeps 0_0 and 0_1, app-1 keeps 0_2.
    expect(got.get('m-a')?.partitions.in).toEqual([0, 1]);
    expect(got.get('m-b')?.partitions.in).toContain(2);
  });

  it('gives the same partitions whatever the order of the members', async () => {
    const subs = [info('app-0'), info('app-1'), info('app-2')];
    const assigner = createAssigner({ in: 7 }, subs[0]!);
    const members = subs.map((s, i) => groupMember(`m-${i}`, ['in'], s));
    const forward = await assignAll(assigner, members, ['in']);
    const backward = await assignAll(assigner, [...members].reverse(), ['in']);
    for (const id of ['m-0', 'm-1', 'm-2']) {
      expect(backward.get(id)?.partitions).toEqual(forward.get(id)?.partitions);
    }
  });

  it('writes every assignment in the lowest version of the group', async () => {
    const assigner = createAssigner({ in: 2 }, info('app-0'));
    const members = [
      groupMember('new', ['in'], { ...info('app-0'), rack: 'zone-a' }),
      groupMember('old', ['in'], info('app-1'), 1),
    ];
    const got = await assignAll(assigner, members, ['in']);
    for (const { userData } of got.values()) expect(decodeAssignment(userData).version).toBe(1);
  });

  it('keeps stateless tasks with the same pods when they rejoin with new member ids', async () => {
    const subs = [info('app-0'), info('app-1'), info('app-2')];
    const assigner = createAssigner({ in: 6 }, subs[0]!, { statefulTasks: false });
    const before = await assignAll(
      assigner,
      subs.map((s, i) => groupMember(`first-${i}`, ['in'], s)),
      ['in'],
    );
    // The pods come back in another order and under new member ids: the leader remembers pods, not ids.
    const after = await assignAll(
      assigner,
      subs.map((s, i) => groupMember(`second-${i}`, ['in'], s)).reverse(),
      ['in'],
    );
    for (let i = 0; i < 3; i++) {
      expect(after.get(`second-${i}`)?.partitions).toEqual(before.get(`first-${i}`)?.partitions);
    }
  });

  it('refuses source topics that are not co-partitioned', async () => {
    const assigner = createAssigner({ in: 4, other: 3 }, info('app-0'));
    const err = await assigner
      .assign({ members: [groupMember('m', ['in', 'other'], info('app-0'))], topics: ['in', 'other'] })
      .catch((e: unknown) => e);
    expect(isAssignorError(err, 'ASSIGNOR_INVALID_INPUT')).toBe(true);
  });

  it('assigns nothing and says INCOMPLETE_SOURCE_TOPIC_METADATA when a topic has no metadata', async () => {
    const assigner = createAssigner({ in: 4 }, info('app-0'));
    const got = await assignAll(assigner, [groupMember('m', ['in', 'gone'], info('app-0'))], ['in', 'gone']);
    const own = got.get('m');
    expect(own?.partitions).toEqual({ in: [], gone: [] });
    expect(decodeAssignment(own?.userData ?? Buffer.alloc(0)).errorCode).toBe(
      'INCOMPLETE_SOURCE_TOPIC_METADATA',
    );
  });

  it('rejects a member whose subscription is not Eddy userData', async () => {
    const assigner = createAssigner({ in: 2 }, info('app-0'));
    const foreign: GroupMember = {
      memberId: 'foreign',
      memberMetadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics: ['in'],
        userData: Buffer.from('not eddy'),
      }),
    };
    const err = await assigner.assign({ members: [foreign], topics: ['in'] }).catch((e: unknown) => e);
    expect(isAssignorError(err, 'ASSIGNOR_DECODE_FAILED')).toBe(true);
    expect((err as Error).message).toContain('foreign');
  });

  it('decodes the own assignment, and refuses missing userData', async () => {
    const assigner = createAssigner({ in: 3 }, info('app-0'));
    const got = await assignAll(assigner, [groupMember('m', ['in'], info('app-0'))], ['in']);
    expect(decodeOwnAssignment(got.get('m')?.userData).active).toEqual(['0_0', '0_1', '0_2']);
    for (const missing of [null, undefined, Buffer.alloc(0)]) {
      expect(() => decodeOwnAssignment(missing)).toThrow(
        expect.objectContaining({ code: 'ASSIGNOR_DECODE_FAILED' }),
      );
    }
  });

  it('hands the decoded assignment to onAssignment (the hook the patched kafkajs calls on every member)', async () => {
    const seen: OwnAssignment[] = [];
    const assigner = createAssigner({ in: 2 }, info('app-0'), { onAssignment: (a) => void seen.push(a) });
    const got = await assignAll(assigner, [groupMember('m', ['in'], info('app-0'))], ['in']);
    await assigner.onAssignment?.({
      groupId: 'g',
      generationId: 7,
      memberId: 'm',
      assignment: { in: [0, 1] },
      userData: got.get('m')?.userData ?? null,
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      groupId: 'g',
      generationId: 7,
      memberId: 'm',
      partitions: { in: [0, 1] },
    });
    expect(seen[0]?.assignment.active).toEqual(['0_0', '0_1']);
  });

  it('has no onAssignment hook without a callback', () => {
    expect(createAssigner({}, info('app-0')).onAssignment).toBeUndefined();
  });
});
