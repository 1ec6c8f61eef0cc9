import { keyValueStore } from '@eddy/state';
import { describe, expect, it } from 'vitest';
import {
  dryRunSerdes,
  type Serde,
  Serdes,
  type SerdeUse,
  StreamsBuilder,
  StreamsError,
  TimeWindows,
  Topology,
} from '../../src/index.js';
import { prepareSerdes } from '../../src/runtime/serde-uses.js';

/** A string serde that records the uses it was prepared for, as `<kind> <topic|store> <part> <writes>`. */
function recording(name: string, uses: string[], fail?: Error): Serde<string | null> & { cacheKey?: never } {
  return {
    ...Serdes.string(),
    async prepare(use: SerdeUse) {
      uses.push(`${name}: ${use.kind} ${use.store ?? use.topic} ${use.part}${use.writes ? ' writes' : ''}`);
      use.report({ use, outcome: 'seen', message: name });
      if (fail) throw fail;
    },
  } as Serde<string | null>;
}

describe('serde prepare', () => {
  it('is called once per use: sources, sinks, repartition topics and stores, in topology order', async () => {
    const uses: string[] = [];
    const topology = new Topology()
      .addSource('in', { topics: ['input'], keySerde: Serdes.string(), valueSerde: recording('in', uses) })
      .addProcessor('p', () => ({ process() {} }), 'in')
      .addRepartitionTopic('rp')
      .addSink(
        'to-rp',
        { repartitionTopic: 'rp', keySerde: recording('rp-key', uses), valueSerde: Serdes.string() },
        'p',
      )
      .addSource('from-rp', {
        repartitionTopic: 'rp',
        keySerde: Serdes.string(),
        valueSerde: Serdes.string(),
      })
      .addProcessor('q', () => ({ process() {} }), 'from-rp')
      .addStateStore(
        keyValueStore({
          name: 'st',
          keySerde: Serdes.string(),
          valueSerde: recording('store', uses) as never,
        }),
        'q',
      )
      .addSink(
        'out',
        { topic: 'output', keySerde: Serdes.string(), valueSerde: recording('out', uses) },
        'q',
      );
    const decisions = await dryRunSerdes(topology, 'app');
    expect(uses).toEqual([
      'in: input input value',
      'rp-key: repartition app-rp-repartition key writes',
      'out: output output value writes',
      'store: store st value writes',
    ]);
    expect(decisions.map((d) => [d.outcome, d.use.dryRun, d.use.applicationId])).toEqual(
      Array(4).fill(['seen', true, 'app']),
    );
  });

  it('reaches serdes wrapped by the DSL (windowed keys, timestamped window values)', async () => {
    const uses: string[] = [];
    const b = new StreamsBuilder();
    b.stream('input', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .groupByKey({ keySerde: recording('key', uses) as never })
      .windowedBy(TimeWindows.ofSizeWithNoGrace(1000))
      .reduce((a, v) => a + v, { name: 'w', valueSerde: recording('value', uses) as never });
    await dryRunSerdes(b.build(), 'app');
    expect(uses).toEqual(['key: store w key writes', 'value: store w value writes']);
  });

  it('turns a failure into SERDE_PREPARE_FAILED naming the use, and passes a StreamsError through', async () => {
    const topology = (fail: Error) =>
      new Topology()
        .addSource('in', {
          topics: ['input'],
          keySerde: Serdes.string(),
          valueSerde: recording('in', [], fail),
        })
        .addSink('out', { topic: 'output', keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'in')
        .seal('app');
    const err = await prepareSerdes(topology(new Error('no registry')), { dryRun: false }).catch((e) => e);
    expect(err).toBeInstanceOf(StreamsError);
    expect(err).toMatchObject({
      code: 'SERDE_PREPARE_FAILED',
      message: expect.stringContaining('topic input'),
    });
    expect((err as Error).cause).toEqual(new Error('no registry'));
    const own = new StreamsError('INVALID_CONFIG', 'bad');
    await expect(prepareSerdes(topology(own), { dryRun: false })).rejects.toBe(own);
  });
});
