import { describe, expect, it } from 'vitest';
import { decodeSourceMarks, encodeSourceMarks, type SourceMark, StateStoreError } from '../../src/index.js';
import { type CurrentSource, ReplayGuard } from '../../src/task/replay-guard.js';
import { SourcePositions } from '../../src/task/source-marks.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof StateStoreError ? err.code : String(err);
  }
  return 'no error';
};

describe('source marks header', () => {
  it('round-trips empty, single and many marks, unicode topics and large offsets', () => {
    const cases: SourceMark[][] = [
      [],
      [{ topic: 'orders', partition: 3, offset: 42 }],
      [
        { topic: 'a', partition: 0, offset: 0 },
        { topic: 'tópico-日本', partition: 4_000_000_000, offset: Number.MAX_SAFE_INTEGER },
        { topic: 'b', partition: 7, offset: -1 },
      ],
    ];
    for (const marks of cases) expect(decodeSourceMarks(encodeSourceMarks(marks))).toEqual(marks);
  });

  it('round-trips random marks', () => {
    for (let i = 0; i < 200; i++) {
      const marks = Array.from({ length: i % 5 }, (_, j) => ({
        topic: `t${Math.floor(Math.random() * 1e6)}-${j}`,
        partition: Math.floor(Math.random() * 1000),
        offset: Math.floor(Math.random() * 2 ** 50),
      }));
      expect(decodeSourceMarks(encodeSourceMarks(marks))).toEqual(marks);
    }
  });

  it('rejects malformed headers with INVALID_HEADER', () => {
    const good = encodeSourceMarks([{ topic: 'orders', partition: 1, offset: 5 }]);
    expect(codeOf(() => decodeSourceMarks(good.subarray(0, good.length - 1)))).toBe('INVALID_HEADER');
    expect(codeOf(() => decodeSourceMarks(Buffer.concat([good, Buffer.of(0)])))).toBe('INVALID_HEADER');
    expect(codeOf(() => decodeSourceMarks(Buffer.of(9, 0, 0)))).toBe('INVALID_HEADER');
    expect(codeOf(() => decodeSourceMarks(Buffer.of(1)))).toBe('INVALID_HEADER');
  });

  it('rejects offsets that are not safe integers with INVALID_ARGUMENT', () => {
    expect(codeOf(() => encodeSourceMarks([{ topic: 't', partition: 0, offset: 1.5 }]))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => encodeSourceMarks([{ topic: 't', partition: 0, offset: -2 }]))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('ReplayGuard', () => {
  it('drops writes at or below the mark of the current partition, and sees marks that change between writes', () => {
    const current: CurrentSource = { topic: 'in', partition: 0, offset: 5, wrote: false };
    const marks = new SourcePositions();
    const guard = new ReplayGuard(current, marks);
    expect(guard.isReplay()).toBe(false);
    expect(current.wrote).toBe(true);
    marks.advance('in', 0, 5);
    expect(guard.isReplay()).toBe(true);
    current.offset = 6;
    expect(guard.isReplay()).toBe(false);
    // Another partition has no mark; going back finds partition 0's mark again.
    current.partition = 1;
    current.offset = 0;
    expect(guard.isReplay()).toBe(false);
    current.partition = 0;
    current.offset = 3;
    expect(guard.isReplay()).toBe(true);
    marks.clear();
    expect(guard.isReplay()).toBe(false);
    marks.set('in', 0, 10);
    expect(guard.isReplay()).toBe(true);
    current.topic = 'other';
    expect(guard.isReplay()).toBe(false);
    current.topic = undefined;
    expect(guard.isReplay()).toBe(false);
  });
});
