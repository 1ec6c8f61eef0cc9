// What kafkajs puts on the wire in JoinGroup against Kafka 4: captured through a socketFactory that records writes.
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, uniqueName } from '../support/kafka.js';
import { fastConsumerConfig, nextGroupJoin } from './clients.js';
import { recordingSocketFactory } from './wire.js';

const JOIN_GROUP = 11;

interface JoinGroupRequest {
  apiVersion: number;
  clientId: string;
  groupId: string;
  sessionTimeout: number;
  rebalanceTimeout: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: string[];
}

/** Decodes a JoinGroup v5 request frame (non-flexible: int16-length strings, request header v1). */
function decodeJoinGroupV5(frame: Buffer): JoinGroupRequest {
  let at = 4; // size prefix
  const int16 = () => {
    const v = frame.readInt16BE(at);
    at += 2;
    return v;
  };
  const int32 = () => {
    const v = frame.readInt32BE(at);
    at += 4;
    return v;
  };
  const nullableString = () => {
    const len = int16();
    if (len < 0) return null;
    const v = frame.toString('utf8', at, at + len);
    at += len;
    return v;
  };
  const string = () => nullableString() ?? '';
  expect(int16()).toBe(JOIN_GROUP);
  const apiVersion = int16();
  int32(); // correlation id
  const clientId = string();
  const groupId = string();
  const sessionTimeout = int32();
  const rebalanceTimeout = int32();
  const memberId = string();
  const groupInstanceId = nullableString();
  const protocolType = string();
  const protocols = Array.from({ length: int32() }, () => {
    const name = string();
    at += 4 + frame.readInt32BE(at); // metadata bytes
    return name;
  });
  return {
    apiVersion,
    clientId,
    groupId,
    sessionTimeout,
    rebalanceTimeout,
    memberId,
    groupInstanceId,
    protocolType,
    protocols,
  };
}

describe('kafkajs JoinGroup on the wire', () => {
  const toClose: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.allSettled(toClose.splice(0).map((close) => close()));
  });

  it('a dynamic member sends JoinGroup v5 with a null group_instance_id and rejoins after MEMBER_ID_REQUIRED', async () => {
    const topic = uniqueName('join-wire');
    const groupId = uniqueName('group');
    await createTopics([{ topic }]);
    const frames: Buffer[] = [];
    const kafka = new Kafka({
      clientId: 'join-wire',
      brokers: brokerList(),
      logLevel: logLevel.NOTHING,
      socketFactory: recordingSocketFactory(new Map([[JOIN_GROUP, frames]])),
    });
    // Without groupInstanceId (see docs/kafkajs-patch.md for static members) the member is dynamic.
    const consumer = kafka.consumer(fastConsumerConfig(groupId));
    toClose.push(() => consumer.disconnect());
    await consumer.connect();
    const joined = nextGroupJoin(consumer);
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachMessage: async () => {} });
    const join = await joined;

    // Kafka 4 answers the first JoinGroup (empty member id, v4+) with MEMBER_ID_REQUIRED; kafkajs rejoins with the id.
    const requests = frames.map(decodeJoinGroupV5);
    expect(requests).toHaveLength(2);
    expect(requests[0]).toEqual({
      apiVersion: 5,
      clientId: 'join-wire',
      groupId,
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: ['RoundRobinAssigner'],
    });
    expect(requests[1]).toMatchObject({ memberId: join.memberId, groupInstanceId: null });
  });
});
