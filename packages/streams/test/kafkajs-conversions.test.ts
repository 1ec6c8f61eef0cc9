// The kafkajs adapter's grouping of outgoing records into a sendBatch: messages per topic in order, records sent to
// an explicit partition counted per partition (for the last offsets of a send).
import { describe, expect, it } from 'vitest';
import { lastOffsets, toTopicMessages } from '../src/kafka/kafkajs/conversions.js';
import type { OutgoingRecord } from '../src/kafka/port.js';

const rec = (topic: string, partition: number | undefined, i: number): OutgoingRecord => ({
  topic,
  ...(partition === undefined ? {} : { partition }),
  key: Buffer.from(`k${i}`),
  value: Buffer.from(`v${i}`),
  timestamp: 1_000 + i,
  headers: { h: Buffer.from('x') },
});

describe('toTopicMessages', () => {
  it('groups by topic in order and counts every explicitly partitioned record, in runs or interleaved', () => {
    const layout: [string, number | undefined][] = [
      ['out', undefined],
      ['log', 0],
      ['log', 0],
      ['log', 1],
      ['out', undefined],
      ['log', 0],
      ['log', 1],
      ['log', 1],
      ['other', 2],
      ['out', 3],
      ['out', undefined],
    ];
    const records = layout.map(([t, p], i) => rec(t, p, i));
    const { topicMessages, counted } = toTopicMessages(records);
    expect(topicMessages.map((t) => t.topic)).toEqual(['out', 'log', 'other']);
    for (const { topic, messages } of topicMessages) {
      // The records themselves, in order: the patched encoder reads their fields (numeric timestamps included).
      const expected = records.filter((r) => r.topic === topic);
      expect(messages).toHaveLength(expected.length);
      for (const [i, m] of messages.entries()) expect(m).toBe(expected[i]);
    }
    expect(Object.fromEntries(counted)).toEqual({ 'log:0': 3, 'log:1': 3, 'other:2': 1, 'out:3': 1 });
    const last = lastOffsets(
      [
        { topicName: 'log', partition: 0, errorCode: 0, baseOffset: '10' },
        { topicName: 'log', partition: 1, errorCode: 0, baseOffset: '20' },
        { topicName: 'out', partition: 0, errorCode: 0, baseOffset: '5' },
      ],
      counted,
    );
    expect(Object.fromEntries(last)).toEqual({ 'log:0': 12n, 'log:1': 22n });
  });
});
