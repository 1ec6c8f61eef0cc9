import type { KeyValueStore } from '@eddy/state';
import { type ProcessorContext, Serdes, type SerdeUse, StreamsBuilder, StreamsError } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../src/index.js';

const s = Serdes.string();

function upperCase() {
  const b = new StreamsBuilder();
  b.stream('in', { keySerde: s, valueSerde: s })
    .filter((_, v) => v !== 'skip')
    .mapValues((v) => v?.toUpperCase() ?? null)
    .to('out', { keySerde: s, valueSerde: s });
  return b.build();
}

describe('TopologyTestDriver', async () => {
  it('runs a stateful topology and exposes its stores', async () => {
    const b = new StreamsBuilder();
    b.stream('words', { keySerde: s, valueSerde: s })
      .groupByKey({ keySerde: s })
      .count({ name: 'counts', cacheMaxBytes: 64 })
      .toStream()
      .to('counts', { keySerde: s, valueSerde: Serdes.float64() });
    await using driver = await TopologyTestDriver.create(b.build());
    const input = driver.createInputTopic('words', s, s);
    const output = driver.createOutputTopic('counts', s, Serdes.float64());
    for (const w of ['a', 'b', 'a', 'c', 'a', 'b']) input.pipeInput(w, w);
    input.pipeInput(null, 'no key: skipped');
    expect(output.readKeyValuesToList()).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
      ['c', 1],
      ['a', 3],
      ['b', 2],
    ]);
    const store = driver.getStateStore<KeyValueStore<string, number>>('counts');
    expect([store.get('a'), store.get('b'), store.get('c'), store.get('d')]).toEqual([3, 2, 1, undefined]);
    const all: [string, number][] = [];
    for await (const { key, value } of store.all()) all.push([key, value]);
    expect(all).toEqual([
      ['a', 3],
      ['b', 2],
      ['c', 1],
    ]);
    expect(() => driver.getStateStore('nope')).toThrow(expect.objectContaining({ code: 'INVALID_TOPOLOGY' }));
  });

  it('pipes input through the topology and reads the output in order with timestamps and headers', async () => {
    await using driver = new TopologyTestDriver(upperCase());
    const input = driver.createInputTopic('in', s, s, { startTimestamp: 1_000, autoAdvanceMs: 10 });
    const output = driver.createOutputTopic('out', s, s);
    input.pipeInput('a', 'x');
    input.pipeInput('b', 'skip');
    input.pipeInput('c', 'y', 5_000, { trace: Buffer.from('t1') });
    expect(output.queueSize).toBe(2);
    expect(output.readRecord()).toEqual({
      topic: 'out',
      key: 'a',
      value: 'X',
      timestamp: 1_000,
      headers: {},
    });
    const second = output.readRecord();
    expect(second).toMatchObject({ key: 'c', value: 'Y', timestamp: 5_000 });
    expect(second.headers.trace?.toString()).toBe('t1');
    expect(output.isEmpty()).toBe(true);
    expect(driver.streamTime).toBe(5_000);
    expect(() => output.readRecord()).toThrow(StreamsError);
  });

  it('runs stream-time and wall-clock punctuators', async () => {
    const b = new StreamsBuilder();
    b.stream('in', { keySerde: s, valueSerde: s })
      .process<string | null, string | null>(() => {
        let ctx: ProcessorContext<string | null, string | null>;
        let seen = 0;
        return {
          init(c) {
            ctx = c;
            c.schedule(1_000, 'stream-time', (t) =>
              ctx.forward({ key: 'stream', value: `${t}:${seen}`, timestamp: t, headers: {} }),
            );
            c.schedule(60_000, 'wall-clock', (t) =>
              ctx.forward({ key: 'wall', value: `${t}:${seen}`, timestamp: t, headers: {} }),
            );
          },
          process() {
            seen++;
          },
        };
      })
      .to('ticks', { keySerde: s, valueSerde: s });
    await using driver = new TopologyTestDriver(b.build(), { initialWallClockTime: 100_000 });
    const input = driver.createInputTopic('in', s, s);
    const ticks = driver.createOutputTopic('ticks', s, s);
    input.pipeInput('k', 'v', 0);
    input.pipeInput('k', 'v', 999);
    expect(ticks.isEmpty()).toBe(true);
    input.pipeInput('k', 'v', 1_000);
    input.pipeInput('k', 'v', 3_500);
    driver.advanceWallClockTime(59_999);
    expect(ticks.readKeyValuesToList()).toEqual([
      ['stream', '1000:3'],
      ['stream', '3500:4'],
    ]);
    driver.advanceWallClockTime(1);
    expect(ticks.readKeyValuesToList()).toEqual([['wall', '160000:4']]);
  });

  it('reports a poison pill with a typed error in fail mode, and skips it with log-and-continue', async () => {
    const json = Serdes.json<{ n: number }>();
    const build = () => {
      const bb = new StreamsBuilder();
      bb.stream('in', { keySerde: s, valueSerde: json })
        .mapValues((v) => ({ n: v!.n + 1 }))
        .to('out', { keySerde: s, valueSerde: json });
      return bb.build();
    };

    await using failing = new TopologyTestDriver(build());
    const in1 = failing.createInputTopic('in', s, json);
    in1.pipeInput('a', { n: 1 });
    let caught: unknown;
    try {
      in1.pipeRawInput(Buffer.from('b'), Buffer.from('{broken'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StreamsError);
    expect((caught as StreamsError).code).toBe('DESERIALIZATION_FAILED');
    expect((caught as StreamsError).position).toEqual({ topic: 'in', partition: 0, offset: '1' });

    await using skipping = new TopologyTestDriver(build(), { deserializationErrors: 'log-and-continue' });
    const in2 = skipping.createInputTopic('in', s, json);
    const out2 = skipping.createOutputTopic('out', s, json);
    in2.pipeInput('a', { n: 1 });
    in2.pipeRawInput(Buffer.from('b'), Buffer.from('{broken'));
    in2.pipeInput('c', { n: 5 });
    expect(out2.readKeyValuesToList()).toEqual([
      ['a', { n: 2 }],
      ['c', { n: 6 }],
    ]);
  });

  it('rejects unknown input topics and use after close', async () => {
    const driver = new TopologyTestDriver(upperCase());
    expect(() => driver.createInputTopic('nope', s, s)).toThrow(
      expect.objectContaining({ code: 'TOPIC_MISSING' }),
    );
    const input = driver.createInputTopic('in', s, s);
    driver.close();
    driver.close();
    expect(() => input.pipeInput('a', 'b')).toThrow(expect.objectContaining({ code: 'ILLEGAL_STATE' }));
  });
});

describe('TopologyTestDriver with serdes that prepare', () => {
  /** A string serde that, like an Avro serde, cannot write before it was prepared for a writing use. */
  function preparedString() {
    const uses: SerdeUse[] = [];
    return {
      uses,
      prepare: async (use: SerdeUse) => {
        uses.push(use);
      },
      serialize: (v: string | null) => {
        if (!uses.some((u) => u.writes)) throw new Error('not prepared');
        return s.serialize(v);
      },
      deserialize: (b: Buffer | null) => s.deserialize(b),
    };
  }
  const topology = (value: ReturnType<typeof preparedString>) => {
    const b = new StreamsBuilder();
    b.stream('in', { keySerde: s, valueSerde: s }).to('out', { keySerde: s, valueSerde: value });
    return b.build();
  };

  it('create() prepares them for their uses, as a start does', async () => {
    const value = preparedString();
    await using driver = await TopologyTestDriver.create(topology(value), { applicationId: 'prep' });
    expect(
      value.uses.map(({ kind, topic, part, writes, dryRun }) => ({ kind, topic, part, writes, dryRun })),
    ).toEqual([{ kind: 'output', topic: 'out', part: 'value', writes: true, dryRun: false }]);
    driver.createInputTopic('in', s, s).pipeInput('k', 'v');
    expect(driver.createOutputTopic('out', s, s).readKeyValuesToList()).toEqual([['k', 'v']]);
  });

  it('the constructor says to use create() instead of failing on the first record', () => {
    const driver = new TopologyTestDriver(topology(preparedString()));
    expect(() => driver.createInputTopic('in', s, s).pipeInput('k', 'v')).toThrow(
      expect.objectContaining({
        code: 'ILLEGAL_STATE',
        message: expect.stringContaining('await TopologyTestDriver.create(...)'),
      }),
    );
  });

  it('create() rejects with SERDE_PREPARE_FAILED when a serde cannot prepare', async () => {
    const value = { ...preparedString(), prepare: () => Promise.reject(new Error('registry down')) };
    await expect(TopologyTestDriver.create(topology(value))).rejects.toMatchObject({
      code: 'SERDE_PREPARE_FAILED',
      message: expect.stringContaining('registry down'),
    });
  });
});
