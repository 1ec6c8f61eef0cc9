import { describe, expect, it } from 'vitest';
import { PeersArgumentError, parseOptions } from '../peers/options.js';

const KNOWN = ['kafka-streams-alos', 'raw-kafkajs', 'eddy-alos'];

describe('parseOptions', () => {
  it('defaults to 1,000,000 records and every app', () => {
    expect(parseOptions([], KNOWN)).toEqual({ records: 1_000_000, peers: KNOWN });
  });

  it('takes --records N, also after a forwarding --', () => {
    expect(parseOptions(['--records', '20000'], KNOWN).records).toBe(20_000);
    expect(parseOptions(['--', '--records', '5'], KNOWN).records).toBe(5);
  });

  it.each([[[]], [['0']], [['-5']], [['1e6']], [['12.5']], [['abc']], [['']], [['99999999999999999999']]])(
    'refuses --records %j with a typed error',
    (value) => {
      expect(() => parseOptions(['--records', ...value], KNOWN)).toThrow(PeersArgumentError);
    },
  );

  it('takes --peers, keeping the list order', () => {
    expect(parseOptions(['--peers', 'eddy-alos,kafka-streams-alos'], KNOWN).peers).toEqual([
      'kafka-streams-alos',
      'eddy-alos',
    ]);
  });

  it('refuses unknown or no --peers', () => {
    expect(() => parseOptions(['--peers', 'eddy-alos,flink'], KNOWN)).toThrow(/unknown: flink/);
    expect(() => parseOptions(['--peers'], KNOWN)).toThrow(PeersArgumentError);
    expect(() => parseOptions(['--peers', ','], KNOWN)).toThrow(PeersArgumentError);
  });

  it('refuses an unknown argument', () => {
    expect(() => parseOptions(['--recrods', '5'], KNOWN)).toThrow(/unknown argument --recrods/);
  });
});
