// consumer.run({ beforeRejoin }) (patched kafkajs) on the broker: a running member that must rejoin awaits the hook
// first, so a new member gets partitions only once the hook resolved; the first join does not call it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { ClientRegistry, fastConsumerConfig } from './clients.js';

describe('consumer.run({ beforeRejoin }) (patched kafkajs)', () => {
  let clients: ClientRegistry;
  let topic: string;
  let groupId: string;

  beforeEach(async () => {
    clients = new ClientRegistry();
    topic = uniqueName('before-rejoin');
    groupId = uniqueName('group');
    await createTopics([{ topic, numPartitions: 4 }]);
  });
  afterEach(() => clients.closeAll());

  it('holds a running member’s rejoin, and so the new assignment, until the hook resolves', async () => {
    const events: string[] = [];
    let release = (): void => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const first = await clients.consumer(fastConsumerConfig(groupId));
    const firstJoins: number[][] = [];
    first.on(first.events.GROUP_JOIN, ({ payload }) => {
      firstJoins.push(payload.memberAssignment[topic] ?? []);
      events.push(`first joined (${(payload.memberAssignment[topic] ?? []).length} partitions)`);
    });
    await first.subscribe({ topics: [topic] });
    await first.run({
      eachBatch: async () => {},
      beforeRejoin: async () => {
        events.push('beforeRejoin called');
        await held;
        events.push('beforeRejoin resolved');
      },
    });
    await waitFor(() => firstJoins.length === 1, { what: 'the first member to join' });
    expect(events).toEqual(['first joined (4 partitions)']);

    const second = await clients.consumer(fastConsumerConfig(groupId));
    const secondJoins: number[][] = [];
    second.on(second.events.GROUP_JOIN, ({ payload }) => {
      secondJoins.push(payload.memberAssignment[topic] ?? []);
      events.push(`second joined (${(payload.memberAssignment[topic] ?? []).length} partitions)`);
    });
    await second.subscribe({ topics: [topic] });
    // run() resolves once the member joined, which the group holds until the first member rejoins (or the rebalance
    // timeout of 10 s removes it).
    const secondRunning = second.run({ eachBatch: async () => {} });
    try {
      // The first member sees the rebalance at its next heartbeat and waits in the hook; the group waits for it.
      await waitFor(() => events.includes('beforeRejoin called'), {
        what: 'the first member to call beforeRejoin',
      });
      expect(secondJoins).toEqual([]);
    } finally {
      release();
    }
    await secondRunning;
    await waitFor(() => firstJoins.length === 2 && secondJoins.length === 1, {
      what: 'both members to join',
    });
    expect(events.slice(0, 3)).toEqual([
      'first joined (4 partitions)',
      'beforeRejoin called',
      'beforeRejoin resolved',
    ]);
    expect([...firstJoins[1]!, ...secondJoins[0]!].sort()).toEqual([0, 1, 2, 3]);
    expect(firstJoins[1]!.length).toBe(2);
  });
});
