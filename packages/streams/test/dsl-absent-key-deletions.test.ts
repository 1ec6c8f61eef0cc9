// The deletion of a key a table does not hold, as Kafka Streams forwards it: a source table (KTableSource) passes it
// on as a change from null to null, mapValues and filter keep it, and each table–table join turns it into what the
// other side's current value gives (KTableKTable{Inner,Left,Right,Outer}Join); with caching it folds away.
import { describe, expect, it } from 'vitest';
import type { TopologyTestDriver } from '../../test-utils/src/index.js';
import { type KTable, type Processor, StreamsBuilder, type Topology } from '../src/index.js';
import type { Change } from '../src/topology/dsl/change.js';
import { closeDriversAfterEach, driverOf, s, str } from './dsl-driver.js';

const uncached = { caching: false };

closeDriversAfterEach();

const read = (driver: TopologyTestDriver) => driver.createOutputTopic('out', s, s).readKeyValuesToList();

describe('a table fed the deletion of a key it does not hold', () => {
  it('forwards it: toStream writes a null after a null', async () => {
    const b = new StreamsBuilder();
    b.table('in', str, uncached).toStream().to('out', str);
    const driver = await driverOf(b.build());
    driver.createInputTopic('in', s, s).pipeKeyValueList([
      ['a', null],
      ['a', '1'],
      ['a', null],
      ['a', null],
    ]);
    expect(read(driver)).toEqual([
      ['a', null],
      ['a', '1'],
      ['a', null],
      ['a', null],
    ]);
  });

  it('forwards it from KStream.toTable too', async () => {
    const b = new StreamsBuilder();
    b.stream('in', str).toTable(uncached).toStream().to('out', str);
    const driver = await driverOf(b.build());
    driver.createInputTopic('in', s, s).pipeInput('a', null);
    expect(read(driver)).toEqual([['a', null]]);
  });

  for (const materialized of [false, true]) {
    it(`mapValues and filter (${materialized ? '' : 'not '}materialized) pass it on`, async () => {
      const b = new StreamsBuilder();
      const table = b.table('in', str, uncached);
      const m = (name: string) => (materialized ? { name, ...str, ...uncached } : undefined);
      table
        .mapValues((v) => v.toUpperCase(), m('upper'))
        .filter(() => true, m('all'))
        .toStream()
        .to('out', str);
      const driver = await driverOf(b.build());
      driver.createInputTopic('in', s, s).pipeInput('a', null);
      expect(read(driver)).toEqual([['a', null]]);
    });
  }

  it('with caching, folds it away (nothing to delete downstream)', async () => {
    const b = new StreamsBuilder();
    b.table('in', str).toStream().to('out', str);
    const driver = await driverOf(b.build());
    driver.createInputTopic('in', s, s).pipeInput('a', null);
    expect(read(driver)).toEqual([]);
  });
});

describe('a table–table join fed the deletion of a key one side does not hold', () => {
  /** The joined table's changes as `new|old`. */
  function capture(topology: Topology, table: KTable<string, string>): Topology {
    return topology
      .addProcessor(
        'capture',
        (): Processor<string, Change<string>, string, string> => {
          let forward: (r: {
            key: string;
            value: string;
            timestamp: number;
            headers: Record<string, Buffer>;
          }) => void;
          return {
            init: (ctx) => {
              forward = (r) => ctx.forward(r);
            },
            process: (r) => forward({ ...r, value: `${r.value.newValue}|${r.value.oldValue}` }),
          };
        },
        table.nodeName,
      )
      .addSink('capture-sink', { topic: 'out', keySerde: s, valueSerde: s }, 'capture');
  }

  /** Deletes absent keys on each side, once while the other side holds the key and once while it does not. */
  async function run(kind: 'join' | 'leftJoin' | 'outerJoin') {
    const builder = new StreamsBuilder();
    const l = builder.table('L', str, uncached);
    const r = builder.table('R', str, uncached);
    const show = (v: string | null, w: string | null) => `${v}+${w}`;
    const joined = (l[kind] as (o: typeof r, j: typeof show) => KTable<string, string>).call(l, r, show);
    const driver = await driverOf(capture(builder.build(), joined));
    const left = driver.createInputTopic('L', s, s);
    const right = driver.createInputTopic('R', s, s);
    right.pipeInput('A', 'b1');
    driver.createOutputTopic('out', s, s).readKeyValuesToList();
    left.pipeInput('A', null); // right holds A
    left.pipeInput('B', null); // neither holds B
    left.pipeInput('C', 'c1');
    right.pipeInput('C', null); // left holds C
    right.pipeInput('D', null); // neither holds D
    return read(driver);
  }

  it('inner: deletes the result again while the other side has a value', async () => {
    expect(await run('join')).toEqual([
      ['A', 'null|null'],
      ['C', 'null|null'],
    ]);
  });

  it('left: a left deletion deletes the result again, a right one emits the left value with null again', async () => {
    expect(await run('leftJoin')).toEqual([
      ['A', 'null|null'],
      ['C', 'c1+null|null'],
      ['C', 'c1+null|c1+null'],
    ]);
  });

  it('outer: emits the current result again while the other side has a value', async () => {
    expect(await run('outerJoin')).toEqual([
      ['A', 'null+b1|null+b1'],
      ['C', 'c1+null|null'],
      ['C', 'c1+null|c1+null'],
    ]);
  });
});
