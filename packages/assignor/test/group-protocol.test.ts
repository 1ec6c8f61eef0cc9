// Eddy's group protocol, fed members directly: subscriptions, partitions, userData, errors, several subtopologies.

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type {
  AssignmentErrorCode,
  EddyGroupProtocol,
  EddyGroupProtocolOptions,
  ProtocolMember,
  SubscriptionInfo,
  TopicGroup,
} from '../src/index.js';
import {
  decodeAssignment,
  decodeOwnAssignment,
  decodeSubscription,
  EDDY_PROTOCOL_NAME,
  eddyGroupProtocol,
  encodeSubscription,
} from '../src/index.js';

/** One subtopology reading `topics`, as today's single-subtopology apps do. */
function single(topics: string[], stateful = true): TopicGroup[] {
  return [{ subtopology: 0, sourceTopics: topics, stateful }];
}

function createProtocol(
  topicGroups: readonly TopicGroup[],
  own: SubscriptionInfo,
  extra: Partial<EddyGroupProtocolOptions> = {},
): EddyGroupProtocol {
  return eddyGroupProtocol({ topicGroups, subscription: () => own, ...extra });
}

function info(identity: string, taskLags: Record<string, number> = {}): SubscriptionInfo {
  return { identity, processId: randomUUID(), taskLags, endpoint: `${identity}.app:7070` };
}

function groupMember(memberId: string, sub: SubscriptionInfo, version?: number): ProtocolMember {
  return {
    memberId,
    userData: encodeSubscription(
      sub,
      version === undefined ? {} : { version, latestSupportedVersion: version },
    ),
  };
}

const counts =
  (partitionCounts: Record<string, number>) =>
  (topic: string): number =>
    partitionCounts[topic] ?? 0;

/** topic → partitions of one member's plan. */
function byTopic(partitions: { topic: string; partition: number }[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const { topic, partition } of partitions) out[topic] = [...(out[topic] ?? []), partition];
  return out;
}

describe('eddyGroupProtocol', () => {
  it('announces the member subscription under the protocol name "eddy"', () => {
    const own = info('app-0', { '0_1': 5 });
    const protocol = createProtocol(single(['in']), own);
    expect(protocol.name).toBe(EDDY_PROTOCOL_NAME);
    expect(protocol.name).toBe('eddy');
    const subscription = decodeSubscription(protocol.subscription());
    expect(subscription).toMatchObject({
      identity: 'app-0',
      processId: own.processId,
      endpoint: 'app-0.app:7070',
    });
    expect([...subscription.taskLags]).toEqual([['0_1', 5]]);
  });

  it('reads subscription() at every join', () => {
    let lag = 100;
    const protocol = eddyGroupProtocol({
      topicGroups: single(['in']),
      subscription: () => ({ ...info('app-0'), taskLags: { '0_0': lag } }),
    });
    const lagOf = () => decodeSubscription(protocol.subscription()).taskLags.get('0_0');
    expect(lagOf()).toBe(100);
    lag = 3;
    expect(lagOf()).toBe(3);
  });

  it('gives each member the partitions of its active tasks on every co-partitioned topic, plus its Eddy userData', () => {
    const subs = {
      a: info('app-0', { '0_0': 0, '0_1': 0 }),
      b: info('app-1', { '0_2': 0 }),
      c: info('app-2'),
    };
    const protocol = createProtocol(single(['in', 'other']), subs.a);
    const members = [groupMember('m-c', subs.c), groupMember('m-a', subs.a), groupMember('m-b', subs.b)];
    const got = protocol.assign(members, counts({ in: 6, other: 6 }));

    const seen: number[] = [];
    for (const [memberId, { partitions, userData }] of got) {
      const topics = byTopic(partitions);
      expect(Object.keys(topics).sort()).toEqual(['in', 'other']);
      expect(topics.in).toEqual(topics.other);
      expect(topics.in).toHaveLength(2);
      const assignment = decodeAssignment(userData);
      expect(assignment.active.map((id) => Number(id.split('_')[1]))).toEqual(topics.in);
      expect(assignment.errorCode).toBe('NONE');
      expect(assignment.version).toBe(3);
      expect([...assignment.hostOf.keys()].sort()).toEqual([
        'app-0.app:7070',
        'app-1.app:7070',
        'app-2.app:7070',
      ]);
      seen.push(...(topics.in ?? []));
      expect(memberId).toMatch(/^m-[abc]$/);
    }
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    // Caught-up state wins: app-0 keeps 0_0 and 0_1, app-1 keeps 0_2.
    expect(byTopic(got.get('m-a')?.partitions ?? []).in).toEqual([0, 1]);
    expect(byTopic(got.get('m-b')?.partitions ?? []).in).toContain(2);
  });

  it('gives the same partitions whatever the order of the members', () => {
    const subs = [info('app-0'), info('app-1'), info('app-2')];
    const protocol = createProtocol(single(['in']), subs[0]!);
    const members = subs.map((s, i) => groupMember(`m-${i}`, s));
    const forward = protocol.assign(members, counts({ in: 7 }));
    const backward = protocol.assign([...members].reverse(), counts({ in: 7 }));
    for (const id of ['m-0', 'm-1', 'm-2']) {
      expect(backward.get(id)?.partitions).toEqual(forward.get(id)?.partitions);
    }
  });

  it('writes every assignment in the lowest version of the group', () => {
    const protocol = createProtocol(single(['in']), info('app-0'));
    const members = [
      groupMember('new', { ...info('app-0'), rack: 'zone-a' }),
      groupMember('old', info('app-1'), 1),
    ];
    for (const { userData } of protocol.assign(members, counts({ in: 2 })).values()) {
      expect(decodeAssignment(userData).version).toBe(1);
    }
  });

  it('keeps stateless tasks with the same pods when they rejoin with new member ids', () => {
    const subs = [info('app-0'), info('app-1'), info('app-2')];
    const protocol = createProtocol(single(['in'], false), subs[0]!);
    const before = protocol.assign(
      subs.map((s, i) => groupMember(`first-${i}`, s)),
      counts({ in: 6 }),
    );
    // The pods come back in another order and under new member ids: the leader remembers pods, not ids.
    const after = protocol.assign(
      subs.map((s, i) => groupMember(`second-${i}`, s)).reverse(),
      counts({ in: 6 }),
    );
    for (let i = 0; i < 3; i++) {
      expect(after.get(`second-${i}`)?.partitions).toEqual(before.get(`first-${i}`)?.partitions);
    }
  });

  it('assigns nothing and says INCOMPLETE_SOURCE_TOPIC_METADATA when a topic has no metadata', () => {
    const protocol = createProtocol(single(['in', 'gone']), info('app-0'));
    const own = protocol.assign([groupMember('m', info('app-0'))], counts({ in: 4 })).get('m');
    expect(own?.partitions).toEqual([]);
    expect(decodeOwnAssignment(own?.userData).errorCode).toBe('INCOMPLETE_SOURCE_TOPIC_METADATA');
  });

  it('leaves out a member whose subscription is not Eddy userData, and assigns the others', () => {
    const ignored: [string, string][] = [];
    const protocol = eddyGroupProtocol({
      topicGroups: single(['in']),
      subscription: () => info('app-0'),
      onMemberIgnored: (memberId, error) => ignored.push([memberId, error.code]),
    });
    const plans = protocol.assign(
      [groupMember('m', info('app-0')), { memberId: 'foreign', userData: Buffer.from('not eddy') }],
      counts({ in: 2 }),
    );
    expect(ignored).toEqual([['foreign', 'ASSIGNOR_DECODE_FAILED']]);
    expect(plans.get('foreign')).toEqual({ partitions: [], userData: Buffer.alloc(0) });
    expect(decodeOwnAssignment(plans.get('m')?.userData).active).toEqual(['0_0', '0_1']);
  });

  it('decodes the own assignment, and refuses missing userData', () => {
    const protocol = createProtocol(single(['in']), info('app-0'));
    const got = protocol.assign([groupMember('m', info('app-0'))], counts({ in: 3 }));
    expect(decodeOwnAssignment(got.get('m')?.userData).active).toEqual(['0_0', '0_1', '0_2']);
    for (const missing of [null, undefined, Buffer.alloc(0)]) {
      expect(() => decodeOwnAssignment(missing)).toThrow(
        expect.objectContaining({ code: 'ASSIGNOR_DECODE_FAILED' }),
      );
    }
  });
});

describe('eddyGroupProtocol with several subtopologies', () => {
  // Subtopology 0 reads the input and writes a repartition topic; subtopology 1 reads that topic and counts.
  const groups: TopicGroup[] = [
    { subtopology: 0, sourceTopics: ['orders'], stateful: false },
    { subtopology: 1, sourceTopics: ['app-by-customer-repartition'], stateful: true },
  ];

  it('makes one task per partition of each subtopology, and an active task fetches its own topics only', () => {
    const protocol = createProtocol(groups, info('app-0'));
    const got = protocol.assign(
      [groupMember('m', info('app-0'))],
      counts({ orders: 3, 'app-by-customer-repartition': 2 }),
    );
    const own = got.get('m')!;
    expect(decodeOwnAssignment(own.userData).active).toEqual(['0_0', '0_1', '0_2', '1_0', '1_1']);
    expect(byTopic(own.partitions)).toEqual({ 'app-by-customer-repartition': [0, 1], orders: [0, 1, 2] });
  });

  it('spreads the tasks of both subtopologies, each partition fetched by exactly one member', () => {
    const protocol = createProtocol(groups, info('app-0'));
    const members = [groupMember('a', info('app-0')), groupMember('b', info('app-1'))];
    const got = protocol.assign(members, counts({ orders: 4, 'app-by-customer-repartition': 4 }));
    const fetched: string[] = [];
    for (const [memberId, plan] of got) {
      const active = decodeOwnAssignment(plan.userData).active;
      expect(active.length).toBe(4);
      for (const id of active) {
        const [subtopology, partition] = id.split('_').map(Number);
        const topic = subtopology === 0 ? 'orders' : 'app-by-customer-repartition';
        expect(plan.partitions).toContainEqual({ topic, partition });
      }
      expect(plan.partitions).toHaveLength(4);
      fetched.push(...plan.partitions.map((p) => `${memberId}:${p.topic}:${p.partition}`));
    }
    expect(new Set(fetched.map((f) => f.slice(2))).size).toBe(8);
  });

  it('places stateful tasks by lag and leaves stateless ones to balance', () => {
    const protocol = createProtocol(groups, info('app-0'));
    const members = [
      groupMember('a', info('app-0', { '1_0': 0, '1_1': 0 })),
      groupMember('b', info('app-1')),
    ];
    const got = protocol.assign(members, counts({ orders: 2, 'app-by-customer-repartition': 2 }));
    expect(decodeOwnAssignment(got.get('a')?.userData).active.filter((t) => t.startsWith('1_'))).toEqual([
      '1_0',
      '1_1',
    ]);
  });
});

describe('eddyGroupProtocol topic groups', () => {
  it.each([
    [[{ subtopology: 0, sourceTopics: [], stateful: true }], 'no source topic'],
    [
      [
        { subtopology: 0, sourceTopics: ['a'], stateful: true },
        { subtopology: 0, sourceTopics: ['b'], stateful: true },
      ],
      'given twice',
    ],
    [[{ subtopology: -1, sourceTopics: ['a'], stateful: true }], 'invalid'],
    [
      [
        { subtopology: 0, sourceTopics: ['a'], stateful: true },
        { subtopology: 1, sourceTopics: ['a'], stateful: true },
      ],
      'source of subtopologies 0 and 1',
    ],
  ] as [TopicGroup[], string][])('refuses %j with ASSIGNOR_INVALID_INPUT', (topicGroups, message) => {
    expect(() => createProtocol(topicGroups, info('app-0'))).toThrow(
      expect.objectContaining({ code: 'ASSIGNOR_INVALID_INPUT', message: expect.stringContaining(message) }),
    );
  });
});

describe('eddyGroupProtocol when partitions change under the app (defect 8)', () => {
  function assignmentErrors(
    protocol: EddyGroupProtocol,
    partitionCounts: Record<string, number>,
    memberCount = 3,
  ): { codes: AssignmentErrorCode[]; partitions: number } {
    const members = Array.from({ length: memberCount }, (_, i) => groupMember(`m-${i}`, info(`app-${i}`)));
    const got = protocol.assign(members, counts(partitionCounts));
    return {
      codes: [...got.values()].map((p) => decodeOwnAssignment(p.userData).errorCode),
      partitions: [...got.values()].reduce((n, p) => n + p.partitions.length, 0),
    };
  }

  it('does not throw on co-partitioned topics that no longer match: every member is told, nothing assigned', () => {
    const reasons: string[] = [];
    const protocol = createProtocol(single(['in', 'other']), info('app-0'), {
      onAssignmentError: (code, reason) => reasons.push(`${code}: ${reason}`),
    });
    expect(assignmentErrors(protocol, { in: 6, other: 4 })).toEqual({
      codes: [
        'SOURCE_TOPIC_PARTITIONS_CHANGED',
        'SOURCE_TOPIC_PARTITIONS_CHANGED',
        'SOURCE_TOPIC_PARTITIONS_CHANGED',
      ],
      partitions: 0,
    });
    expect(reasons).toEqual([
      'SOURCE_TOPIC_PARTITIONS_CHANGED: co-partitioned source topics of subtopology 0 differ: in=6, other=4',
    ]);
  });

  it('compares a single source topic with the count the app started with', () => {
    const protocol = createProtocol(single(['in']), info('app-0'), {
      expectedPartitions: new Map([['in', 4]]),
    });
    expect(assignmentErrors(protocol, { in: 4 }).codes).toEqual(['NONE', 'NONE', 'NONE']);
    expect(assignmentErrors(protocol, { in: 6 })).toEqual({
      codes: [
        'SOURCE_TOPIC_PARTITIONS_CHANGED',
        'SOURCE_TOPIC_PARTITIONS_CHANGED',
        'SOURCE_TOPIC_PARTITIONS_CHANGED',
      ],
      partitions: 0,
    });
  });

  it('checks the topics of every subtopology', () => {
    const protocol = createProtocol(
      [
        { subtopology: 0, sourceTopics: ['orders'], stateful: false },
        { subtopology: 1, sourceTopics: ['repartition'], stateful: true },
      ],
      info('app-0'),
      {
        expectedPartitions: new Map([
          ['orders', 3],
          ['repartition', 2],
        ]),
      },
    );
    expect(assignmentErrors(protocol, { orders: 3, repartition: 5 }).codes[0]).toBe(
      'SOURCE_TOPIC_PARTITIONS_CHANGED',
    );
  });

  it('tells members of an older build to shut down, in the version they read', () => {
    const protocol = createProtocol(single(['in']), info('app-0'), {
      expectedPartitions: new Map([['in', 2]]),
    });
    const got = protocol.assign(
      [groupMember('new', info('app-0')), groupMember('old', info('app-1'), 2)],
      counts({ in: 3 }),
    );
    for (const plan of got.values()) {
      const decoded = decodeAssignment(plan.userData, { supportedVersion: 2 });
      expect(decoded.version).toBe(2);
      expect(decoded.errorCode).toBe('SHUTDOWN_REQUESTED');
    }
  });

  it('keeps the stickiness of the last good assignment across an error round', () => {
    const subs = [info('app-0'), info('app-1')];
    const protocol = createProtocol(single(['in'], false), subs[0]!, {
      expectedPartitions: new Map([['in', 4]]),
    });
    const before = protocol.assign(
      subs.map((s, i) => groupMember(`a-${i}`, s)),
      counts({ in: 4 }),
    );
    protocol.assign(
      subs.map((s, i) => groupMember(`b-${i}`, s)),
      counts({ in: 8 }),
    );
    const after = protocol.assign(subs.map((s, i) => groupMember(`c-${i}`, s)).reverse(), counts({ in: 4 }));
    for (let i = 0; i < 2; i++)
      expect(after.get(`c-${i}`)?.partitions).toEqual(before.get(`a-${i}`)?.partitions);
  });
});
