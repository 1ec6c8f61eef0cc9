// The serde of table changes on a groupBy repartition topic: every combination of present and absent values.
import { describe, expect, it } from 'vitest';
import { Serdes } from '../src/index.js';
import { changeSerde } from '../src/topology/dsl/change-serde.js';

describe('changeSerde', () => {
  const serde = changeSerde(Serdes.string());

  it('round-trips new and old values, either absent, and empty values', () => {
    for (const change of [
      { newValue: 'new', oldValue: 'old' },
      { newValue: 'new', oldValue: null },
      { newValue: null, oldValue: 'old' },
      { newValue: null, oldValue: null },
      { newValue: '', oldValue: '' },
      { newValue: '', oldValue: null },
      { newValue: null, oldValue: '' },
    ]) {
      expect(serde.deserialize(serde.serialize(change))).toEqual(change);
    }
  });

  it('maps a null record value to null both ways', () => {
    expect(serde.serialize(null)).toBeNull();
    expect(serde.deserialize(null)).toBeNull();
  });

  it('rejects truncated bytes', () => {
    const bytes = serde.serialize({ newValue: 'abcdef', oldValue: null })!;
    expect(() => serde.deserialize(bytes.subarray(0, 4))).toThrow(RangeError);
    expect(() => serde.deserialize(Buffer.alloc(0))).toThrow(RangeError);
  });
});
