import { describe, expect, it } from 'vitest';
import { type DataProbe, lagOf, settledProbe } from '../src/lag.js';

const bounds = (topic: string, partition: number, low: bigint, high: bigint) => ({
  topic,
  partition,
  low,
  high,
});

describe('lagOf', () => {
  it('counts from the committed offset, or from the log start where nothing is committed or it was deleted', () => {
    const lag = lagOf(
      [
        { topic: 'a', partition: 0, offset: 7n },
        { topic: 'a', partition: 1, offset: 2n },
      ],
      [bounds('b', 0, 3n, 10n), bounds('a', 1, 5n, 9n), bounds('a', 0, 0n, 10n)],
    );
    expect(lag.partitions).toEqual([
      { topic: 'a', partition: 0, committed: 7n, end: 10n, lag: 3n },
      // Committed below the log start: the records before it are gone, 5..9 remain.
      { topic: 'a', partition: 1, committed: 2n, end: 9n, lag: 4n },
      { topic: 'b', partition: 0, committed: undefined, end: 10n, lag: 7n },
    ]);
    expect(lag.total).toBe(14n);
  });

  it('is zero at the end, and never negative past it', () => {
    const lag = lagOf(
      [
        { topic: 'a', partition: 0, offset: 10n },
        { topic: 'a', partition: 1, offset: 12n },
      ],
      [bounds('a', 0, 0n, 10n), bounds('a', 1, 0n, 11n)],
    );
    expect(lag.partitions.map((p) => p.lag)).toEqual([0n, 0n]);
    expect(lag.total).toBe(0n);
  });

  it('counts a gap without data records (only transaction markers) as no lag', () => {
    const lag = lagOf(
      [
        { topic: 'a', partition: 0, offset: 7n },
        { topic: 'a', partition: 1, offset: 4n },
      ],
      [bounds('a', 0, 0n, 8n), bounds('a', 1, 0n, 9n)],
      new Set(['a:1']),
    );
    expect(lag.partitions.map((p) => [p.end, p.lag])).toEqual([
      [8n, 0n],
      [9n, 5n],
    ]);
    expect(lag.total).toBe(5n);
  });
});

describe('settledProbe', () => {
  it('reads only gaps whose start stood still since the previous check; moving ones count as data', async () => {
    const read: string[][] = [];
    const inner: DataProbe = async (ranges) => {
      read.push(ranges.map((r) => `${r.topic}:${r.partition}@${r.startOffset}`));
      return new Set();
    };
    const probe = settledProbe(inner);
    const range = (partition: number, startOffset: bigint) => ({
      topic: 'a',
      partition,
      startOffset,
      endOffset: 100n,
    });
    expect(await probe([range(0, 5n), range(1, 7n)])).toEqual(new Set(['a:0', 'a:1']));
    expect(await probe([range(0, 5n), range(1, 9n)])).toEqual(new Set(['a:1']));
    expect(await probe([range(0, 5n), range(1, 9n)])).toEqual(new Set());
    expect(read).toEqual([[], ['a:0@5'], ['a:0@5', 'a:1@9']]);
  });
});
