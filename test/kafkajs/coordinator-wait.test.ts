// A join that meets a loading or unavailable group coordinator waits (patched kafkajs): the broker's first
// JoinGroup answers are rewritten to COORDINATOR_LOAD_IN_PROGRESS (14) and COORDINATOR_NOT_AVAILABLE (15), as a
// fresh broker gives them, and the consumer reports COORDINATOR_WAIT for each, joins and consumes instead of
// crashing. Without the patch's hunk in joinAndSync the consumer crashes on the first one.
import { type ConsumerCoordinatorWaitEvent, type ISocketFactory, Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, waitFor } from '../support/kafka.js';
import { fastConsumerConfig, nextGroupJoin } from './clients.js';
import { interceptingSocketFactory } from './wire.js';

const JOIN_GROUP = 11;

/**
 * A socketFactory that replaces the error code of the first JoinGroup responses with `codes`, in order. A JoinGroup
 * request is recognized by its api key; its response by the correlation id (the response header is size,
 * correlation id; JoinGroup v5's body starts with throttle_time_ms, then error_code).
 */
function failingJoinsSocketFactory(codes: number[]): ISocketFactory {
  const joins = new Set<number>();
  return interceptingSocketFactory({
    request: (frame) => {
      if (frame.readInt16BE(4) === JOIN_GROUP) joins.add(frame.readInt32BE(8));
    },
    response: (chunk) => {
      if (chunk.length >= 14 && codes.length > 0 && joins.delete(chunk.readInt32BE(4))) {
        chunk.writeInt16BE(codes.shift()!, 12);
      }
    },
  });
}

describe('joins wait for the group coordinator (patched kafkajs)', () => {
  const toClose: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.allSettled(toClose.splice(0).map((close) => close()));
  });

  it('retries JoinGroup answered "loading" and "not available", reports each wait, then joins', async () => {
    const topic = uniqueName('coordinator-wait');
    const groupId = uniqueName('group');
    await createTopics([{ topic }]);
    const kafka = new Kafka({
      clientId: 'coordinator-wait',
      brokers: brokerList(),
      logLevel: logLevel.NOTHING,
      socketFactory: failingJoinsSocketFactory([14, 15]),
    });
    const consumer = kafka.consumer(
      fastConsumerConfig(groupId, {
        retry: { retries: 5, initialRetryTime: 50, restartOnFailure: async () => false },
      }),
    );
    toClose.push(() => consumer.disconnect());
    const waits: ConsumerCoordinatorWaitEvent['payload'][] = [];
    const crashes: unknown[] = [];
    consumer.on(consumer.events.COORDINATOR_WAIT, (e) => waits.push(e.payload));
    consumer.on(consumer.events.CRASH, (e) => crashes.push(e.payload.error));
    await consumer.connect();
    const joined = nextGroupJoin(consumer);
    const values: string[] = [];
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? '');
      },
    });
    await Promise.race([
      joined,
      waitFor(() => crashes.length > 0, { timeoutMs: 30_000, what: 'a crash' }).then(() => {
        throw crashes[0];
      }),
    ]);

    expect(crashes).toEqual([]);
    expect(waits).toEqual([
      expect.objectContaining({ groupId, type: 'GROUP_LOAD_IN_PROGRESS', retryCount: 0 }),
      expect.objectContaining({ groupId, type: 'GROUP_COORDINATOR_NOT_AVAILABLE', retryCount: 1 }),
    ]);
    const producer = testProducer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'after the wait' }] });
    await producer.disconnect();
    await waitFor(() => values.includes('after the wait'), { timeoutMs: 15_000, what: 'the record' });
  });
});
