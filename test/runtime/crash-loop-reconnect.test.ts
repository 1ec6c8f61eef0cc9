// Transient failures are retried in-process with `retryBackoff`: an app whose broker is unreachable at start, or
// becomes unreachable while it runs, stays alive and not ready, and resumes once the broker is back. The broker is a
// private one whose clients all go through a loopback TCP proxy the test cuts.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Serdes, StreamsApp, StreamsBuilder, type StreamsState } from '@eddy/streams';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { uniqueName, waitFor } from '../support/kafka.js';
import { repoRoot } from '../support/processes.js';
import { type TcpProxy, tcpProxy } from '../support/tcp-proxy.js';

const apps = inProcessApps();
let proxy: TcpProxy;
let brokerPort: number;
let brokers: string[];

/** A port with the next one free too (the broker's controller listens there). */
async function freePortPair(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 50; i++) {
    const port = 40_000 + 2 * Math.floor(Math.random() * 5_000);
    if ((await free(port)) && (await free(port + 1))) return port;
  }
  throw new Error('no free port pair');
}

function broker(command: 'start' | 'stop'): Promise<void> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    KAFKA_PORT: String(brokerPort),
    KAFKA_ADVERTISED_PORT: String(proxy.port),
  };
  delete env.KAFKA_BROKERS;
  env.KAFKA_HEAP = '512m';
  const args = ['test/kafka/broker.mjs', command, ...(command === 'stop' ? ['--wipe'] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: 'inherit' });
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`broker ${command} exited ${code}`)),
    );
  });
}

beforeAll(async () => {
  brokerPort = await freePortPair();
  proxy = await tcpProxy({ host: '127.0.0.1', port: brokerPort });
  brokers = [`127.0.0.1:${proxy.port}`];
  await broker('start');
}, 180_000);

afterAll(async () => {
  await proxy?.restore();
  if (brokerPort !== undefined) await broker('stop');
  await proxy?.close();
}, 60_000);

function kafka(): Kafka {
  return new Kafka({ clientId: uniqueName('test'), brokers, logLevel: logLevel.NOTHING });
}

async function createTopics(...topics: string[]): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions: 1 })),
    waitForLeaders: true,
  });
  await admin.disconnect();
}

async function produce(topic: string, values: string[]): Promise<void> {
  const producer = kafka().producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((value) => ({ key: value, value })) });
  await producer.disconnect();
}

async function follow(topic: string, seen: Set<string>) {
  const consumer = kafka().consumer({ groupId: uniqueName('reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.add(String(message.value));
    },
  });
  return consumer;
}

interface Logged {
  message: string;
  fields: Record<string, unknown> | undefined;
}

function upperCaseApp(input: string, output: string, logs: Logged[]) {
  const b = new StreamsBuilder();
  const str = { keySerde: Serdes.string(), valueSerde: Serdes.string() };
  b.stream(input, str)
    .mapValues((v) => String(v).toUpperCase())
    .to(output, str);
  const record = (message: string, fields?: Record<string, unknown>) => logs.push({ message, fields });
  const app = new StreamsApp(b.build(), {
    applicationId: uniqueName('reconnect'),
    brokers,
    stateDir: apps.stateDir(),
    instanceId: 'reconnect-0',
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    commitIntervalMs: 200,
    startTimeoutMs: 2_000,
    connectionTimeoutMs: 500,
    requestTimeoutMs: 2_000,
    clientLogLevel: 'nothing',
    retryBackoff: { initialMs: 200, maxMs: 1_000, giveUpAfterMs: 120_000 },
    http: { port: 0, host: '127.0.0.1' },
    logger: { debug: record, info: record, warn: record, error: record },
  });
  const states: StreamsState[] = [];
  app.onStateChange((next) => states.push(next));
  return { app: apps.track(app), states };
}

async function readyz(app: StreamsApp): Promise<number> {
  const { host, port } = app.httpAddress!;
  return (await fetch(`http://${host}:${port}/readyz`)).status;
}

const retries = (logs: Logged[]) =>
  logs.filter((l) => l.message === 'Kafka is unreachable; trying again in-process');

describe('in-process retries when Kafka is unreachable', () => {
  it('keeps trying at start while the broker is unreachable, not ready, and runs once it is back', async () => {
    const input = uniqueName('in');
    const output = uniqueName('out');
    await createTopics(input, output);
    await proxy.cut();
    const logs: Logged[] = [];
    const { app, states } = upperCaseApp(input, output, logs);
    const started = app.start();
    await waitFor(() => retries(logs).length >= 2, { what: 'two retries', timeoutMs: 60_000 });
    expect(app.state).toBe('REBALANCING');
    expect(await readyz(app)).toBe(503);
    // Capped exponential delays: each at least half its cap.
    for (const [i, l] of retries(logs).entries()) {
      expect(l.fields?.delayMs).toBeGreaterThanOrEqual(Math.min(1_000, 200 * 2 ** i) / 2);
      expect(l.fields?.delayMs).toBeLessThanOrEqual(1_000);
    }
    await proxy.restore();
    await started;
    const seen = new Set<string>();
    const reader = await follow(output, seen);
    try {
      await produce(input, ['a', 'b', 'c']);
      await waitFor(() => ['A', 'B', 'C'].every((v) => seen.has(v)), { what: 'the output' });
      await waitFor(async () => (await readyz(app)) === 200, { what: 'ready' });
      expect(states).not.toContain('ERROR');
    } finally {
      await reader.disconnect();
    }
  });

  it('stays alive and not ready while the broker is cut mid-run, and resumes processing once it is back', async () => {
    const input = uniqueName('in');
    const output = uniqueName('out');
    await createTopics(input, output);
    const logs: Logged[] = [];
    const { app, states } = upperCaseApp(input, output, logs);
    await app.start();
    const seen = new Set<string>();
    let reader = await follow(output, seen);
    await produce(input, ['one', 'two']);
    await waitFor(() => seen.has('ONE') && seen.has('TWO'), { what: 'the first output' });
    await reader.disconnect();
    const processedBefore = app.metrics.processed;
    expect(processedBefore).toBeGreaterThanOrEqual(2);

    await proxy.cut();
    await waitFor(() => logs.some((l) => l.message === 'lost Kafka while running; reconnecting in-process'), {
      what: 'the app to notice',
      timeoutMs: 90_000,
    });
    await waitFor(() => retries(logs).length >= 1, { what: 'a retry' });
    expect(app.state).toBe('REBALANCING');
    expect(await readyz(app)).toBe(503);

    await proxy.restore();
    reader = await follow(output, seen);
    try {
      await produce(input, ['three', 'four']);
      await waitFor(() => seen.has('THREE') && seen.has('FOUR'), { what: 'the output after reconnecting' });
      expect(app.state).toBe('RUNNING');
      // Totals go on across the reconnect.
      expect(app.metrics.processed).toBeGreaterThanOrEqual(processedBefore + 2);
      await waitFor(async () => (await readyz(app)) === 200, { what: 'ready again' });
      expect(states).not.toContain('ERROR');
    } finally {
      await reader.disconnect();
    }
  });
});
