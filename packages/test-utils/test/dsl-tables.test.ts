// KTable operations in the test driver: filter/filterNot/mapValues with their change semantics and value getters,
// and groupBy + count/reduce/aggregate with a subtractor, values moving between groups, and deletes.
import type { KeyValueStore } from '@eddy/state';
import { type ProcessorContext, Serdes, StreamsBuilder } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../src/index.js';

const s = Serdes.string();
const str = { keySerde: s, valueSerde: s };
const num = Serdes.float64();

/** A table of topic `in` without caching (every change is forwarded) and a driver around what `build` adds. */
async function tableDriver(build: (b: StreamsBuilder) => void) {
  const b = new StreamsBuilder();
  build(b);
  const driver = await TopologyTestDriver.create(b.build());
  return { driver, input: driver.createInputTopic('in', s, s) };
}

describe('KTable.filter / filterNot', () => {
  for (const materialized of [false, true]) {
    it(`${materialized ? 'materialized' : 'not materialized'}: an update that stops passing is a delete; one that passes neither before nor after forwards nothing`, async () => {
      const { driver, input } = await tableDriver((b) =>
        b
          .table('in', str, { caching: false })
          .filter((_k, v) => Number(v) >= 10, materialized ? { name: 'big', caching: false } : undefined)
          .toStream()
          .to('out', str),
      );
      await using _ = driver;
      const out = driver.createOutputTopic('out', s, s);
      input.pipeInput('a', '5'); // fails, was absent: nothing
      input.pipeInput('a', '15'); // passes: an insert
      input.pipeInput('a', '20'); // passes again: an update
      input.pipeInput('a', '3'); // no longer passes: a delete
      input.pipeInput('a', '4'); // fails before and after: nothing
      input.pipeInput('a', null); // a deleted row that did not pass: nothing
      input.pipeInput('b', '12');
      input.pipeInput('b', null); // a deleted row that passed: a delete
      expect(out.readKeyValuesToList()).toEqual([
        ['a', '15'],
        ['a', '20'],
        ['a', null],
        ['b', '12'],
        ['b', null],
      ]);
      if (materialized) {
        input.pipeInput('c', '30');
        const store = driver.getStateStore<KeyValueStore<string, string>>('big');
        expect([store.get('a'), store.get('b'), store.get('c')]).toEqual([undefined, undefined, '30']);
      }
    });
  }

  it('filterNot keeps the rows the predicate rejects', async () => {
    const { driver, input } = await tableDriver((b) =>
      b
        .table('in', str, { caching: false })
        .filterNot((k) => k.startsWith('x'))
        .toStream()
        .to('out', str),
    );
    await using _ = driver;
    input.pipeKeyValueList([
      ['x1', 'a'],
      ['y1', 'b'],
      ['y1', 'c'],
    ]);
    expect(driver.createOutputTopic('out', s, s).readKeyValuesToList()).toEqual([
      ['y1', 'b'],
      ['y1', 'c'],
    ]);
  });
});

describe('KTable.mapValues', () => {
  it('maps new values, passes deletes on, and a null result deletes the key', async () => {
    const { driver, input } = await tableDriver((b) =>
      b
        .table('in', str, { caching: false })
        .mapValues((v, k) => (v === 'drop' ? null : `${k}:${v.toUpperCase()}`))
        .toStream()
        .to('out', str),
    );
    await using _ = driver;
    input.pipeKeyValueList([
      ['a', 'x'],
      ['a', 'y'],
      ['a', null],
      ['b', 'z'],
      ['b', 'drop'],
      ['c', 'drop'],
    ]);
    expect(driver.createOutputTopic('out', s, s).readKeyValuesToList()).toEqual([
      ['a', 'a:X'],
      ['a', 'a:Y'],
      ['a', null],
      ['b', 'b:Z'],
      ['b', null],
    ]);
  });

  it('materialized: keeps the mapped values in its own store, with its value serde', async () => {
    const { driver, input } = await tableDriver((b) =>
      b
        .table('in', str, { caching: false })
        .mapValues((v) => v.length, { name: 'lengths', valueSerde: num })
        .toStream()
        .to('out', { keySerde: s, valueSerde: num }),
    );
    await using _ = driver;
    input.pipeKeyValueList([
      ['a', 'xyz'],
      ['b', 'hello'],
      ['a', null],
    ]);
    expect(driver.createOutputTopic('out', s, num).readKeyValuesToList()).toEqual([
      ['a', 3],
      ['b', 5],
      ['a', null],
    ]);
    const store = driver.getStateStore<KeyValueStore<string, number>>('lengths');
    expect([store.get('a'), store.get('b')]).toEqual([undefined, 5]);
  });

  it('without a value serde a materialized mapValues is rejected with INVALID_TOPOLOGY', () => {
    const b = new StreamsBuilder();
    const table = b.table('in', str);
    expect(() => table.mapValues((v) => v.length, { name: 'lengths' })).toThrow(
      expect.objectContaining({ code: 'INVALID_TOPOLOGY' }),
    );
  });
});

describe('value getters of tables that are not materialized', () => {
  it("read the parent's store and apply filter and mapValues on the fly", async () => {
    const b = new StreamsBuilder();
    const prices = b
      .table('in', str, { name: 'prices' })
      .filter((_k, v) => Number(v) > 0)
      .mapValues((v) => `$${v}`);
    expect(prices.storeName).toBeUndefined();
    const getter = prices.valueGetter!;
    expect(getter.storeNames).toEqual(['prices']);
    b.stream('lookups', str)
      .process<string, string>(
        () => {
          let ctx: ProcessorContext<string, string>;
          let get: (key: string) => string | undefined;
          return {
            init(c) {
              ctx = c;
              const read = getter.create(c);
              get = (key) => read(key)?.value;
            },
            process(r) {
              ctx.forward({ ...r, key: r.key ?? '', value: get(r.key ?? '') ?? 'none' });
            },
          };
        },
        { name: 'lookup' },
        ...getter.storeNames,
      )
      .to('out', str);
    await using driver = await TopologyTestDriver.create(b.build());
    const input = driver.createInputTopic('in', s, s);
    const lookups = driver.createInputTopic('lookups', s, s);
    input.pipeKeyValueList([
      ['a', '3'],
      ['b', '-1'],
    ]);
    lookups.pipeKeyValueList([
      ['a', '?'],
      ['b', '?'],
      ['c', '?'],
    ]);
    input.pipeInput('a', null);
    lookups.pipeInput('a', '?');
    expect(driver.createOutputTopic('out', s, s).readValuesToList()).toEqual(['$3', 'none', 'none', 'none']);
  });
});

describe('KTable.groupBy', () => {
  /** users: user → region; counted per region. */
  function regionCounts(caching: boolean) {
    const b = new StreamsBuilder();
    b.table('in', str, { caching: false })
      .groupBy((user, region) => [region, user], { name: 'by-region', keySerde: s, valueSerde: s })
      .count({ name: 'region-counts', caching })
      .toStream()
      .to('counts', { keySerde: s, valueSerde: num });
    return b.build();
  }

  for (const caching of [false, true]) {
    it(`count (caching ${caching ? 'on' : 'off'}): a value that changes group decrements the old group and then increments the new one`, async () => {
      await using driver = await TopologyTestDriver.create(regionCounts(caching));
      const users = driver.createInputTopic('in', s, s);
      const counts = driver.createOutputTopic('counts', s, num);
      users.pipeInput('alice', 'eu');
      users.pipeInput('bob', 'eu');
      users.pipeInput('carol', 'us');
      expect(counts.readKeyValuesToList()).toEqual([
        ['eu', 1],
        ['eu', 2],
        ['us', 1],
      ]);
      users.pipeInput('alice', 'us'); // moves: eu loses her first, then us gains her
      expect(counts.readKeyValuesToList()).toEqual([
        ['eu', 1],
        ['us', 2],
      ]);
      users.pipeInput('alice', 'us'); // same group: one change that subtracts and adds
      users.pipeInput('bob', null); // a deleted row leaves its group, which keeps a count of 0
      users.pipeInput('nobody', null); // a delete of an absent row changes nothing
      expect(counts.readKeyValuesToList()).toEqual([
        ['us', 2],
        ['eu', 0],
      ]);
      const store = driver.getStateStore<KeyValueStore<string, number>>('region-counts');
      expect([store.get('eu'), store.get('us')]).toEqual([0, 2]);
      expect(driver.producedTopicNames()).toEqual(['counts']);
    });
  }

  it('reduce: sums per group with the adder and takes moved and deleted values out with the subtractor', async () => {
    const b = new StreamsBuilder();
    b.table(
      'in',
      { keySerde: s, valueSerde: Serdes.json<{ region: string; amount: number }>() },
      { caching: false },
    )
      .groupBy((_account, v) => [v.region, v.amount], { keySerde: s, valueSerde: num })
      .reduce(
        (sum, x) => sum + x,
        (sum, x) => sum - x,
        { caching: false },
      )
      .toStream()
      .to('sums', { keySerde: s, valueSerde: num });
    await using driver = await TopologyTestDriver.create(b.build());
    const accounts = driver.createInputTopic(
      'in',
      s,
      Serdes.json<{ region: string; amount: number } | null>(),
    );
    accounts.pipeInput('a1', { region: 'eu', amount: 10 });
    accounts.pipeInput('a2', { region: 'eu', amount: 5 });
    accounts.pipeInput('a1', { region: 'eu', amount: 7 }); // same group: 15 - 10 + 7
    accounts.pipeInput('a2', { region: 'us', amount: 5 }); // moves: eu 12 - 5, us 5
    accounts.pipeInput('a1', null);
    expect(driver.createOutputTopic('sums', s, num).readKeyValuesToList()).toEqual([
      ['eu', 10],
      ['eu', 15],
      ['eu', 12],
      ['eu', 7],
      ['us', 5],
      ['eu', 0],
    ]);
  });

  it('aggregate: keeps the members of each group, with its initializer, adder and subtractor', async () => {
    const b = new StreamsBuilder();
    b.table('in', str, { caching: false })
      .groupBy((user, team) => [team, user], { name: 'teams', keySerde: s, valueSerde: s })
      .aggregate<string[]>(
        () => [],
        (_team, user, members) => [...members, user].sort(),
        (_team, user, members) => members.filter((m) => m !== user),
        { name: 'members', valueSerde: Serdes.json<string[]>() },
        { name: 'team-members' },
      )
      .toStream()
      .to('members', { keySerde: s, valueSerde: Serdes.json<string[]>() });
    await using driver = await TopologyTestDriver.create(b.build());
    const users = driver.createInputTopic('in', s, s);
    users.pipeKeyValueList([
      ['u1', 'red'],
      ['u2', 'red'],
      ['u1', 'blue'],
      ['u2', null],
    ]);
    expect(driver.createOutputTopic('members', s, Serdes.json<string[]>()).readKeyValuesToList()).toEqual([
      ['red', ['u1']],
      ['red', ['u1', 'u2']],
      ['red', ['u2']],
      ['blue', ['u1']],
      ['red', []],
    ]);
    const store = driver.getStateStore<KeyValueStore<string, string[]>>('members');
    expect([store.get('red'), store.get('blue')]).toEqual([[], ['u1']]);
  });

  it('a selector that picks a null key or value leaves the row out of every group', async () => {
    const b = new StreamsBuilder();
    b.table('in', str, { caching: false })
      .groupBy((user, team) => [team === 'none' ? null : team, user], { keySerde: s, valueSerde: s })
      .count({ caching: false })
      .toStream()
      .to('counts', { keySerde: s, valueSerde: num });
    await using driver = await TopologyTestDriver.create(b.build());
    const users = driver.createInputTopic('in', s, s);
    users.pipeKeyValueList([
      ['u1', 'none'],
      ['u1', 'red'],
      ['u1', 'none'],
    ]);
    expect(driver.createOutputTopic('counts', s, num).readKeyValuesToList()).toEqual([
      ['red', 1],
      ['red', 0],
    ]);
  });

  it('needs the serdes of the new key and value', () => {
    const table = new StreamsBuilder().table('in', str);
    expect(() => table.groupBy((k, v) => [v, k])).toThrow(
      expect.objectContaining({ code: 'INVALID_TOPOLOGY' }),
    );
    expect(() => table.groupBy((k, v) => [v, k], { keySerde: s })).toThrow(
      expect.objectContaining({ code: 'INVALID_TOPOLOGY' }),
    );
  });

  it('names its repartition topic and store after grouped.name and the materialized name', () => {
    const b = new StreamsBuilder();
    b.table('in', str)
      .groupBy((k, v) => [v, k], { name: 'by-value', keySerde: s, valueSerde: s })
      .count({ name: 'value-counts' });
    const sealed = b.build().seal('app');
    expect(sealed.stores.map((st) => st.name)).toContain('value-counts');
    expect([...sealed.subtopologyOfTopic.keys()]).toContain('app-by-value-repartition');
    expect(sealed.nodes.map((n) => n.name)).toContain('by-value-select');
  });
});

describe('a table restored from its source topic', () => {
  it('runs in the driver as any table: same changes, same store', async () => {
    const b = new StreamsBuilder({ reuseSourceTopics: true });
    b.table('in', str, { name: 'users', caching: false }).toStream().to('out', str);
    await using driver = await TopologyTestDriver.create(b.build());
    driver.createInputTopic('in', s, s).pipeKeyValueList([
      ['a', '1'],
      ['a', null],
      ['b', '2'],
    ]);
    expect(driver.createOutputTopic('out', s, s).readKeyValuesToList()).toEqual([
      ['a', '1'],
      ['a', null],
      ['b', '2'],
    ]);
    expect(driver.getStateStore<KeyValueStore<string, string>>('users').get('b')).toBe('2');
  });
});
