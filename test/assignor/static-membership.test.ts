// Static membership through the patched kafkajs on Kafka 4: restart without rebalance, prompt leave, fencing.
import { randomUUID } from 'node:crypto';
import { decodeOwnAssignment, eddyGroupProtocol } from '@eddy/assignor';
import type { ConsumerConfig } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupProtocolAssigner } from '../../packages/streams/src/kafka/kafkajs/index.js';
import { ClientRegistry, fastConsumerConfig } from '../kafkajs/clients.js';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { GroupObserver } from './group-observer.js';

/** Long enough that a rebalance caused by a session timeout cannot be mistaken for a prompt one. */
const SESSION_TIMEOUT = 30_000;
const PARTITIONS = 4;
const ALL = [0, 1, 2, 3];

describe('static membership (patched kafkajs)', () => {
  let clients: ClientRegistry;
  let topic: string;
  let groupId: string;
  const processIds = new Map<string, string>();

  beforeEach(async () => {
    clients = new ClientRegistry();
    topic = uniqueName('static');
    groupId = uniqueName('group');
    processIds.clear();
    await createTopics([{ topic, numPartitions: PARTITIONS }]);
  });
  afterEach(() => clients.closeAll());

  /** Pod `identity` as a static member: groupInstanceId = identity, the Eddy assigner, a stable process id. */
  function podConfig(identity: string, extra: Partial<ConsumerConfig> = {}): ConsumerConfig {
    const processId = processIds.get(identity) ?? randomUUID();
    processIds.set(identity, processId);
    return fastConsumerConfig(groupId, {
      groupInstanceId: identity,
      sessionTimeout: SESSION_TIMEOUT,
      partitionAssigners: [
        groupProtocolAssigner(
          eddyGroupProtocol({
            topicGroups: [{ subtopology: 0, sourceTopics: [topic], stateful: true }],
            subscription: () => ({ identity, processId, taskLags: {}, endpoint: `${identity}:7070` }),
          }),
        ),
      ],
      ...extra,
    });
  }

  async function startPod(identity: string, extra: Partial<ConsumerConfig> = {}): Promise<GroupObserver> {
    const consumer = await clients.consumer(podConfig(identity, extra));
    const observer = new GroupObserver(consumer);
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: observer.eachMessage });
    return observer;
  }

  /** Starts app-0, then app-1, and waits until they share the partitions in one generation. */
  async function startTwoPods(): Promise<[GroupObserver, GroupObserver]> {
    const a = await startPod('app-0');
    await waitFor(() => a.partitions(topic).length === PARTITIONS, { what: 'app-0 alone owns everything' });
    const b = await startPod('app-1');
    await waitFor(
      () =>
        a.partitions(topic).length === 2 &&
        b.partitions(topic).length === 2 &&
        a.lastJoin?.generationId === b.lastJoin?.generationId,
      { what: 'app-0 and app-1 split the partitions in one generation' },
    );
    return [a, b];
  }

  /** Waits until `observer` has sent `count` more successful heartbeats: the group is stable for it. */
  async function moreHeartbeats(observer: GroupObserver, count: number): Promise<void> {
    const from = observer.heartbeats;
    await waitFor(() => observer.heartbeats >= from + count, { what: `${count} more heartbeats` });
  }

  async function produceOnePerPartition(): Promise<void> {
    const producer = await clients.producer();
    await producer.send({ topic, messages: ALL.map((partition) => ({ partition, value: `p${partition}` })) });
  }

  it('a member restarting under its groupInstanceId without LeaveGroup gets its partitions back, and nobody rebalances', async () => {
    const [a, b] = await startTwoPods();
    const generation = a.lastJoin?.generationId;
    const aJoins = a.joins.length;
    const bBefore = { memberId: b.lastJoin?.memberId, partitions: b.partitions(topic) };
    const bTasks = decodeOwnAssignment(b.lastJoin?.memberAssignmentUserData).active;

    await b.consumer.disconnect({ leaveGroup: false });
    const stoppedAt = Date.now();
    const restarted = await startPod('app-1');
    await waitFor(() => restarted.lastJoin, { what: 'the restarted app-1 joins' });
    expect(Date.now() - stoppedAt).toBeLessThan(SESSION_TIMEOUT);

    // The broker handed the restarted member a new member id and the stored assignment of the same generation.
    const rejoin = restarted.lastJoin;
    expect(rejoin?.memberId).not.toBe(bBefore.memberId);
    expect(rejoin?.generationId).toBe(generation);
    expect(restarted.partitions(topic)).toEqual(bBefore.partitions);
    expect(rejoin?.isLeader).toBe(false);
    // The stored assignment includes its Eddy userData.
    expect(decodeOwnAssignment(rejoin?.memberAssignmentUserData).active).toEqual(bTasks);

    // app-0 keeps heartbeating successfully in the same generation and never rejoins.
    await moreHeartbeats(a, 3);
    expect(a.joins).toHaveLength(aJoins);
    const description = await a.consumer.describeGroup();
    expect(description.state).toBe('Stable');
    expect(description.members.map((m) => m.memberId).sort()).toEqual(
      [a.lastJoin?.memberId, rejoin?.memberId].sort(),
    );

    // And each member fetches exactly its partitions.
    await produceOnePerPartition();
    await waitFor(() => a.received.size + restarted.received.size === PARTITIONS, {
      what: 'one record per partition consumed',
    });
    expect(a.receivedPartitions()).toEqual(a.partitions(topic));
    expect(restarted.receivedPartitions()).toEqual(bBefore.partitions);
  });

  it('a static member that leaves is removed at once: the other member takes over well before the session timeout', async () => {
    const [a, b] = await startTwoPods();
    const aJoins = a.joins.length;

    const leftAt = Date.now();
    await b.consumer.disconnect();
    await waitFor(() => a.partitions(topic).length === PARTITIONS, { what: 'app-0 owns everything again' });
    const elapsed = Date.now() - leftAt;

    expect(elapsed).toBeLessThan(SESSION_TIMEOUT / 6);
    expect(a.joins).toHaveLength(aJoins + 1);
    expect(a.lastJoin?.generationId).toBeGreaterThan(b.lastJoin?.generationId ?? Number.POSITIVE_INFINITY);
    const description = await a.consumer.describeGroup();
    expect(description.members.map((m) => m.memberId)).toEqual([a.lastJoin?.memberId]);
  });

  it('a second consumer with the same groupInstanceId takes over, and the first one crashes with FENCED_INSTANCE_ID', async () => {
    const first = await startPod('app-0');
    await waitFor(() => first.partitions(topic).length === PARTITIONS, { what: 'the first app-0 joins' });
    const generation = first.lastJoin?.generationId;

    const second = await startPod('app-0');
    await waitFor(() => second.lastJoin, { what: 'the second app-0 joins' });
    // The broker replaced the member behind the instance id: same generation, same assignment, new member id.
    expect(second.lastJoin?.generationId).toBe(generation);
    expect(second.partitions(topic)).toEqual(ALL);
    expect(second.lastJoin?.memberId).not.toBe(first.lastJoin?.memberId);

    // The first one learns it on its next heartbeat and stops for good.
    const crash = await waitFor(() => first.crashes[0], { what: 'the first app-0 crashes' });
    expect(crash.restart).toBe(false);
    // kafkajs's retrier wraps the typed protocol error in a KafkaJSNonRetriableError with the same message.
    expect(crash.error.name).toBe('KafkaJSNonRetriableError');
    const fenced = rootCause(crash.error) as Error & { type?: string; code?: number; retriable?: boolean };
    expect(fenced).toMatchObject({
      name: 'KafkaJSProtocolError',
      type: 'FENCED_INSTANCE_ID',
      code: 82,
      retriable: false,
    });
    expect(fenced.message).toContain('groupInstanceId "app-0"');
    expect(crash.error.message).toBe(fenced.message);

    // Its shutdown LeaveGroup names the instance id with its old member id, which the broker refuses: the new
    // owner stays in the group, undisturbed.
    const secondJoins = second.joins.length;
    await moreHeartbeats(second, 3);
    expect(second.joins).toHaveLength(secondJoins);
    const description = await second.consumer.describeGroup();
    expect(description.members.map((m) => m.memberId)).toEqual([second.lastJoin?.memberId]);
    await produceOnePerPartition();
    await waitFor(() => second.received.size === PARTITIONS, { what: 'the new owner consumes everything' });
  });

  it('a replaced member whose offset commit fails before its next heartbeat rejoins as itself and is fenced, not the new owner', async () => {
    // The first consumer heartbeats rarely, so the commit (OffsetCommit v5 has no group_instance_id) is what
    // tells it that its member id is gone.
    const first = await startPod('app-0', { heartbeatInterval: 20_000 });
    await waitFor(() => first.partitions(topic).length === PARTITIONS, { what: 'the first app-0 joins' });
    const second = await startPod('app-0');
    await waitFor(() => second.lastJoin, { what: 'the second app-0 joins' });
    const secondJoins = second.joins.length;

    await produceOnePerPartition();
    const crash = await waitFor(() => first.crashes[0], {
      timeoutMs: 15_000,
      what: 'the first app-0 crashes',
    });
    expect(first.heartbeats).toBe(0);
    expect(crash.restart).toBe(false);
    expect(rootCause(crash.error)).toMatchObject({ type: 'FENCED_INSTANCE_ID', code: 82 });
    expect(first.joins).toHaveLength(1);

    await moreHeartbeats(second, 3);
    expect(second.joins).toHaveLength(secondJoins);
    expect(second.crashes).toEqual([]);
    const description = await second.consumer.describeGroup();
    expect(description.members.map((m) => m.memberId)).toEqual([second.lastJoin?.memberId]);
  });
});

function rootCause(error: Error): Error {
  let e = error;
  while (e.cause instanceof Error) e = e.cause;
  return e;
}
