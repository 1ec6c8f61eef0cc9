// A threaded app's operations server against the broker: probes from its two stream threads, /metrics that sums
// their counts, key queries answered by the thread that runs the key's task, scans of both threads, and queries
// forwarded between it and a one-thread instance of the same app.
import { StreamsApp, ThreadedStreamsApp } from '@eddy/streams';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { freePort, get, sample } from '../support/http.js';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor } from '../support/kafka.js';

const MODULE = new URL('../support/apps/threaded-word-count-http.ts', import.meta.url);
const PARTITIONS = 6;
const threaded: ThreadedStreamsApp[] = [];
const apps = inProcessApps();
afterEach(async () => {
  await Promise.all(threaded.splice(0).map((a) => a.close().catch(() => undefined)));
});

describe('the operations server of a threaded app (numStreamThreads 2)', () => {
  it('is ready once running, sums both threads in /metrics, answers queries from either thread, and closes', async () => {
    const input = uniqueName('tops-words');
    const output = uniqueName('tops-counts');
    await createTopics([
      { topic: input, numPartitions: PARTITIONS },
      { topic: output, numPartitions: PARTITIONS },
    ]);
    const applicationId = uniqueName('tops-app');
    const [port, otherPort] = [await freePort(), await freePort()];
    const app = await ThreadedStreamsApp.load(MODULE, {
      args: [
        input,
        output,
        applicationId,
        apps.stateDir(),
        '2',
        brokerList().join(','),
        String(port),
        `127.0.0.1:${port}`,
      ],
    });
    threaded.push(app);
    const starting = app.start();
    // The server answers while the threads start: alive, not ready.
    await waitFor(() => app.httpAddress !== undefined, { what: 'the server to listen' });
    expect(app.httpAddress?.port).toBe(port);
    const early = await get(port, '/readyz');
    if (app.state !== 'RUNNING') expect(early.status).toBe(503);
    await starting;
    await waitFor(() => app.streamThreads.every((t) => t.assignment?.active.length === 3), {
      what: 'each thread to have 3 of the 6 tasks',
    });
    await waitFor(async () => (await get(port, '/readyz')).status === 200, { what: 'ready' });
    expect((await get(port, '/healthz')).status).toBe(200);

    const keys = Array.from({ length: 30 }, (_, i) => `word-${i}`);
    const producer = testProducer();
    await producer.connect();
    try {
      await producer.send({
        topic: input,
        messages: keys.flatMap((key) => Array.from({ length: 2 }, () => ({ key, value: 'x' }))),
      });
      const processed = async () =>
        sample((await get(port, '/metrics')).text, 'eddy_records_processed_total');
      await waitFor(async () => (await processed()) === keys.length * 2, {
        what: 'eddy_records_processed_total to reach 60, summed over both threads',
      });
      // Both threads did part of the work (as their periodic reports say, at most 250 ms behind the scrape).
      await waitFor(
        () =>
          app.streamThreads.every((t) => t.metrics.processed > 0) &&
          app.streamThreads.reduce((n, t) => n + t.metrics.processed, 0) === keys.length * 2,
        { what: 'each thread to report its part of the 60 records processed' },
      );
      const metrics = (await get(port, '/metrics')).text;
      expect(
        metrics.split('\n').filter((l) => l.startsWith('eddy_task_records_processed_total{')),
      ).toHaveLength(PARTITIONS);
      expect(sample(metrics, 'eddy_tasks{kind="active"}')).toBe(PARTITIONS);

      // Every key from the thread that has it; a whole-store scan joins both threads' entries.
      await waitFor(
        async () => {
          for (const key of keys) {
            const a = await get(port, `/stores/counts/keys/${key}`);
            if (a.status !== 200 || JSON.parse(a.text).value !== 2) return false;
          }
          return true;
        },
        { what: 'every key to be answered with 2' },
      );
      const all = JSON.parse((await get(port, '/stores/counts/all')).text) as { entries: { key: string }[] };
      expect(all.entries.map((e) => e.key).sort()).toEqual([...keys].sort());
      expect(JSON.parse((await get(port, '/stores/counts/keys/absent')).text).error.code).toBe(
        'KEY_NOT_FOUND',
      );

      // A one-thread instance joins: queries go between the instances, either way.
      const other = apps.track(
        new StreamsApp(wordCountTopology(input, output), {
          applicationId,
          brokers: brokerList(),
          stateDir: apps.stateDir(),
          applicationServer: `127.0.0.1:${otherPort}`,
          commitIntervalMs: 100,
          clientLogLevel: 'nothing',
          metrics: { registry: new Registry() },
          http: { port: otherPort, host: '127.0.0.1', forwardTimeoutMs: 5_000 },
        }),
      );
      await other.start();
      await waitFor(
        async () =>
          other.state === 'RUNNING' &&
          (other.allMetadata().find((m) => m.endpoint === `127.0.0.1:${otherPort}`)?.activeTasks.length ??
            0) > 0 &&
          (await get(port, '/readyz')).status === 200 &&
          (await get(otherPort, '/readyz')).status === 200,
        { what: 'both instances ready, with tasks on each' },
      );
      await waitFor(
        async () => {
          for (const key of keys) {
            for (const p of [port, otherPort]) {
              const a = await get(p, `/stores/counts/keys/${key}`);
              if (a.status !== 200 || JSON.parse(a.text).value !== 2) return false;
            }
          }
          return true;
        },
        { what: 'every key to be answered with 2 by both instances' },
      );
      for (const p of [port, otherPort]) {
        const scan = JSON.parse((await get(p, '/stores/counts/all')).text) as { entries: { key: string }[] };
        expect(scan.entries.map((e) => e.key).sort(), `scan from ${p}`).toEqual([...keys].sort());
      }
    } finally {
      await producer.disconnect();
    }

    await app.close();
    expect(app.state).toBe('NOT_RUNNING');
    await expect(get(port, '/healthz')).rejects.toThrow();
  });
});
