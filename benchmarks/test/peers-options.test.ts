import { describe, expect, it } from 'vitest';
import { PeersArgumentError, parseOptions } from '../peers/options.js';

describe('parseOptions', () => {
  it('defaults to 1,000,000 records', () => {
    expect(parseOptions([])).toEqual({ records: 1_000_000 });
  });

  it('takes --records N, also after a forwarding --', () => {
    expect(parseOptions(['--records', '20000'])).toEqual({ records: 20_000 });
    expect(parseOptions(['--', '--records', '5'])).toEqual({ records: 5 });
  });

  it.each([[[]], [['0']], [['-5']], [['1e6']], [['12.5']], [['abc']], [['']], [['99999999999999999999']]])(
    'refuses --records %j with a typed error',
    (value) => {
      expect(() => parseOptions(['--records', ...value])).toThrow(PeersArgumentError);
    },
  );

  it('refuses an unknown argument', () => {
    expect(() => parseOptions(['--recrods', '5'])).toThrow(/unknown argument --recrods/);
  });
});
