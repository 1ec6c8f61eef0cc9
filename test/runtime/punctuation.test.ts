// Punctuators against the broker: stream-time punctuators fire as record timestamps advance, wall-clock ones fire
// on time while no input arrives.
import { type ProcessorContext, Serdes, StreamsApp, StreamsBuilder } from '@eddy/streams';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testKafka, testProducer, uniqueName, waitFor } from '../support/kafka.js';

const apps: StreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('punctuation against the broker', () => {
  it('fires stream-time punctuators from record timestamps and wall-clock punctuators while idle', async () => {
    const input = uniqueName('in');
    const output = uniqueName('ticks');
    await createTopics([
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
    ]);
    const s = Serdes.string();
    const b = new StreamsBuilder();
    b.stream(input, { keySerde: s, valueSerde: s })
      .process<string | null, string | null>(() => {
        let ctx: ProcessorContext<string | null, string | null>;
        let seen = 0;
        return {
          init(c) {
            ctx = c;
            c.schedule(1_000, 'stream-time', (t) =>
              ctx.forward({ key: 'stream', value: `${t}:${seen}`, timestamp: t, headers: {} }),
            );
            c.schedule(300, 'wall-clock', (t) =>
              ctx.forward({ key: 'wall', value: `${t}:${seen}`, timestamp: t, headers: {} }),
            );
          },
          process() {
            seen++;
          },
        };
      })
      .to(output, { keySerde: s, valueSerde: s });
    const app = new StreamsApp(b.build(), {
      applicationId: uniqueName('app'),
      brokers: brokerList(),
      commitIntervalMs: 100,
    });
    apps.push(app);

    const ticks: { key: string; value: string; at: number }[] = [];
    const reader = testKafka().consumer({ groupId: uniqueName('reader') });
    await reader.connect();
    await reader.subscribe({ topic: output, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        ticks.push({ key: message.key!.toString(), value: message.value!.toString(), at: Date.now() });
      },
    });
    try {
      const producer = testProducer();
      await producer.connect();
      const base = 1_700_000_000_000;
      await producer.send({
        topic: input,
        messages: [0, 400, 999, 1_000, 1_500, 3_700, 3_800].map((dt) => ({
          key: 'k',
          value: 'v',
          timestamp: String(base + dt),
        })),
      });
      await producer.disconnect();
      await app.start();

      await waitFor(() => ticks.filter((t) => t.key === 'stream').length >= 2, {
        what: 'two stream-time punctuations',
      });
      // Due at base+1000 (seen the record at 1000: 4 records), then once at 3700 for the jump over 2000 and 3000.
      expect(ticks.filter((t) => t.key === 'stream').map((t) => t.value)).toEqual([
        `${base + 1_000}:4`,
        `${base + 3_700}:6`,
      ]);

      // No more input: wall-clock punctuators keep firing about every 300 ms, each after all 7 records.
      await waitFor(() => ticks.filter((t) => t.key === 'wall' && t.value.endsWith(':7')).length >= 4, {
        timeoutMs: 15_000,
        what: 'four wall-clock punctuations while idle',
      });
      const wall = ticks
        .filter((t) => t.key === 'wall' && t.value.endsWith(':7'))
        .map((t) => Number(t.value.split(':')[0]));
      // On the 300 ms grid: never more than one call per interval, however often the runtime checks.
      const span = wall[wall.length - 1]! - wall[0]!;
      expect(wall.length - 1).toBeLessThanOrEqual(Math.floor(span / 300) + 1);
      expect(span).toBeGreaterThanOrEqual(600);
      expect(ticks.filter((t) => t.key === 'stream')).toHaveLength(2);
    } finally {
      await reader.disconnect();
    }
  });
});
