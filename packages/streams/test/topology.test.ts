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
        '    Source: KSTREAM-SOURCE-0000000000 (topics: [in]) --> KSTREAM-MAPVALUES-0000000001',
        '    Processor: KSTREAM-MAPVALUES-0000000001 --> KSTREAM-FILTER-0000000002 <-- KSTREAM-SOURCE-0000000000',
        '    Processor: KSTREAM-FILTER-0000000002 --> KSTREAM-SINK-0000000003 <-- KSTREAM-MAPVALUES-0000000001',
        '    Sink: KSTREAM-SINK-0000000003 (topic: out) <-- KSTREAM-FILTER-0000000002',
        '',
      ].join('\n'),
    );
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
