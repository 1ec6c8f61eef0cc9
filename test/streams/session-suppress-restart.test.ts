// Session windows with suppression on the broker, across a restart on an empty state directory: the sessions and
// the suppression buffer come back from their changelogs, a session that began before the restart grows after it,
// and each session's final count is written once.
import { BufferConfig, Serdes, SessionWindows, StreamsApp, StreamsBuilder, Suppressed } from '@eddy/streams';
import { ConfigResourceTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const apps = inProcessApps();
const T0 = 1_700_000_000_000;

async function retentionMs(topic: string): Promise<string | undefined> {
  const { resources } = await withAdmin((admin) =>
    admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    }),
  );
  return resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
}

function finalSessionCounts(input: string, output: string) {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5))
    .count({ name: 'sessions' })
    .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()).withName('final'))
    .toStream()
    .map((w, n) => [`${w.key} [${w.window.start - T0},${w.window.end - T0}]`, String(n)])
    .to(output, { keySerde: Serdes.string(), valueSerde: Serdes.string() });
  return builder.build();
}

describe('session windows and suppression across a restart', () => {
  for (const processingGuarantee of ['at-least-once', 'exactly-once'] as const) {
    it(`${processingGuarantee}: a new instance restores sessions and buffer from their changelogs`, async () => {
      const input = uniqueName('clicks');
      const output = uniqueName('final-sessions');
      const applicationId = uniqueName('sessions-app');
      await createTopics([
        { topic: input, numPartitions: 1 },
        { topic: output, numPartitions: 1 },
      ]);
      const producer = testProducer();
      await producer.connect();
      const send = (key: string, at: number) =>
        producer.send({ topic: input, messages: [{ key, value: 'x', timestamp: String(T0 + at) }] });
      const start = async () => {
        const app = apps.track(
          new StreamsApp(finalSessionCounts(input, output), {
            applicationId,
            brokers: brokerList(),
            stateDir: apps.stateDir(),
            processingGuarantee,
            commitIntervalMs: 100,
          }),
        );
        await app.start();
        return app;
      };
      try {
        const first = await start();
        await send('a', 0);
        await send('a', 5);
        await send('b', 8);
        await waitFor(() => first.metrics.processed === 3, {
          what: 'the first instance to process 3 records',
        });
        await first.close();
        // The broker deletes changelog records by their write time: with too short a retention.ms its periodic
        // check could empty the sessions' changelog before the restart restores from it (it once used twice the
        // store's 15 ms retention).
        expect(await retentionMs(`${applicationId}-sessions-changelog`)).toBe(String(15 + 86_400_000));

        const second = await start();
        await send('b', 12); // grows b's session [8,8], restored from the changelog
        await send('z', 30); // stream time 30 closes a's and b's sessions (end + 10 + 5 <= 30)
        const got = await readAll(output, 2, { settleMs: 1_000, readCommitted: true });
        expect(got.map((r) => `${r.key} ${r.value} @${r.timestamp - T0}`)).toEqual([
          'a [0,5] 2 @5',
          'b [8,12] 2 @12',
        ]);
        expect(second.state).toBe('RUNNING');
      } finally {
        await producer.disconnect();
      }
    });
  }
});
