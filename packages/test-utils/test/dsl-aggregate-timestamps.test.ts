// Timestamps of key-value aggregations in the test driver: as in Kafka Streams, an aggregate's update carries the
// highest timestamp of the records behind it (out-of-order records do not move it back), and the aggregation's store
// still shows users its plain values.
import type { KeyValueStore } from '@eddy/state';
import { type KTable, Serdes, StreamsBuilder } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../src/index.js';

const s = Serdes.string();
const str = { keySerde: s, valueSerde: s };
const num = Serdes.float64();
const uncached = { caching: false };

/** A driver over `table` written to `out` as `[key, value, timestamp]`s, and the input topic `in`. */
async function aggregation(build: (b: StreamsBuilder) => KTable<string, number | string>) {
  const b = new StreamsBuilder();
  build(b)
    .toStream()
    .mapValues((v) => (v === null ? null : String(v)))
    .to('out', str);
  const driver = await TopologyTestDriver.create(b.build());
  const out = driver.createOutputTopic('out', s, s);
  return {
    driver,
    input: driver.createInputTopic('in', s, s),
    read: () => out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp]),
  };
}

describe('key-value aggregations forward the highest timestamp of their records', () => {
  it('count: an out-of-order record does not move the timestamp back', async () => {
    const { driver, input, read } = await aggregation((b) =>
      b
        .stream('in', str)
        .groupByKey()
        .count({ name: 'counts', ...uncached }),
    );
    await using _ = driver;
    input.pipeInput('a', 'x', 10);
    input.pipeInput('a', 'x', 5);
    input.pipeInput('b', 'x', 3);
    input.pipeInput('a', 'x', 20);
    input.pipeInput('a', 'x', 15);
    expect(read()).toEqual([
      ['a', '1', 10],
      ['a', '2', 10],
      ['b', '1', 3],
      ['a', '3', 20],
      ['a', '4', 20],
    ]);
    // The store shows users the plain count, as an interactive query does.
    const store = driver.getStateStore<KeyValueStore<string, number>>('counts');
    expect([store.get('a'), store.get('b'), store.get('c')]).toEqual([4, 1, undefined]);
    const all: [string, number][] = [];
    for await (const { key, value } of store.all()) all.push([key, value]);
    expect(all).toEqual([
      ['a', 4],
      ['b', 1],
    ]);
  });

  it('reduce and aggregate, also after groupBy (through a repartition topic)', async () => {
    const reduced = await aggregation((b) =>
      b
        .stream('in', str)
        .groupByKey()
        .reduce((acc, v) => `${acc}${v}`, uncached),
    );
    const aggregated = await aggregation((b) =>
      b
        .stream('in', str)
        .groupBy((_k, v) => v, { keySerde: s, valueSerde: s })
        .aggregate<number>(
          () => 0,
          (_k, _v, n) => n + 10,
          { valueSerde: num, ...uncached },
        ),
    );
    const [fromReduce, fromAggregate] = [reduced, aggregated].map(({ input, read }) => {
      input.pipeInput('k', 'x', 30);
      input.pipeInput('k', 'y', 20);
      input.pipeInput('k', 'x', 10);
      input.pipeInput('k', 'x', 40);
      return read();
    });
    await Promise.all([reduced.driver.close(), aggregated.driver.close()]);
    expect(fromReduce).toEqual([
      ['k', 'x', 30],
      ['k', 'xy', 30],
      ['k', 'xyx', 30],
      ['k', 'xyxx', 40],
    ]);
    expect(fromAggregate).toEqual([
      ['x', '10', 30],
      ['y', '10', 20],
      ['x', '20', 30],
      ['x', '30', 40],
    ]);
  });

  it('KTable.groupBy aggregate: subtractions and additions keep the highest timestamp of the group', async () => {
    const { driver, input, read } = await aggregation((b) =>
      b
        .table('in', str, uncached)
        .groupBy((_item, v) => v.split(':') as [string, string], { keySerde: s, valueSerde: s })
        .aggregate<number>(
          () => 0,
          (_g, amount, sum) => sum + Number(amount),
          (_g, amount, sum) => sum - Number(amount),
          { name: 'sums', valueSerde: num, ...uncached },
        ),
    );
    await using _ = driver;
    input.pipeInput('i1', 'g1:5', 10);
    input.pipeInput('i2', 'g1:3', 4); // older than g1's aggregate: g1 keeps 10
    input.pipeInput('i1', 'g2:1', 7); // leaves g1 (still 10) and starts g2 (7)
    input.pipeInput('i2', null, 12); // leaves g1 at 12
    expect(read()).toEqual([
      ['g1', '5', 10],
      ['g1', '8', 10],
      ['g1', '3', 10],
      ['g2', '1', 7],
      ['g1', '0', 12],
    ]);
    expect(driver.getStateStore<KeyValueStore<string, number>>('sums').get('g2')).toBe(1);
  });

  it('count on a grouped table and reduce with a subtractor', async () => {
    const counted = await aggregation((b) =>
      b
        .table('in', str, uncached)
        .groupBy((_item, v) => [v, v], { keySerde: s, valueSerde: s })
        .count(uncached),
    );
    const reduced = await aggregation((b) =>
      b
        .table('in', str, uncached)
        .groupBy((_item, v) => [v, '1'], { keySerde: s, valueSerde: s })
        .reduce(
          (acc, v) => `${acc}+${v}`,
          (acc) => `${acc}-`,
          uncached,
        ),
    );
    const [fromCount, fromReduce] = [counted, reduced].map(({ input, read }) => {
      input.pipeInput('i1', 'g', 50);
      input.pipeInput('i2', 'g', 20);
      input.pipeInput('i1', null, 30);
      return read();
    });
    await Promise.all([counted.driver.close(), reduced.driver.close()]);
    expect(fromCount).toEqual([
      ['g', '1', 50],
      ['g', '2', 50],
      ['g', '1', 50],
    ]);
    expect(fromReduce).toEqual([
      ['g', '1', 50],
      ['g', '1+1', 50],
      ['g', '1+1-', 50],
    ]);
  });
});
