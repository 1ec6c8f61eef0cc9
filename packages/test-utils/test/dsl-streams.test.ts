// The KStream DSL run through the test driver: every operation, grouping and aggregation with automatic
// repartitioning (once per rekeyed stream), the folding of table updates with caching on and off, serde errors, and
// the naming rule that keeps store and internal topic names stable.
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import {
  type Change,
  type KStream,
  type ProcessorContext,
  Serdes,
  StreamsBuilder,
  type StreamsError,
  type Topology,
} from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../src/index.js';

const str = Serdes.string();
const num = Serdes.float64();
const strings = { keySerde: str, valueSerde: str };
const counts = { keySerde: str, valueSerde: num };

/** A builder with a stream of the string topic `in`, shaped by `shape`. */
function build(
  shape: (input: KStream<string | null, string | null>, builder: StreamsBuilder) => void,
): Topology {
  const builder = new StreamsBuilder();
  shape(builder.stream('in', strings), builder);
  return builder.build();
}

/** A driver for `topology` with its string input topic `in`. */
async function drive(topology: Topology) {
  const driver = await TopologyTestDriver.create(topology);
  return { driver, input: driver.createInputTopic('in', str, str) };
}

function errorOf(fn: () => unknown): StreamsError {
  try {
    fn();
  } catch (err) {
    return err as StreamsError;
  }
  throw new Error('expected an error');
}

/** The repartition topics of the sealed topology, as `[name, configured partitions]`. */
const repartitionTopics = (topology: Topology) =>
  topology.seal('app').repartitionTopics.map((r) => [r.name, r.partitions] as const);

describe('KStream stateless operations', () => {
  it('selectKey gives each record a new key and, with no grouping after it, adds no repartition topic', async () => {
    const topology = build((input) => input.selectKey((_k, v) => v!.toUpperCase()).to('out', strings));
    const { driver, input } = await drive(topology);
    input.pipeInput('k1', 'a', 5);
    input.pipeInput('k2', 'b', 6);
    const out = driver.createOutputTopic('out', str, str).readRecordsToList();
    expect(out.map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['A', 'a', 5],
      ['B', 'b', 6],
    ]);
    expect(driver.producedTopicNames()).toEqual(['out']);
    await driver.close();
    expect(repartitionTopics(topology)).toEqual([]);
  });

  it('map replaces key and value; flatMap emits zero or more records per input record', async () => {
    const { driver, input } = await drive(
      build((input) => {
        input.map((k, v) => [v, k!.length]).to('mapped', counts);
        input
          .flatMap((k, v) => (v === '' ? [] : v!.split(' ').map((w): [string, string] => [w, k!])))
          .to('flat', strings);
      }),
    );
    input.pipeInput('key', 'x y');
    input.pipeInput('k', '');
    expect(driver.createOutputTopic('mapped', str, num).readKeyValuesToList()).toEqual([
      ['x y', 3],
      ['', 1],
    ]);
    expect(driver.createOutputTopic('flat', str, str).readKeyValuesToList()).toEqual([
      ['x', 'key'],
      ['y', 'key'],
    ]);
    await driver.close();
  });

  it('mapValues and flatMapValues change values and keep keys', async () => {
    const { driver, input } = await drive(
      build((input) => {
        input.mapValues((v, k) => `${k}:${v}`).to('mapped', strings);
        input.flatMapValues((v) => v!.split(',')).to('flat', strings);
      }),
    );
    input.pipeInput('a', '1,2');
    input.pipeInput('b', '');
    expect(driver.createOutputTopic('mapped', str, str).readKeyValuesToList()).toEqual([
      ['a', 'a:1,2'],
      ['b', 'b:'],
    ]);
    expect(driver.createOutputTopic('flat', str, str).readKeyValuesToList()).toEqual([
      ['a', '1'],
      ['a', '2'],
      ['b', ''],
    ]);
    await driver.close();
  });

  it('filter keeps what its predicate accepts, filterNot what it rejects', async () => {
    const { driver, input } = await drive(
      build((input) => {
        input.filter((k) => k!.startsWith('x')).to('kept', strings);
        input.filterNot((k) => k!.startsWith('x')).to('rest', strings);
      }),
    );
    input.pipeKeyValueList([
      ['x1', 'a'],
      ['y1', 'b'],
      ['x2', 'c'],
    ]);
    expect(driver.createOutputTopic('kept', str, str).readKeyValuesToList()).toEqual([
      ['x1', 'a'],
      ['x2', 'c'],
    ]);
    expect(driver.createOutputTopic('rest', str, str).readKeyValuesToList()).toEqual([['y1', 'b']]);
    await driver.close();
  });

  it('peek sees every record and passes it on; foreach sees every record and ends the branch', async () => {
    const peeked: string[] = [];
    const seen: string[] = [];
    const { driver, input } = await drive(
      build((input) => {
        input.peek((k, v) => peeked.push(`${k}=${v}`)).to('out', strings);
        input.foreach((k, v) => seen.push(`${k}=${v}`));
      }),
    );
    input.pipeInput('a', '1');
    input.pipeInput('b', '2');
    expect(peeked).toEqual(['a=1', 'b=2']);
    expect(seen).toEqual(['a=1', 'b=2']);
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(driver.producedTopicNames()).toEqual(['out']);
    await driver.close();
  });

  it('split sends each record to the first branch that accepts it, else to the default branch, under their names', async () => {
    let names: string[] = [];
    const { driver, input } = await drive(
      build((input) => {
        const branches = input
          .mapValues((v) => Number(v))
          .split(
            [
              { name: 'small', predicate: (_k, n) => n < 10 },
              { predicate: (_k, n) => n < 100 },
              { name: 'even', predicate: (_k, n) => n % 2 === 0 },
            ],
            { name: 'size-', defaultBranch: true },
          );
        names = Object.keys(branches);
        for (const [name, branch] of Object.entries(branches)) branch.to(name, counts);
      }),
    );
    // 4 is small and even: the first branch takes it. 200 is even only; 301 matches nothing.
    for (const n of [4, 50, 200, 301, 7]) input.pipeInput(`k${n}`, String(n));
    expect(names).toEqual(['size-small', 'size-2', 'size-even', 'size-default']);
    const read = (topic: string) => driver.createOutputTopic(topic, str, num).readValuesToList();
    expect(read('size-small')).toEqual([4, 7]);
    expect(read('size-2')).toEqual([50]);
    expect(read('size-even')).toEqual([200]);
    expect(read('size-default')).toEqual([301]);
    await driver.close();
  });

  it('split without a default branch drops what no branch accepts; unnamed branches take derived names', async () => {
    let names: string[] = [];
    const { driver, input } = await drive(
      build((input) => {
        const branches = input.split([
          { predicate: (k) => k === 'a' },
          { name: 'b', predicate: (k) => k === 'b' },
        ]);
        names = Object.keys(branches);
        Object.values(branches).forEach((branch, i) => {
          branch.to(`out-${i}`, strings);
        });
      }),
    );
    input.pipeKeyValueList([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
    expect(names).toEqual([expect.stringMatching(/^split-[0-9a-f]{8}-1$/), expect.stringMatching(/-b$/)]);
    expect(driver.createOutputTopic('out-0', str, str).readKeyValuesToList()).toEqual([['a', '1']]);
    expect(driver.createOutputTopic('out-1', str, str).readKeyValuesToList()).toEqual([['b', '2']]);
    expect(driver.producedTopicNames()).toEqual(['out-0', 'out-1']);
    await driver.close();
  });

  it('fluent split routes to the first matching branch, else the default, under the same names as the array form', async () => {
    let names: string[] = [];
    const { driver, input } = await drive(
      build((input) => {
        const branches = input
          .mapValues((v) => Number(v))
          .split({ name: 'size-' })
          .branch((_k, n) => n < 10, { name: 'small' })
          .branch((_k, n) => n < 100)
          .branch((_k, n) => n % 2 === 0, { name: 'even' })
          .defaultBranch({ name: 'rest' });
        names = Object.keys(branches);
        for (const [name, branch] of Object.entries(branches)) branch.to(name, counts);
      }),
    );
    // 4 is small and even: the first branch takes it. 200 is even only; 301 matches nothing.
    for (const n of [4, 50, 200, 301, 7]) input.pipeInput(`k${n}`, String(n));
    expect(names).toEqual(['size-small', 'size-2', 'size-even', 'size-rest']);
    const read = (topic: string) => driver.createOutputTopic(topic, str, num).readValuesToList();
    expect(read('size-small')).toEqual([4, 7]);
    expect(read('size-2')).toEqual([50]);
    expect(read('size-even')).toEqual([200]);
    expect(read('size-rest')).toEqual([301]);
    await driver.close();
  });

  it('fluent split with noDefaultBranch drops what no branch accepts; unnamed ones take derived names', async () => {
    let names: string[] = [];
    const { driver, input } = await drive(
      build((input) => {
        const branches = input
          .split()
          .branch((k) => k === 'a')
          .branch((k) => k === 'b', { name: 'b' })
          .noDefaultBranch();
        names = Object.keys(branches);
        Object.values(branches).forEach((branch, i) => {
          branch.to(`out-${i}`, strings);
        });
      }),
    );
    input.pipeKeyValueList([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
    // The same derived prefix as the array form: the split node's name and `-`.
    expect(names).toEqual([
      expect.stringMatching(/^split-[0-9a-f]{8}-1$/),
      expect.stringMatching(/^split-[0-9a-f]{8}-b$/),
    ]);
    expect(driver.createOutputTopic('out-0', str, str).readKeyValuesToList()).toEqual([['a', '1']]);
    expect(driver.createOutputTopic('out-1', str, str).readKeyValuesToList()).toEqual([['b', '2']]);
    expect(driver.producedTopicNames()).toEqual(['out-0', 'out-1']);
    await driver.close();
  });

  it('fluent split with an unnamed default branch names it default, and ends once', async () => {
    let names: string[] = [];
    const error = errorOf(() =>
      build((input) => {
        const split = input.split({ name: 's-' }).branch((k) => k === 'a');
        names = Object.keys(split.defaultBranch());
        split.branch((k) => k === 'b');
      }),
    );
    expect(names).toEqual(['s-1', 's-default']);
    expect(error.code).toBe('INVALID_TOPOLOGY');
    expect(error.message).toMatch(/split "s-" has already ended/);
  });

  it('the array and fluent forms of split derive the same names for the same program', () => {
    const arrayForm = new StreamsBuilder();
    const a = arrayForm
      .stream('in', strings)
      .split([{ predicate: (k) => k === 'a' }], { defaultBranch: true });
    const fluentForm = new StreamsBuilder();
    const f = fluentForm
      .stream('in', strings)
      .split()
      .branch((k) => k === 'a')
      .defaultBranch();
    expect(Object.keys(f)).toEqual(Object.keys(a));
  });

  it('merge gives the records of both streams in the order they are processed', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('left', strings)
      .merge(builder.stream('right', strings).mapValues((v) => v!.toUpperCase()))
      .to('out', strings);
    await using driver = await TopologyTestDriver.create(builder.build());
    const left = driver.createInputTopic('left', str, str);
    const right = driver.createInputTopic('right', str, str);
    left.pipeInput('a', 'x', 1);
    right.pipeInput('b', 'y', 2);
    left.pipeInput('c', 'z', 3);
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([
      ['a', 'x'],
      ['b', 'Y'],
      ['c', 'z'],
    ]);
  });

  it('to writes each record to the topic a TopicNameExtractor picks', async () => {
    const { driver, input } = await drive(build((input) => input.to((r) => `topic-${r.key}`, strings)));
    input.pipeKeyValueList([
      ['a', '1'],
      ['b', '2'],
      ['a', '3'],
    ]);
    expect(driver.producedTopicNames()).toEqual(['topic-a', 'topic-b']);
    expect(driver.createOutputTopic('topic-a', str, str).readValuesToList()).toEqual(['1', '3']);
    expect(driver.createOutputTopic('topic-b', str, str).readValuesToList()).toEqual(['2']);
    await driver.close();
  });

  it('process runs a custom processor with a store of its own, and its output may have any key', async () => {
    const builder = new StreamsBuilder();
    builder.addStateStore(keyValueStore({ name: 'seen', keySerde: str, valueSerde: num }));
    const firsts = builder.stream('in', strings).process<string, string>(
      () => {
        let ctx: ProcessorContext<string, string>;
        let seen: KeyValueStore<string, number>;
        return {
          init(c) {
            ctx = c;
            seen = c.getStateStore('seen');
          },
          // Forwards the first value of each key, keyed by the value.
          process(r) {
            const n = (seen.get(r.key!) ?? 0) + 1;
            seen.put(r.key!, n);
            if (n === 1) ctx.forward({ ...r, key: r.value!, value: r.key! });
          },
        };
      },
      { name: 'firsts' },
      'seen',
    );
    firsts.to('out', strings);
    // Its output may have any key: a grouping after it repartitions.
    firsts.groupByKey({ keySerde: str, valueSerde: str }).count({ name: 'by-first-value' });
    // The store's name is taken like any other name of the program.
    expect(errorOf(() => firsts.groupByKey().count({ name: 'seen' })).code).toBe('INVALID_TOPOLOGY');
    const topology = builder.build();
    await using driver = await TopologyTestDriver.create(topology);
    const input = driver.createInputTopic('in', str, str);
    input.pipeKeyValueList([
      ['a', 'x'],
      ['a', 'y'],
      ['b', 'x'],
    ]);
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([
      ['x', 'a'],
      ['x', 'b'],
    ]);
    expect(driver.getStateStore<KeyValueStore<string, number>>('seen').get('a')).toBe(2);
    expect(driver.getStateStore<KeyValueStore<string, number>>('by-first-value').get('x')).toBe(2);
    expect(topology.describe()).toContain('Processor: firsts (stores: [seen])');
    expect(topology.seal('app').repartitionTopics).toHaveLength(1);
  });
});

describe('repartition and toTable', () => {
  it('repartition sends records through a topic with the configured partitions; a grouping after it adds none', async () => {
    const topology = build((input) => {
      const hopped = input
        .selectKey((_k, v) => v)
        .repartition({ name: 'by-value', numberOfPartitions: 6, keySerde: str });
      hopped.to('out', strings);
      hopped.groupByKey().count({ name: 'value-counts' });
    });
    const sealed = topology.seal('app');
    expect(sealed.repartitionTopics).toEqual([
      expect.objectContaining({ name: 'by-value', topic: 'app-by-value-repartition', partitions: 6 }),
    ]);
    expect(sealed.subtopologies).toHaveLength(2);
    const { driver, input } = await drive(topology);
    input.pipeKeyValueList([
      ['1', 'a'],
      ['2', 'b'],
      ['3', 'a'],
    ]);
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([
      ['a', 'a'],
      ['b', 'b'],
      ['a', 'a'],
    ]);
    expect(driver.getStateStore<KeyValueStore<string, number>>('value-counts').get('a')).toBe(2);
    await driver.close();
  });

  it('repartition without a name derives one; without numberOfPartitions the count is left to the app', () => {
    expect(repartitionTopics(build((input) => input.repartition().to('out', strings)))).toEqual([
      [expect.stringMatching(/^repartition-[0-9a-f]{8}$/), undefined],
    ]);
  });

  it('toTable keeps the latest value per key: a null value deletes the key, a null key is dropped', async () => {
    const { driver, input } = await drive(
      build((input) => input.toTable({ name: 'latest' }).toStream().to('out', strings)),
    );
    input.pipeInput('a', '1');
    input.pipeInput('b', '2');
    input.pipeInput(null, 'no key');
    input.pipeInput('a', null);
    input.pipeInput('c', null);
    input.pipeInput('b', '3');
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['a', null],
      ['b', '3'],
    ]);
    const store = driver.getStateStore<KeyValueStore<string, string>>('latest');
    expect([store.get('a'), store.get('b'), store.get('c')]).toEqual([undefined, '3', undefined]);
    await driver.close();
  });

  it('builder.table reads a topic as a table in a store named by Materialized, with no repartition topic', async () => {
    const builder = new StreamsBuilder();
    builder.table('users', strings, { name: 'users' }).toStream().to('out', strings);
    const topology = builder.build();
    expect(topology.storeNames()).toEqual(['users']);
    expect(repartitionTopics(topology)).toEqual([]);
    await using driver = await TopologyTestDriver.create(topology);
    const users = driver.createInputTopic('users', str, str);
    users.pipeInput('u1', 'fr');
    users.pipeInput('u1', 'de');
    users.pipeInput('u2', null);
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([
      ['u1', 'fr'],
      ['u1', 'de'],
    ]);
    expect(driver.getStateStore<KeyValueStore<string, string>>('users').get('u1')).toBe('de');
  });

  it('a named toTable after a key change names its repartition topic `<applicationId>-<name>-repartition`', () => {
    const topology = build((input) =>
      input.selectKey((_k, v) => v).toTable({ keySerde: str }, { name: 'latest' }),
    );
    expect(topology.seal('app').repartitionTopics.map((r) => r.topic)).toEqual(['app-latest-repartition']);
    expect(topology.storeNames()).toEqual(['latest-store']);
  });

  it('toTable after a key change reads the records back from a repartition topic first', async () => {
    const topology = build((input) =>
      input
        .selectKey((_k, v) => v)
        .toTable({ name: 'by-value', keySerde: str })
        .toStream()
        .to('out', strings),
    );
    expect(repartitionTopics(topology)).toHaveLength(1);
    const { driver, input } = await drive(topology);
    input.pipeInput('k', 'v');
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([['v', 'v']]);
    await driver.close();
  });
});

describe('grouping and aggregation', () => {
  it('groupByKey without a key change aggregates in place: count, reduce and aggregate, no repartition topic', async () => {
    const topology = build((input) => {
      const grouped = input.groupByKey();
      grouped.count({ name: 'count' }).toStream().to('count', counts);
      grouped
        .reduce((a, v) => `${a}+${v}`, { name: 'reduce' })
        .toStream()
        .to('reduce', strings);
      grouped
        .aggregate<number>(
          () => 100,
          (_k, v, sum) => sum + v.length,
          { name: 'aggregate', valueSerde: num },
        )
        .toStream()
        .to('aggregate', counts);
    });
    const sealed = topology.seal('app');
    expect(sealed.repartitionTopics).toEqual([]);
    expect(sealed.subtopologies).toHaveLength(1);
    const { driver, input } = await drive(topology);
    input.pipeKeyValueList([
      ['a', 'x'],
      ['b', 'yy'],
      ['a', 'zzz'],
    ]);
    input.pipeInput('a', null);
    input.pipeInput(null, 'no key');
    expect(driver.createOutputTopic('count', str, num).readKeyValuesToList()).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
    ]);
    expect(driver.createOutputTopic('reduce', str, str).readKeyValuesToList()).toEqual([
      ['a', 'x'],
      ['b', 'yy'],
      ['a', 'x+zzz'],
    ]);
    expect(driver.createOutputTopic('aggregate', str, num).readKeyValuesToList()).toEqual([
      ['a', 101],
      ['b', 102],
      ['a', 104],
    ]);
    await driver.close();
  });

  it('groupBy changes the key: the records go through a repartition topic named by the grouping', async () => {
    const topology = build((input) =>
      input
        .groupBy((_k, v) => v!.charAt(0), { name: 'by-initial', keySerde: str })
        .count({ name: 'initials' })
        .toStream()
        .to('out', counts),
    );
    const sealed = topology.seal('app');
    expect(sealed.repartitionTopics).toEqual([
      expect.objectContaining({
        name: 'by-initial',
        topic: 'app-by-initial-repartition',
        reader: 1,
        writers: [0],
      }),
    ]);
    expect(sealed.subtopologyOfStore.get('initials')).toBe(1);
    const { driver, input } = await drive(topology);
    input.pipeKeyValueList([
      ['1', 'apple'],
      ['2', 'avocado'],
      ['3', 'banana'],
    ]);
    expect(driver.createOutputTopic('out', str, num).readKeyValuesToList()).toEqual([
      ['a', 1],
      ['a', 2],
      ['b', 1],
    ]);
    expect(driver.producedTopicNames()).toEqual(['out']);
    await driver.close();
  });

  it('a key selector that returns null drops the record before the repartition topic', async () => {
    const { driver, input } = await drive(
      build((input) =>
        input
          .groupBy((_k, v) => (v === 'drop' ? null : v), { keySerde: str })
          .count({ name: 'c' })
          .toStream()
          .to('out', counts),
      ),
    );
    input.pipeKeyValueList([
      ['1', 'drop'],
      ['2', 'keep'],
    ]);
    expect(driver.createOutputTopic('out', str, num).readKeyValuesToList()).toEqual([['keep', 1]]);
    await driver.close();
  });

  it('one rekeyed stream feeding two aggregations and a table is repartitioned exactly once', async () => {
    const topology = build((input) => {
      const byValue = input.selectKey((_k, v) => v);
      // Only the first use gives the key serde: the others read the same repartition topic.
      byValue.groupByKey({ name: 'by-value', keySerde: str }).count({ name: 'counts' });
      byValue.groupByKey().reduce((a, v) => a + v, { name: 'concat' });
      byValue.toTable({ name: 'latest' });
    });
    const sealed = topology.seal('app');
    expect(sealed.repartitionTopics.map((r) => r.topic)).toEqual(['app-by-value-repartition']);
    expect(topology.storeNames()).toEqual(['counts', 'concat', 'latest']);
    expect(sealed.subtopologies).toHaveLength(2);
    for (const store of ['counts', 'concat', 'latest']) expect(sealed.subtopologyOfStore.get(store)).toBe(1);
    expect(topology.describe().match(/Source: [^\n]*-repartition/g)).toHaveLength(1);
    const { driver, input } = await drive(topology);
    input.pipeKeyValueList([
      ['1', 'a'],
      ['2', 'a'],
    ]);
    expect(driver.getStateStore<KeyValueStore<string, number>>('counts').get('a')).toBe(2);
    expect(driver.getStateStore<KeyValueStore<string, string>>('concat').get('a')).toBe('aa');
    expect(driver.getStateStore<KeyValueStore<string, string>>('latest').get('a')).toBe('a');
    await driver.close();
  });

  it('operations that keep the key (mapValues, filter, peek) after a repartition add no second one', () => {
    const topology = build((input) =>
      input
        .selectKey((_k, v) => v)
        .repartition({ name: 'hop', keySerde: str })
        .mapValues((v) => v)
        .filter(() => true)
        .peek(() => {})
        .groupByKey({ valueSerde: str })
        .count({ name: 'c' }),
    );
    expect(repartitionTopics(topology)).toEqual([['hop', undefined]]);
  });

  it('a grouping after map with no serdes fails with INVALID_TOPOLOGY naming the repartition topic', () => {
    const mapped = () => new StreamsBuilder().stream('in', strings).map((k, v) => [v, k]);
    const unnamed = errorOf(() => mapped().groupByKey());
    expect(unnamed.code).toBe('INVALID_TOPOLOGY');
    expect(unnamed.message).toMatch(/the repartition topic "repartition-[0-9a-f]{8}" \(key\) needs a serde/);
    const named = errorOf(() => mapped().groupBy((_k, v) => v, { name: 'by-key' }));
    expect(named.code).toBe('INVALID_TOPOLOGY');
    expect(named.message).toContain('"by-key"');
    const noValueSerde = errorOf(() => mapped().groupByKey({ name: 'g', keySerde: str }));
    expect(noValueSerde.message).toContain('the repartition topic "g" (value)');
    // With the serdes given, it builds.
    mapped().groupByKey({ keySerde: str, valueSerde: str }).count();
  });
});

describe('table caching', () => {
  /** A stream whose every input record `k -> "a,b,c"` becomes the updates k=a, k=b, k=c, in one record's processing. */
  const updates = (input: KStream<string | null, string | null>) => input.flatMapValues((v) => v!.split(','));

  it('with caching on, a table forwards one change per key per commit (the driver commits after each input record)', async () => {
    const { driver, input } = await drive(
      build((input) => {
        updates(input).toTable({ name: 'latest', valueSerde: str }).toStream().to('latest', strings);
        updates(input).groupByKey().count({ name: 'count' }).toStream().to('count', counts);
      }),
    );
    input.pipeInput('k', 'a,b,c');
    input.pipeInput('k', 'd,e');
    expect(driver.createOutputTopic('latest', str, str).readKeyValuesToList()).toEqual([
      ['k', 'c'],
      ['k', 'e'],
    ]);
    expect(driver.createOutputTopic('count', str, num).readKeyValuesToList()).toEqual([
      ['k', 3],
      ['k', 5],
    ]);
    await driver.close();
  });

  it('with caching off, a table forwards every update', async () => {
    const { driver, input } = await drive(
      build((input) => {
        updates(input)
          .toTable({ name: 'latest', caching: false, valueSerde: str })
          .toStream()
          .to('latest', strings);
        updates(input).groupByKey().count({ name: 'count', caching: false }).toStream().to('count', counts);
      }),
    );
    input.pipeInput('k', 'a,b,c');
    expect(driver.createOutputTopic('latest', str, str).readValuesToList()).toEqual(['a', 'b', 'c']);
    expect(driver.createOutputTopic('count', str, num).readValuesToList()).toEqual([1, 2, 3]);
    await driver.close();
  });

  it('a folded change carries the value before the commit interval as its old value and the last as its new', async () => {
    const builder = new StreamsBuilder();
    const table = updates(builder.stream('in', strings)).toTable({ name: 'latest', valueSerde: str });
    const changes: Change<string>[] = [];
    const topology = builder
      .build()
      .addProcessor<string, Change<string>, never, never>(
        'watch',
        () => ({ process: (r) => void changes.push(r.value) }),
        table.nodeName,
      );
    const { driver, input } = await drive(topology);
    input.pipeInput('k', 'a,b');
    input.pipeInput('k', 'c,d,e');
    expect(changes).toEqual([
      { newValue: 'b', oldValue: null },
      { newValue: 'e', oldValue: 'b' },
    ]);
    await driver.close();
  });

  it('a key created and deleted within one commit interval forwards nothing', async () => {
    const { driver, input } = await drive(
      build((input) =>
        input
          .flatMapValues((v) => v!.split(',').map((x) => (x === '-' ? null : x)))
          .toTable({ name: 'latest', valueSerde: str })
          .toStream()
          .to('out', strings),
      ),
    );
    input.pipeInput('k', 'a,-');
    input.pipeInput('k', 'b');
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([['k', 'b']]);
    await driver.close();
  });

  it('tables in a chain forward parents first at the commit: each input record reaches the end of the chain', async () => {
    const { driver, input } = await drive(
      build((input) =>
        updates(input)
          .groupByKey()
          .count({ name: 'count' })
          .toStream()
          .toTable({ name: 'copy' })
          .toStream()
          .to('out', counts),
      ),
    );
    input.pipeInput('k', 'a,b');
    input.pipeInput('j', 'c');
    expect(driver.createOutputTopic('out', str, num).readKeyValuesToList()).toEqual([
      ['k', 2],
      ['j', 1],
    ]);
    await driver.close();
  });

  it('held-back keys are forwarded before the commit once there are more than the cache bound holds', async () => {
    const { driver, input } = await drive(
      build((input) =>
        input
          .flatMap((_k, v) => v!.split(',').map((x): [string, string] => [x, x]))
          .toTable({ name: 'latest', cacheMaxBytes: 2048, keySerde: str, valueSerde: str })
          .toStream()
          .to('out', strings),
      ),
    );
    // Room for two held keys: the third forwards all three; the second `a` is held until the commit.
    input.pipeInput('k', 'a,b,c,a');
    expect(driver.createOutputTopic('out', str, str).readKeyValuesToList()).toEqual([
      ['a', 'a'],
      ['b', 'b'],
      ['c', 'c'],
      ['a', 'a'],
    ]);
    await driver.close();
  });
});

describe('the naming rule', () => {
  /** Store names, repartition topics and the describe() lines of the counting path of one program variant. */
  function countingProgram({ extraBranch = false, extraUpstream = false, named = false }) {
    const builder = new StreamsBuilder();
    const input = builder.stream('in', { ...strings, name: 'orders' });
    if (extraBranch) {
      input.filter(() => true).to('elsewhere', strings);
      builder.stream('other', strings).peek(() => {});
    }
    const upstream = extraUpstream ? input.filterNot(() => false).peek(() => {}) : input;
    upstream
      .selectKey((_k, v) => v)
      .groupByKey(named ? { name: 'by-customer', keySerde: str } : { keySerde: str })
      .count(named ? { name: 'customer-counts' } : {})
      .toStream()
      .to('out', counts);
    const topology = builder.build();
    return {
      stores: topology.storeNames(),
      repartitions: topology.seal('app').repartitionTopics.map((r) => r.topic),
      describe: topology.describe(),
    };
  }

  it('derived names stay the same when unrelated operations are added or removed', () => {
    const plain = countingProgram({});
    const more = countingProgram({ extraBranch: true });
    expect(plain.stores).toEqual([expect.stringMatching(/^count-[0-9a-f]{8}-store$/)]);
    expect(plain.repartitions).toEqual([expect.stringMatching(/^app-repartition-[0-9a-f]{8}-repartition$/)]);
    expect(more.stores).toEqual(plain.stores);
    expect(more.repartitions).toEqual(plain.repartitions);
    // Every node of the plain program is in the larger one, under the same name.
    const nodes = (d: string) => [...d.matchAll(/(?:Source|Processor|Sink): (\S+)/g)].map((m) => m[1]);
    expect(nodes(more.describe)).toEqual(expect.arrayContaining(nodes(plain.describe)));
    expect(nodes(plain.describe)).toHaveLength(8);
  });

  it('a derived name changes when an operation upstream of it changes', () => {
    expect(countingProgram({ extraUpstream: true }).stores).not.toEqual(countingProgram({}).stores);
  });

  it('a named operation keeps its store and repartition topic names when operations upstream change', () => {
    const plain = countingProgram({ named: true });
    const changed = countingProgram({ named: true, extraUpstream: true, extraBranch: true });
    expect(plain.stores).toEqual(['customer-counts']);
    expect(plain.repartitions).toEqual(['app-by-customer-repartition']);
    expect(changed.stores).toEqual(plain.stores);
    expect(changed.repartitions).toEqual(plain.repartitions);
  });

  it('an unnamed aggregation after a named grouping keeps its derived store name when upstream changes', () => {
    const names = (extraUpstream: boolean) => {
      const topology = build((input) =>
        (extraUpstream ? input.filter(() => true) : input)
          .groupBy((_k, v) => v, { name: 'by-value', keySerde: str })
          .count(),
      );
      return topology.storeNames();
    };
    expect(names(true)).toEqual(names(false));
  });

  it('a stateful operation given a name without a store name keeps its state in `<name>-store`', () => {
    const topology = build((input) => input.groupByKey().count({}, { name: 'tally' }));
    expect(topology.storeNames()).toEqual(['tally-store']);
  });
});
