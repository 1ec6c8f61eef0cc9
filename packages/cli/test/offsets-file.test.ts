import { describe, expect, it } from 'vitest';
import { formatOffsets, parseOffsets } from '../src/offsets-file.js';

describe('the offsets file', () => {
  it('round-trips offsets beyond 2^53 as decimal strings', () => {
    const file = {
      version: 1 as const,
      group: 'blue',
      offsets: [{ topic: 't', partition: 0, offset: 9007199254740993n }],
    };
    const text = formatOffsets(file);
    expect(text).toContain('"offset": "9007199254740993"');
    expect(parseOffsets(text, 'f')).toEqual(file);
  });

  it.each([
    ['not json', 'f is not an offsets file: '],
    ['{"version":2,"group":"g","offsets":[]}', '"version" must be 1'],
    ['{"version":1,"offsets":[]}', '"group" must be a string'],
    ['{"version":1,"group":"g","offsets":[{"topic":"t","partition":0,"offset":"-1"}]}', 'offsets[0] must be'],
    ['{"version":1,"group":"g","offsets":[{"topic":"","partition":0,"offset":"1"}]}', 'offsets[0] must be'],
  ])('refuses %s with FILE_FAILED', (text, message) => {
    expect(() => parseOffsets(text, 'f')).toThrow(expect.objectContaining({ code: 'FILE_FAILED' }));
    expect(() => parseOffsets(text, 'f')).toThrow(message);
  });
});
