// An Avro app with `retryBackoff` when Kafka and the registry go away: its serdes are prepared once, so a reconnect to
// Kafka while the registry is down needs no registry and the app goes on exactly; a registry down at start is retried
// like Kafka unreachable. The app reaches a private broker and the registry through TCP proxies the test cuts.
import { AvroSerdes, RegistryClient } from '@eddy/avro';
import { changelogTopic } from '@eddy/state';
import { StreamsApp, type StreamsState } from '@eddy/streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { avroCountTopology, type Count } from '../support/avro-count.js';
import { capturingLogger } from '../support/capturing-logger.js';
import { inProcessApps } from '../support/in-process.js';
import { createTopics, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { type PrivateBroker, privateBroker } from '../support/private-broker.js';
import { committedOffsets } from '../support/rekey-crash.js';
import { steadyInput } from '../support/steady-input.js';
import { type TcpProxy, tcpProxy } from '../support/tcp-proxy.js';
import { readToEnd, registryUrl } from './support.js';

const apps = inProcessApps();
let broker!: PrivateBroker;
let registryProxy!: TcpProxy;
let proxiedRegistryUrl!: string;

beforeAll(async () => {
  const target = new URL(registryUrl());
  registryProxy = await tcpProxy({ host: target.hostname, port: Number(target.port) });
  proxiedRegistryUrl = `http://127.0.0.1:${registryProxy.port}${target.pathname}`;
  broker = await privateBroker();
  await broker.start();
  // The test's own clients (input, output reader, admin) bypass the proxy.
  process.env.KAFKA_BROKERS = broker.direct.join(',');
}, 180_000);

afterAll(async () => {
  await broker?.close();
  await registryProxy?.close();
}, 60_000);

const sumHigh = async (topic: string) =>
  (await withAdmin((a) => a.fetchTopicOffsets(topic))).reduce((n, o) => n + Number(o.high), 0);

function countApp(input: string, output: string, logs: string[], details: string[] = []) {
  const registry = new RegistryClient({ url: proxiedRegistryUrl, timeoutMs: 1_000 });
  const applicationId = uniqueName('avro-reconnect');
  const app = new StreamsApp(avroCountTopology({ version: 1, input, output, registry }), {
    applicationId,
    brokers: broker.proxied,
    stateDir: apps.stateDir(),
    instanceId: 'avro-reconnect-0',
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    commitIntervalMs: 200,
    startTimeoutMs: 2_000,
    connectionTimeoutMs: 500,
    requestTimeoutMs: 2_000,
    clientLogLevel: 'nothing',
    retryBackoff: { initialMs: 200, maxMs: 1_000, giveUpAfterMs: 120_000 },
    logger: capturingLogger(logs, details),
  });
  const states: StreamsState[] = [];
  app.onStateChange((s) => states.push(s));
  return { app: apps.track(app), states, registry, applicationId };
}

/**
 * True once the app committed all `total` input records and every event it repartitioned: the counting
 * subtopology reads the repartition topic and may lag behind the input's.
 */
async function processedAll(applicationId: string, input: string, total: number): Promise<boolean> {
  if ((await committedOffsets(applicationId, input)) !== total) return false;
  const events = `${applicationId}-events-repartition`;
  return (await committedOffsets(applicationId, events)) === (await sumHigh(events));
}

/**
 * The latest count per key of an Avro topic (the output, or the store's changelog: what a restart restores), read to
 * each partition's end and decoded with a client of the registry itself.
 */
async function latestCounts(topic: string): Promise<Map<string, number>> {
  const registry = new RegistryClient({ url: registryUrl() });
  const reader = AvroSerdes.generic({ registry, schema: { type: 'string' } });
  const latest = new Map<string, number>();
  for (const r of await readToEnd(topic)) {
    latest.set(r.key!, Number((reader.deserialize(r.value!) as Count).count));
  }
  registry.close();
  return latest;
}

describe('an Avro app losing Kafka and its registry', () => {
  it('reconnects to Kafka while the registry is down, on the schema ids it has, and counts exactly', async () => {
    const input = uniqueName('words');
    const output = uniqueName('counts');
    await createTopics([input, output].map((topic) => ({ topic, numPartitions: 2 })));
    const logs: string[] = [];
    const details: string[] = [];
    const { app, states, registry, applicationId } = countApp(input, output, logs, details);
    const steady = await steadyInput(input, { keys: 23, perSend: 10 });
    // On a timeout, what the app said and went through.
    const explained = (err: Error) => {
      throw new Error(
        `${err.message}; states ${states.join(' → ')}; last logs: ${details.slice(-8).join(' | ')}`,
      );
    };
    try {
      await app.start();
      await waitFor(async () => (await sumHigh(output)) >= 200, { what: '200 outputs before the cut' });
      // What the app says from here on (a slow registry may have made the start itself try again).
      const sinceCut = logs.length;
      await registryProxy.cut();
      await broker.proxy.cut();
      await waitFor(() => logs.includes('lost Kafka while running; reconnecting in-process'), {
        what: 'the app to notice Kafka gone',
      }).catch(explained);
      await broker.proxy.restore();
      const at = await sumHigh(output);
      await waitFor(async () => app.state === 'RUNNING' && (await sumHigh(output)) >= at + 200, {
        what: 'the app to reconnect and count on with the registry still down',
        timeoutMs: 90_000,
      }).catch(explained);
      await registryProxy.restore();
      await steady.stop();
      await waitFor(() => processedAll(applicationId, input, steady.total()), {
        what: 'the app to commit all input and events',
        timeoutMs: 90_000,
      });
      expect(states).not.toContain('ERROR');
      // The reconnect did not need the registry: the serdes kept the schema ids they had.
      expect(logs.slice(sinceCut)).not.toContain('a serde could not prepare; trying again in-process');
      expect(await latestCounts(changelogTopic(applicationId, 'counts'))).toEqual(steady.sent);
      expect(await latestCounts(output)).toEqual(steady.sent);
    } finally {
      await registryProxy.restore();
      await broker.proxy.restore();
      await steady.stop();
      registry.close();
    }
  }, 240_000);

  it('retries a start while the registry is down, not ready, and runs once it answers', async () => {
    const input = uniqueName('words');
    const output = uniqueName('counts');
    await createTopics([input, output].map((topic) => ({ topic, numPartitions: 2 })));
    const logs: string[] = [];
    const { app, states, registry, applicationId } = countApp(input, output, logs);
    await registryProxy.cut();
    try {
      const started = app.start();
      const retries = () => logs.filter((m) => m === 'a serde could not prepare; trying again in-process');
      await waitFor(() => retries().length >= 2, { what: 'two retries of the start', timeoutMs: 60_000 });
      expect(app.state).toBe('REBALANCING');
      await registryProxy.restore();
      await started;
      const steady = await steadyInput(input, { keys: 7, perSend: 7 });
      await waitFor(async () => (await sumHigh(output)) >= 50, { what: 'the app to count' });
      await steady.stop();
      await waitFor(() => processedAll(applicationId, input, steady.total()), {
        what: 'the app to commit all input and events',
      });
      expect(await latestCounts(output)).toEqual(steady.sent);
      expect(states).not.toContain('ERROR');
    } finally {
      await registryProxy.restore();
      registry.close();
    }
  }, 180_000);
});
