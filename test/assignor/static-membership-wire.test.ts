// What the patched kafkajs puts on the wire for a static member: JoinGroup and LeaveGroup carry group_instance_id.
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { fastConsumerConfig, nextGroupJoin } from '../kafkajs/clients.js';
import { FrameReader, recordingSocketFactory } from '../kafkajs/wire.js';
import { brokerList, createTopics, uniqueName } from '../support/kafka.js';

const JOIN_GROUP = 11;
const LEAVE_GROUP = 13;

function decodeJoinGroupV5(frame: Buffer) {
  const r = new FrameReader(frame);
  return {
    apiVersion: r.apiVersion,
    groupId: r.string(),
    sessionTimeout: r.int32(),
    rebalanceTimeout: r.int32(),
    memberId: r.string(),
    groupInstanceId: r.string(),
  };
}

function decodeLeaveGroupV3(frame: Buffer) {
  const r = new FrameReader(frame);
  const groupId = r.string();
  const members = Array.from({ length: r.int32() }, () => ({
    memberId: r.string(),
    groupInstanceId: r.string(),
  }));
  return { apiVersion: r.apiVersion, groupId, members };
}

describe('static membership on the wire (patched kafkajs)', () => {
  const toClose: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.allSettled(toClose.splice(0).map((close) => close()));
  });

  async function joinAsPod0(groupId: string, frames: Map<number, Buffer[]>) {
    const topic = uniqueName('static-wire');
    await createTopics([{ topic }]);
    const kafka = new Kafka({
      clientId: 'static-wire',
      brokers: brokerList(),
      logLevel: logLevel.NOTHING,
      socketFactory: recordingSocketFactory(frames),
    });
    const consumer = kafka.consumer(fastConsumerConfig(groupId, { groupInstanceId: 'pod-0' }));
    toClose.push(() => consumer.disconnect());
    await consumer.connect();
    const joined = nextGroupJoin(consumer);
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachMessage: async () => {} });
    return { consumer, join: await joined };
  }

  it('joins with group_instance_id in one JoinGroup (no MEMBER_ID_REQUIRED round) and leaves naming it', async () => {
    const groupId = uniqueName('group');
    const frames = new Map<number, Buffer[]>([
      [JOIN_GROUP, []],
      [LEAVE_GROUP, []],
    ]);
    const { consumer, join } = await joinAsPod0(groupId, frames);

    // A static member gets its member id in the first response: Kafka asks only dynamic members to rejoin.
    const joins = (frames.get(JOIN_GROUP) ?? []).map(decodeJoinGroupV5);
    expect(joins).toEqual([
      {
        apiVersion: 5,
        groupId,
        sessionTimeout: 10_000,
        rebalanceTimeout: 10_000,
        memberId: '',
        groupInstanceId: 'pod-0',
      },
    ]);
    expect(join.memberId).toMatch(/^pod-0-/);

    await consumer.disconnect();
    expect((frames.get(LEAVE_GROUP) ?? []).map(decodeLeaveGroupV3)).toEqual([
      { apiVersion: 3, groupId, members: [{ memberId: join.memberId, groupInstanceId: 'pod-0' }] },
    ]);
  });

  it('sends no LeaveGroup on disconnect({ leaveGroup: false })', async () => {
    const groupId = uniqueName('group');
    const frames = new Map<number, Buffer[]>([
      [JOIN_GROUP, []],
      [LEAVE_GROUP, []],
    ]);
    const { consumer } = await joinAsPod0(groupId, frames);
    await consumer.disconnect({ leaveGroup: false });
    expect(frames.get(LEAVE_GROUP)).toEqual([]);
    // The member is still registered until its session times out.
    const kafka = new Kafka({
      clientId: 'static-wire-admin',
      brokers: brokerList(),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    toClose.push(() => admin.disconnect());
    await admin.connect();
    const { groups } = await admin.describeGroups([groupId]);
    expect(groups[0]?.members).toHaveLength(1);
  });
});
