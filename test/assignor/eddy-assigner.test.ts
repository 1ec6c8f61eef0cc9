// The Eddy PartitionAssigner on the broker: lag-aware placement, and each member decodes its own assignment.
import { randomUUID } from 'node:crypto';
import { decodeOwnAssignment, eddyGroupProtocol } from '@eddy/assignor';
import type { AssignerAssignment } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupProtocolAssigner } from '../../packages/streams/src/kafka/kafkajs/index.js';
import { ClientRegistry, fastConsumerConfig } from '../kafkajs/clients.js';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { GroupObserver } from './group-observer.js';

describe('the eddy group protocol on the broker (patched kafkajs)', () => {
  let clients: ClientRegistry;
  beforeEach(() => {
    clients = new ClientRegistry();
  });
  afterEach(() => clients.closeAll());

  it('places tasks where the state is, on every co-partitioned topic, and every member reads its Eddy assignment', async () => {
    const input = uniqueName('eddy-in');
    const other = uniqueName('eddy-other');
    const groupId = uniqueName('group');
    await createTopics([
      { topic: input, numPartitions: 4 },
      { topic: other, numPartitions: 4 },
    ]);
    // app-0 holds caught-up state for tasks 0_2 and 0_3, app-1 for 0_0 and 0_1: the opposite of pod order.
    const lags: Record<string, Record<string, number>> = {
      'app-0': { '0_2': 0, '0_3': 5 },
      'app-1': { '0_0': 0, '0_1': 0 },
    };
    const hooks = new Map<string, AssignerAssignment[]>();
    const start = async (identity: string): Promise<GroupObserver> => {
      const seen: AssignerAssignment[] = [];
      hooks.set(identity, seen);
      const processId = randomUUID();
      const consumer = await clients.consumer(
        fastConsumerConfig(groupId, {
          groupInstanceId: identity,
          partitionAssigners: [
            groupProtocolAssigner(
              eddyGroupProtocol({
                topicGroups: [{ subtopology: 0, sourceTopics: [input, other], stateful: true }],
                subscription: () => ({
                  identity,
                  processId,
                  taskLags: lags[identity] ?? {},
                  endpoint: `${identity}.app:7070`,
                }),
              }),
              {
                onAssignment: (assignment) => {
                  seen.push(assignment);
                },
              },
            ),
          ],
        }),
      );
      const observer = new GroupObserver(consumer);
      await consumer.subscribe({ topics: [input, other], fromBeginning: true });
      await consumer.run({ eachMessage: observer.eachMessage });
      return observer;
    };

    const a = await start('app-0');
    await waitFor(() => a.partitions(input).length === 4, { what: 'app-0 alone owns everything' });
    const b = await start('app-1');
    await waitFor(
      () =>
        a.partitions(input).length === 2 &&
        b.partitions(input).length === 2 &&
        a.lastJoin?.generationId === b.lastJoin?.generationId,
      { what: 'app-0 and app-1 split the tasks' },
    );

    const expected = { 'app-0': [2, 3], 'app-1': [0, 1] };
    for (const [identity, observer] of [
      ['app-0', a],
      ['app-1', b],
    ] as const) {
      const join = observer.lastJoin;
      expect(join?.groupProtocol).toBe('eddy');
      // Both source topics carry the same partitions: one task per partition number.
      expect(observer.partitions(input)).toEqual(expected[identity]);
      expect(observer.partitions(other)).toEqual(expected[identity]);
      // The Eddy assignment from the GROUP_JOIN payload matches what the consumer fetches.
      const own = decodeOwnAssignment(join?.memberAssignmentUserData);
      expect(own.active).toEqual(expected[identity].map((p) => `0_${p}`));
      expect(own.errorCode).toBe('NONE');
      expect(own.probingRebalanceNeeded).toBe(false);
      expect(own.hostOf.get('app-0.app:7070')?.active).toEqual(['0_2', '0_3']);
      expect(own.hostOf.get('app-1.app:7070')?.active).toEqual(['0_0', '0_1']);
      // The adapter's onAssignment hook got the same, for the same generation.
      const hook = hooks.get(identity)?.at(-1);
      expect(hook?.generationId).toBe(join?.generationId);
      expect(hook?.memberId).toBe(join?.memberId);
      expect(decodeOwnAssignment(hook?.userData).active).toEqual(own.active);
      expect(hook?.assignment[input]).toEqual(expected[identity]);
    }
    expect([a.lastJoin?.isLeader, b.lastJoin?.isLeader].sort()).toEqual([false, true]);

    // Fetches follow the tasks.
    const producer = await clients.producer();
    await producer.send({
      topic: input,
      messages: [0, 1, 2, 3].map((partition) => ({ partition, value: 'x' })),
    });
    await waitFor(() => a.received.size + b.received.size === 4, {
      what: 'one record per partition consumed',
    });
    expect(a.receivedPartitions()).toEqual([2, 3]);
    expect(b.receivedPartitions()).toEqual([0, 1]);
  });
});
