// A commit larger than the broker's largest message (1 MiB per record batch by default) is written in several
// requests: a task that changed thousands of keys since its last commit still commits them, at close too.
import { keyValueStore } from '@eddy/state';
import {
  type Processor,
  type ProcessorContext,
  Serdes,
  StreamsApp,
  type StreamsError,
  Topology,
} from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';

const KEYS = 12_000;
const VALUE = 'v'.repeat(200);
const apps = inProcessApps();

describe('a commit larger than the broker accepts in one request', () => {
  it('is sent in several requests: the changelog holds every key and the offsets are committed at close', async () => {
    const input = uniqueName('in');
    await createTopics([{ topic: input, numPartitions: 1 }]);
    const applicationId = uniqueName('large');
    const topology = new Topology()
      .addSource('in', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .addProcessor(
        'keep',
        (): Processor<string, string> => {
          let ctx: ProcessorContext<string, string>;
          return {
            init: (c) => {
              ctx = c;
            },
            process: (r) =>
              ctx.getStateStore<{ put(k: string, v: string): void }>('latest').put(r.key, r.value),
          };
        },
        'in',
      )
      .addStateStore(
        keyValueStore({
          name: 'latest',
          keySerde: Serdes.string(),
          valueSerde: Serdes.string(),
          cacheMaxBytes: 64 * 1024 * 1024,
        }),
        'keep',
      );
    const app = new StreamsApp(topology, {
      applicationId,
      brokers: brokerList(),
      stateDir: apps.stateDir(),
      commitIntervalMs: 600_000,
    });
    apps.track(app);
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    await app.start();
    const producer = testProducer();
    await producer.connect();
    for (let i = 0; i < KEYS; i += 1_000) {
      await producer.send({
        topic: input,
        messages: Array.from({ length: 1_000 }, (_, j) => ({ key: `key-${i + j}`, value: VALUE })),
      });
    }
    await producer.disconnect();
    await waitFor(() => app.metrics.processed === KEYS, { what: `the app to process ${KEYS} records` });
    // About 2.6 MB of changelog records in one task's one commit.
    await app.close();
    expect(errors).toEqual([]);
    expect(app.state).toBe('NOT_RUNNING');
    const [committed] = await withAdmin((a) => a.fetchOffsets({ groupId: applicationId, topics: [input] }));
    expect(committed!.partitions[0]?.offset).toBe(String(KEYS));
    const [end] = await withAdmin((a) => a.fetchTopicOffsets(`${applicationId}-latest-changelog`));
    // Every key, then the transaction's commit marker.
    expect(Number(end!.high)).toBe(KEYS + 1);
  });
});
