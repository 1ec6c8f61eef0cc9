// The patched kafkajs read_committed filter (docs/kafkajs-patch.md): records of aborted transactions stay hidden
// when transactions of several producers overlap, in whatever order the broker lists them.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
interface Message {
  offset: string;
  key: Buffer | null;
  value: string;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}
const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages.js') as (args: {
  messages: Message[];
  abortedTransactions: { producerId: string; firstOffset: string }[];
}) => Message[];

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

/** A partition's log from offset `from`: [producer, value] per record; a value 'ABORT' or 'COMMIT' is a marker. */
function log(from: number, entries: [string, string][]): Message[] {
  return entries.map(([producerId, value], i) => {
    const marker = value === 'ABORT' || value === 'COMMIT';
    return {
      offset: String(from + i),
      key: marker ? (value === 'ABORT' ? ABORT : COMMIT) : Buffer.from(value),
      value,
      isControlRecord: marker,
      batchContext: { producerId, inTransaction: producerId !== 'plain' },
    };
  });
}

const visible = (messages: Message[]) => messages.filter((m) => !m.isControlRecord).map((m) => m.value);

describe('kafkajs read_committed filter', () => {
  // Producer 1 begins at 0, producer 2 at 2; producer 2 aborts first, so the broker lists it first.
  const overlapping = log(0, [
    ['1', 'a1'],
    ['1', 'a2'],
    ['2', 'b1'],
    ['1', 'a3'],
    ['2', 'ABORT'],
    ['1', 'ABORT'],
    ['3', 'c1'],
    ['3', 'COMMIT'],
  ]);

  it('hides overlapping aborted transactions listed in the order they ended', () => {
    const out = filterAbortedMessages({
      messages: overlapping,
      abortedTransactions: [
        { producerId: '2', firstOffset: '2' },
        { producerId: '1', firstOffset: '0' },
      ],
    });
    expect(visible(out)).toEqual(['c1']);
  });

  it('hides them when the fetch starts after both began', () => {
    const out = filterAbortedMessages({
      messages: overlapping.slice(2),
      abortedTransactions: [
        { producerId: '1', firstOffset: '0' },
        { producerId: '2', firstOffset: '2' },
      ],
    });
    expect(visible(out)).toEqual(['c1']);
  });

  it('a user record keyed like an abort marker does not end an aborted transaction', () => {
    const messages = log(0, [
      ['1', 'a1'],
      ['1', 'a2'],
      ['1', 'ABORT'],
      ['plain', 'p1'],
    ]);
    messages[0]!.key = Buffer.from(ABORT);
    const out = filterAbortedMessages({
      messages,
      abortedTransactions: [{ producerId: '1', firstOffset: '0' }],
    });
    expect(visible(out)).toEqual(['p1']);
  });
});
