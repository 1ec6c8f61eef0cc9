import { describe, expect, it } from 'vitest';
import { Serdes, StreamsBuilder, Topology } from '../src/index.js';
import { codeOf } from './error-codes.js';

const s = { keySerde: Serdes.string(), valueSerde: Serdes.string() };

describe('Topology', () => {
  it('describes sources, processors and sinks with their topics in stable names', () => {
    const b = new StreamsBuilder();
    b.stream('in', s)
      .mapValues((v) => v)
      .filter(() => true)
      .to('out', s);
    expect(b.build().describe()).toBe(
      [
        'Topology',
        '  Sub-topology: 0',
        '    Source: source-19724fd2 (topics: [in]) --> mapvalues-1a273f57',
        '    Processor: mapvalues-1a273f57 --> filter-9b5d6c39 <-- source-19724fd2',
        '    Processor: filter-9b5d6c39 --> sink-29bf3ca3 <-- mapvalues-1a273f57',
        '    Sink: sink-29bf3ca3 (topic: out) <-- filter-9b5d6c39',
        '',
      ].join('\n'),
    );
  });

  it('derives names from the path to an operation: operations added elsewhere leave them unchanged', () => {
    const names = (extra: boolean) => {
      const b = new StreamsBuilder();
      const input = b.stream('in', s);
      if (extra)
        b.stream('other', s)
          .filter(() => true)
          .to('elsewhere', s);
      if (extra) input.peek(() => {}).to('side', s);
      input
        .selectKey((_k, v) => v)
        .groupByKey({ keySerde: Serdes.string() })
        .count()
        .toStream()
        .to('out', { keySerde: Serdes.string(), valueSerde: Serdes.float64() });
      const topology = b.build();
      return { stores: topology.storeNames(), describe: topology.describe() };
    };
    const plain = names(false);
    const more = names(true);
    expect(more.stores).toEqual(plain.stores);
    const repartition = /\(topics?: \[?(repartition-[0-9a-f]{8})-repartition/.exec(plain.describe)?.[1];
    expect(repartition).toBeDefined();
    expect(more.describe).toContain(`${repartition}-repartition`);
    expect(plain.stores).toEqual([expect.stringMatching(/^count-[0-9a-f]{8}-store$/)]);
  });

  it('rejects a name given twice in the DSL with INVALID_TOPOLOGY', () => {
    const b = new StreamsBuilder();
    const input = b.stream('in', s);
    input.filter(() => true, { name: 'f' });
    expect(codeOf(() => input.filter(() => true, { name: 'f' }))).toBe('INVALID_TOPOLOGY');
    input.groupByKey().count({ name: 'counts' });
    expect(codeOf(() => input.groupByKey().count({ name: 'counts' }))).toBe('INVALID_TOPOLOGY');
  });

  it('rejects malformed graphs with INVALID_TOPOLOGY', () => {
    expect(codeOf(() => new Topology().addProcessor('p', () => ({ process() {} }), 'nope'))).toBe(
      'INVALID_TOPOLOGY',
    );
    expect(
      codeOf(() =>
        new Topology().addSource('a', { topics: ['t'], ...s }).addSource('a', { topics: ['u'], ...s }),
      ),
    ).toBe('INVALID_TOPOLOGY');
    expect(
      codeOf(() =>
        new Topology().addSource('a', { topics: ['t'], ...s }).addSource('b', { topics: ['t'], ...s }),
      ),
    ).toBe('INVALID_TOPOLOGY');
    expect(codeOf(() => new Topology().addSource('bad name', { topics: ['t'], ...s }))).toBe(
      'INVALID_TOPOLOGY',
    );
    expect(codeOf(() => new Topology().addSource('a', { topics: [], ...s }))).toBe('INVALID_TOPOLOGY');
    expect(
      codeOf(() =>
        new Topology()
          .addSource('a', { topics: ['t'], ...s })
          .addSink('k', { topic: 'o', ...s }, 'a')
          .addProcessor('p', () => ({ process() {} }), 'k'),
      ),
    ).toBe('INVALID_TOPOLOGY');
    expect(codeOf(() => new Topology().seal('app'))).toBe('INVALID_TOPOLOGY');
  });

  it('lists source and sink topics', () => {
    const b = new StreamsBuilder();
    const st = b.stream(['a', 'b'], s);
    st.to('x', s);
    st.to('y', s);
    const t = b.build();
    expect(t.sourceTopics()).toEqual(['a', 'b']);
    expect(t.sinkTopics()).toEqual(['x', 'y']);
  });
});

describe('Serdes', () => {
  it('round-trips and maps null to a null payload', () => {
    expect(Serdes.string().deserialize(Serdes.string().serialize('héllo'))).toBe('héllo');
    expect(Serdes.json().deserialize(Serdes.json().serialize({ a: [1, 'x'] }))).toEqual({ a: [1, 'x'] });
    expect(Serdes.bytes().serialize(Buffer.from([1, 2]))).toEqual(Buffer.from([1, 2]));
    expect(Serdes.string().serialize(null)).toBeNull();
    expect(Serdes.json().deserialize(null)).toBeNull();
    expect(() => Serdes.json().deserialize(Buffer.from('{nope'))).toThrow(SyntaxError);
  });
});
