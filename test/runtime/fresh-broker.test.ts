// Apps started the moment a fresh broker answers: its group coordinator first answers JoinGroup with "coordinator
// is loading" (GROUP_LOAD_IN_PROGRESS) while it loads its __consumer_offsets partitions. Every app must wait that
// out within its start timeout, say so in a log line, and process; none may stop with BROKER_UNREACHABLE.
import { spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { type LogFields, StreamsApp, type StreamsError } from '@eddy/streams';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { wordSplitTopology } from '../../examples/word-split/topology.js';
import { brokerAnswers } from '../kafka/broker.mjs';
import { uniqueName, waitFor } from '../support/kafka.js';
import { repoRoot } from '../support/processes.js';

/** Several apps (each its own group, so its own __consumer_offsets partition) make hitting the load likely. */
const APPS = 6;
let port = 0;
let target = '';

/** True when nothing listens on the port (a broker of another run must not be mistaken for ours). */
function portFree(p: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = net.connect({ host: '127.0.0.1', port: p });
    socket.on('connect', () => {
      socket.destroy();
      done(false);
    });
    socket.on('error', () => done(true));
  });
}

/**
 * A client port whose controller port (the next one) is free too, below Linux's ephemeral range (32768–60999) so
 * that no client connection of a concurrent test can hold it as its local port while the broker binds.
 */
async function freePorts(): Promise<number> {
  for (;;) {
    const p = 30_000 + 2 * randomInt(0, 500);
    if ((await portFree(p)) && (await portFree(p + 1))) return p;
  }
}

/** What the background start script said and whether it has exited, so a failed start fails the test at once. */
interface Starter {
  output: string;
  exitCode: number | null;
}

/** Starts (in the background, so the apps can race it) or stops and wipes the test's own broker. */
function broker(command: 'start' | 'stop'): Starter | undefined {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_HEAP: '512m',
    KAFKA_START_TIMEOUT_MS: '170000',
  };
  delete env.KAFKA_BROKERS;
  if (command === 'start') {
    const starter: Starter = { output: '', exitCode: null };
    const child = spawn(process.execPath, ['test/kafka/broker.mjs', 'start'], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => (starter.output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (starter.output += d.toString()));
    child.on('exit', (code) => (starter.exitCode = code ?? 1));
    return starter;
  } else {
    spawnSync(process.execPath, ['test/kafka/broker.mjs', 'stop', '--wipe'], {
      cwd: repoRoot,
      env,
      stdio: 'ignore',
    });
  }
  return undefined;
}

describe('a fresh broker', () => {
  afterAll(() => {
    if (port !== 0) broker('stop');
  });

  it('apps started as soon as it answers wait for its group coordinator and process', async () => {
    port = await freePorts();
    target = `127.0.0.1:${port}`;
    rmSync(join(repoRoot, '.data', `kafka-${port}`), { recursive: true, force: true });
    const starter = broker('start') as Starter;
    // A JVM starting beside other tests on a loaded machine may take long; the wait ends early when the start
    // script fails (its output is the error) and otherwise polls often, so the apps start the moment it answers.
    await waitFor(
      async () => {
        if (starter.exitCode !== null && starter.exitCode !== 0)
          throw new Error(`the broker did not start (exit ${starter.exitCode}):\n${starter.output}`);
        return brokerAnswers(target, 500);
      },
      { timeoutMs: 180_000, intervalMs: 20, what: `the broker on ${target}`, failFast: true },
    );

    const kafka = new Kafka({ clientId: 'fresh-broker-test', brokers: [target], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topics = Array.from(
      { length: APPS },
      () => [uniqueName('fresh-in'), uniqueName('fresh-out')] as const,
    );
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.flat().map((topic) => ({ topic, numPartitions: 1 })),
    });

    const errors: StreamsError[] = [];
    const waits: LogFields[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (message: string, fields?: LogFields) => {
        if (message.includes('group coordinator')) waits.push(fields ?? {});
      },
      error: () => undefined,
    };
    const apps = topics.map(([input, output], i) => {
      const app = new StreamsApp(wordSplitTopology(input, output), {
        applicationId: uniqueName(`fresh-${i}`),
        brokers: [target],
        clientLogLevel: 'nothing',
        logger,
        startTimeoutMs: 30_000,
      });
      app.onError((e) => errors.push(e));
      return app;
    });
    try {
      const started = await Promise.allSettled(apps.map((a) => a.start()));
      expect(started.filter((s) => s.status === 'rejected')).toEqual([]);

      const producer = kafka.producer();
      await producer.connect();
      for (const [input] of topics)
        await producer.send({ topic: input, messages: [{ value: 'hello fresh broker' }] });
      await producer.disconnect();
      // Before the fix an app's consumer crashed on the loading coordinator after start() had resolved: the app
      // stopped with BROKER_UNREACHABLE and its words never came.
      await waitFor(
        async () => {
          if (errors.length > 0) return true;
          const offsets = await Promise.all(topics.map(([, output]) => admin.fetchTopicOffsets(output)));
          return offsets.every((o) => o.every((p) => Number(p.high) === 3));
        },
        { timeoutMs: 60_000, what: 'three words from every app' },
      );
      expect(errors.map((e) => `${e.code}: ${e.message}`)).toEqual([]);
      expect(apps.map((a) => a.state)).toEqual(apps.map(() => 'RUNNING'));
      // Whether the coordinator was still loading when an app joined depends on timing; when it was, the wait was
      // logged with the group and the reason.
      for (const w of waits) expect(w).toMatchObject({ groupId: expect.stringMatching(/^fresh-/) });
    } finally {
      await Promise.allSettled(apps.map((a) => a.close()));
      await admin.disconnect();
    }
  }, 330_000);
});
