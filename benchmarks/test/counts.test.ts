import { describe, expect, it } from 'vitest';
import { checkCounts, expectedCounts, WrongCountsError } from '../support/counts.js';

const keyOf = (i: number) => `key-${i % 3}`;

function failure(last: Map<string, number>): WrongCountsError {
  try {
    checkCounts('out', last, expectedCounts(10, keyOf));
  } catch (error) {
    if (error instanceof WrongCountsError) return error;
    throw error;
  }
  throw new Error('checkCounts accepted wrong counts');
}

describe('expectedCounts', () => {
  it('counts the input records per key', () => {
    expect([...expectedCounts(10, keyOf)]).toEqual([
      ['key-0', 4],
      ['key-1', 3],
      ['key-2', 3],
    ]);
  });
});

describe('checkCounts', () => {
  const exact = () =>
    new Map([
      ['key-0', 4],
      ['key-1', 3],
      ['key-2', 3],
    ]);

  it('accepts the exact last count of every key', () => {
    expect(() => checkCounts('out', exact(), expectedCounts(10, keyOf))).not.toThrow();
  });

  it('refuses a key counted twice', () => {
    const e = failure(new Map([...exact(), ['key-1', 4]]));
    expect(e.code).toBe('WRONG_COUNTS');
    expect(e.wrong).toBe(1);
    expect(e.message).toContain('key-1: 4 for 3');
  });

  it('refuses a lost record and a missing key', () => {
    const last = exact();
    last.set('key-0', 3);
    last.delete('key-2');
    const e = failure(last);
    expect(e.wrong).toBe(2);
    expect(e.unexpected).toBe(0);
  });

  it('refuses a key no input has, even when every expected key is right', () => {
    const e = failure(new Map([...exact(), ['key-9', 1]]));
    expect(e.wrong).toBe(0);
    expect(e.unexpected).toBe(1);
    expect(e.message).toContain('key-9 is not an input key');
  });
});
