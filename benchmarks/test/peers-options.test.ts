import { describe, expect, it } from 'vitest';
import { PeersArgumentError, parseOptions } from '../peers/options.js';
import { PEERS, RATIOS } from '../peers/peers.js';

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

describe('the peers list', () => {
  const ids = PEERS.map((p) => p.id);

  it('has unique ids of lower-case letters, digits and dashes, the 2-thread Eddy apps among them', () => {
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9-]+$/);
    expect(parseOptions(['--peers', 'eddy-2-threads-alos,eddy-alos'], ids).peers).toEqual([
      'eddy-alos',
      'eddy-2-threads-alos',
    ]);
  });

  it('names only known apps in its ratios', () => {
    for (const r of RATIOS) expect(ids).toEqual(expect.arrayContaining([r.of, r.against]));
  });

  it('runs the 2-thread Eddy apps with the thread count as eddy-app.ts’s last argument', () => {
    const run = { brokers: 'b', applicationId: 'a', input: 'i', output: 'o', stateDir: 's' };
    const two = PEERS.find((p) => p.id === 'eddy-2-threads-eos')!.command(run).args;
    expect(two.slice(-3)).toEqual(['s', 'kafkajs', '2']);
    expect(
      PEERS.find((p) => p.id === 'eddy-alos')!
        .command(run)
        .args.at(-1),
    ).toBe('1');
  });
});
