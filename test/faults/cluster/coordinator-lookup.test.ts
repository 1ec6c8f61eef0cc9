// The patched kafkajs consumer after its group coordinator's broker is SIGKILLed (docs/kafkajs-patch.md): it looks the
// coordinator up again and goes on heartbeating and committing as the same member of the same generation, instead of
// asking the dead node until its session expires.
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { coordinator, killNode } from '../../kafka/cluster.mjs';
import { brokerList, createTopics, uniqueName, waitFor } from '../../support/kafka.js';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop().catch(() => undefined);
});

describe('a kafkajs consumer whose group coordinator is killed', () => {
  it('heartbeats and commits to the new coordinator in the same generation', async () => {
    const topic = uniqueName('coord-lookup');
    const groupId = uniqueName('coord-lookup');
    await createTopics([{ topic, numPartitions: 2 }]);
    const kafka = new Kafka({ clientId: groupId, brokers: brokerList(), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 100,
      retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 1_000, restartOnFailure: async () => false },
    });
    stops.push(() => consumer.disconnect());
    const joins: { generationId: number; memberId: string }[] = [];
    const heartbeats: { at: number; generationId: number; memberId: string }[] = [];
    let crash: Error | undefined;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      joins.push({ generationId: payload.generationId, memberId: payload.memberId }),
    );
    consumer.on(consumer.events.HEARTBEAT, ({ payload }) =>
      heartbeats.push({
        at: Date.now(),
        generationId: payload.groupGenerationId,
        memberId: payload.memberId,
      }),
    );
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      crash = payload.error;
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ autoCommit: false, eachBatch: async () => {} });
    await waitFor(() => heartbeats.length > 0, { what: 'a first heartbeat' });
    const joined = joins.at(-1)!;

    const victim = await coordinator(groupId);
    await killNode(victim);
    const killedAt = Date.now();
    // The group has a new coordinator once the cluster fenced the dead node and moved the offsets partition.
    const successor = await waitFor(
      async () => {
        const id = await coordinator(groupId, 0, { timeoutMs: 5_000 }).catch(() => undefined);
        return id !== undefined && id !== victim ? id : undefined;
      },
      { timeoutMs: 60_000, what: 'the group to have a new coordinator' },
    );
    await waitFor(
      () => {
        if (crash) throw crash;
        return heartbeats.some((h) => h.at > killedAt);
      },
      { timeoutMs: 60_000, failFast: true, what: 'a heartbeat after the coordinator was killed' },
    );
    await consumer.commitOffsets([{ topic, partition: 0, offset: '0' }]);
    process.stderr.write(
      `[faults] coordinator node ${victim} killed; node ${successor} took the group over; first heartbeat there ` +
        `${heartbeats.find((h) => h.at > killedAt)!.at - killedAt} ms after the kill\n`,
    );
    // No rejoin: the membership of before the kill went on.
    expect(joins).toEqual([joined]);
    expect(heartbeats.at(-1)).toMatchObject(joined);
    expect(crash).toBeUndefined();
  }, 180_000);
});
