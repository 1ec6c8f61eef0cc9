import { describe, expect, it } from 'vitest';
import { decodeSegmentedKey, encodeSegmentedKey } from '../../src/window/segmented-key.js';

const randomBytes = (n: number) =>
  Buffer.from(Array.from({ length: n }, () => Math.floor(Math.random() * 256)));

describe('segmented key encoding', () => {
  it('round-trips', () => {
    for (let i = 0; i < 100; i++) {
      const key = randomBytes(i % 7);
      const times = [Math.floor(Math.random() * 2 ** 45), Math.floor(Math.random() * 2 ** 45)];
      expect(decodeSegmentedKey(encodeSegmentedKey(i, key, times), 2)).toEqual({ segment: i, key, times });
    }
  });

  it('byte order equals (segment, key length, key, time) order', () => {
    const items = Array.from({ length: 500 }, () => ({
      segment: Math.floor(Math.random() * 4),
      key: randomBytes(Math.floor(Math.random() * 3)),
      time: Math.floor(Math.random() * 2 ** 40),
    }));
    const byTuple = [...items].sort(
      (a, b) =>
        a.segment - b.segment ||
        a.key.length - b.key.length ||
        Buffer.compare(a.key, b.key) ||
        a.time - b.time,
    );
    const byBytes = [...items].sort((a, b) =>
      Buffer.compare(
        encodeSegmentedKey(a.segment, a.key, [a.time]),
        encodeSegmentedKey(b.segment, b.key, [b.time]),
      ),
    );
    expect(byBytes).toEqual(byTuple);
  });
});
