// The operations HTTP server against the broker: metrics that count processed records, readiness after a restore,
// and a key query forwarded to the instance that owns the key.
import { Serdes, StreamsApp } from '@eddy/streams';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { freePort, get, sample } from '../support/http.js';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor } from '../support/kafka.js';
import { appProcesses } from '../support/processes.js';

const PARTITIONS = 4;
const apps = inProcessApps();
const processes = appProcesses();

describe('the operations HTTP server against the broker', () => {
  it('counts processed records, is ready after restoring, and forwards a query to the key owner', async () => {
    const input = uniqueName('ops-words');
    const output = uniqueName('ops-counts');
    await createTopics([
      { topic: input, numPartitions: PARTITIONS },
      { topic: output, numPartitions: PARTITIONS },
    ]);
    const applicationId = uniqueName('ops-app');
    const ports = [await freePort(), await freePort()];
    const instance = (i: number) =>
      apps.track(
        new StreamsApp(wordCountTopology(input, output, 'counts'), {
          applicationId,
          brokers: brokerList(),
          stateDir: apps.stateDir(),
          applicationServer: `127.0.0.1:${ports[i]}`,
          commitIntervalMs: 100,
          clientLogLevel: 'nothing',
          metrics: { registry: new Registry() },
          http: { port: ports[i]!, host: '127.0.0.1', forwardTimeoutMs: 5_000 },
        }),
      );
    const producer = testProducer();
    await producer.connect();
    try {
      const keys = Array.from({ length: 24 }, (_, i) => `word-${i}`);
      const send = (times: number) =>
        producer.send({
          topic: input,
          messages: keys.flatMap((key) => Array.from({ length: times }, () => ({ key, value: 'x' }))),
        });

      const first = instance(0);
      await first.start();
      await send(2);
      const processed = async () =>
        sample((await get(ports[0]!, '/metrics')).text, 'eddy_records_processed_total');
      await waitFor(async () => (await processed()) === keys.length * 2, {
        what: 'the first instance to count 48 processed records',
      });
      await send(1);
      await waitFor(async () => (await processed()) === keys.length * 3, {
        what: 'the processed-record counter to grow to 72',
      });
      await waitFor(async () => (await get(ports[0]!, '/readyz')).status === 200, { what: 'first ready' });
      // Lag per input partition, from the fetches' log ends and the committed offsets: all caught up.
      await waitFor(
        async () => {
          const text = (await get(ports[0]!, '/metrics')).text;
          const partitions = text
            .split('\n')
            .filter((l) => l.startsWith(`eddy_consumer_lag_records{topic="${input}"`));
          return partitions.length === PARTITIONS && sample(text, 'eddy_consumer_lag_total_records') === 0;
        },
        { what: 'the consumer lag of all four partitions to be known and 0' },
      );

      // The second instance has no local state: the tasks it takes over restore from their changelogs first.
      const second = instance(1);
      const seen: number[] = [];
      const starting = second.start();
      await waitFor(
        async () => {
          const { status } = await get(ports[1]!, '/readyz').catch(() => ({ status: 0 }));
          if (status !== 0) seen.push(status);
          return status === 200 && (await get(ports[0]!, '/readyz')).status === 200;
        },
        { intervalMs: 20, what: 'both instances ready' },
      );
      await starting;
      expect(seen[0]).toBe(503);
      const restored = sample((await get(ports[1]!, '/metrics')).text, 'eddy_restored_records_total');
      expect(restored).toBeGreaterThan(0);

      // A key the second instance owns, asked of the first: forwarded and answered with the restored count.
      const remote = keys.find(
        (k) => first.queryMetadataForKey('counts', k, Serdes.string()).active === `127.0.0.1:${ports[1]}`,
      );
      expect(remote).toBeDefined();
      const answer = await waitFor(
        async () => {
          const a = await get(ports[0]!, `/stores/counts/keys/${remote}`);
          return a.status === 200 ? a : undefined;
        },
        { what: 'the forwarded query to be answered' },
      );
      expect(JSON.parse(answer.text)).toMatchObject({ store: 'counts', key: remote, value: 3 });
      // Every key from either instance, local or forwarded.
      for (const key of keys) {
        for (const port of ports) {
          const a = await get(port, `/stores/counts/keys/${key}`);
          expect(a.status, `${key} from ${port}`).toBe(200);
          expect(JSON.parse(a.text).value).toBe(3);
        }
      }
    } finally {
      await producer.disconnect();
    }
  });

  it('the word-count example serves probes, metrics and queries on HTTP_PORT', async () => {
    const input = uniqueName('ops-example-in');
    const output = uniqueName('ops-example-out');
    await createTopics([
      { topic: input, numPartitions: 2 },
      { topic: output, numPartitions: 2 },
    ]);
    const port = await freePort();
    const app = processes.start('examples/word-count/app.ts', [input, output], {
      KAFKA_BROKERS: brokerList().join(','),
      APPLICATION_ID: uniqueName('ops-example'),
      STATE_DIR: processes.stateDir(),
      COMMIT_INTERVAL_MS: '100',
      HTTP_PORT: String(port),
      HTTP_HOST: '127.0.0.1',
      APPLICATION_SERVER: `127.0.0.1:${port}`,
    });
    const producer = testProducer();
    await producer.connect();
    try {
      await producer.send({
        topic: input,
        messages: ['hello', 'hello', 'world'].map((key) => ({ key, value: 'x' })),
      });
      await waitFor(async () => (await get(port, '/readyz').catch(() => ({ status: 0 }))).status === 200, {
        what: `the example to be ready (${app.output()})`,
      });
      await waitFor(async () => (await get(port, '/stores/counts/keys/hello')).text.includes('"value":2'), {
        what: 'the count of hello',
      });
      expect((await get(port, '/healthz')).status).toBe(200);
      await waitFor(
        async () => sample((await get(port, '/metrics')).text, 'eddy_records_processed_total') === 3,
        { what: 'three records processed' },
      );
      app.child.kill('SIGTERM');
      expect(await app.exited, app.output()).toBe(0);
    } finally {
      await producer.disconnect();
    }
  });
});
