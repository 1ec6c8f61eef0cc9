import { describe, expect, it } from 'vitest';
import { concatBytes, toBuffer } from '../../src/internal/bytes.js';

describe('toBuffer', () => {
  it('returns a Buffer as it is', () => {
    const b = Buffer.from('abc');
    expect(toBuffer(b)).toBe(b);
  });

  it('copies a small Uint8Array and views a large one', () => {
    const small = Uint8Array.of(1, 2, 3, 255);
    const copy = toBuffer(small);
    expect(Buffer.isBuffer(copy)).toBe(true);
    expect([...copy]).toEqual([1, 2, 3, 255]);
    small[0] = 9;
    expect(copy[0]).toBe(1);
    const large = new Uint8Array(1000).fill(7);
    const view = toBuffer(large.subarray(10, 110));
    expect(view.length).toBe(100);
    large[10] = 8;
    expect(view[0]).toBe(8);
  });
});

describe('concatBytes', () => {
  it('joins small and large arrays', () => {
    const big = new Uint8Array(100).fill(3);
    expect([...concatBytes(Uint8Array.of(1), Uint8Array.of(2, 3))]).toEqual([1, 2, 3]);
    const joined = concatBytes(Uint8Array.of(1), big);
    expect(joined.length).toBe(101);
    expect(joined[0]).toBe(1);
    expect(joined[100]).toBe(3);
  });
});
