// `eddy lag` and `eddy drain` as processes against the broker: a running app's lag and readiness, a drain that ends
// once the app has caught up, and a drain that times out on a group that does not move.
import { StreamsApp } from '@eddy/streams';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { committedOffsets, drainArgs, eddy, eddyJson, errorOf, startEddy } from '../support/cli.js';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testKafka, uniqueName, waitFor, withAdmin } from '../support/kafka.js';

const apps = inProcessApps();

interface LagReport {
  applicationId: string;
  partitions: { topic: string; partition: number; committed: string | null; end: string; lag: string }[];
  total: string;
  instances?: { instance: string; ready: boolean; state?: string; restoringTasks?: number; error?: string }[];
}

async function produce(
  topic: string,
  messages: { key: string; value: string; partition: number }[],
): Promise<void> {
  const producer = testKafka().producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

describe('eddy lag and eddy drain', () => {
  it('shows lag per partition, drains once the app catches up, and shows the instance ready', async () => {
    const input = uniqueName('cli-words');
    const output = uniqueName('cli-counts');
    const applicationId = uniqueName('cli-lag');
    await createTopics([
      { topic: input, numPartitions: 2 },
      { topic: output, numPartitions: 2 },
    ]);
    const words = (n: number, partition: number) =>
      Array.from({ length: n }, (_, i) => ({ key: `w${i % 3}`, value: 'x', partition }));
    await produce(input, [...words(5, 0), ...words(3, 1)]);

    // Nothing committed yet: the group is unknown unless its input is named; then lag counts from the log start.
    const unknown = await eddy(['lag', '--application-id', applicationId, '--json']);
    expect(unknown.code).toBe(1);
    expect(errorOf(unknown.stderr).code).toBe('GROUP_NOT_FOUND');
    const before = await eddyJson<LagReport>([
      'lag',
      '--application-id',
      applicationId,
      '--input-topics',
      input,
    ]);
    expect(before.partitions).toEqual([
      { topic: input, partition: 0, end: '5', lag: '5' },
      { topic: input, partition: 1, end: '3', lag: '3' },
    ]);
    expect(before.total).toBe('8');

    // drain waits for the app, started after it: it ends once the committed offsets reach the input's end.
    const drain = startEddy(drainArgs(applicationId, input, 90_000));
    const app = apps.track(
      new StreamsApp(wordCountTopology(input, output), {
        applicationId,
        brokers: brokerList(),
        stateDir: apps.stateDir(),
        commitIntervalMs: 100,
        clientLogLevel: 'nothing',
        metrics: { registry: new Registry() },
        http: { port: 0, host: '127.0.0.1' },
      }),
    );
    await app.start();
    const drained = await drain.done;
    expect(drained.code).toBe(0);
    expect(JSON.parse(drained.stdout)).toMatchObject({ applicationId, drained: true, partitions: 2 });
    expect(await committedOffsets(applicationId, input)).toEqual(['5', '3']);

    const { port } = app.httpAddress!;
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
      what: 'the app to be ready',
    });
    const after = await eddyJson<LagReport>([
      'lag',
      '--application-id',
      applicationId,
      '--instances',
      `http://127.0.0.1:${port},http://127.0.0.1:1`,
    ]);
    // The count's repartition-free topology commits only its input.
    expect(after.partitions).toEqual([
      { topic: input, partition: 0, committed: '5', end: '5', lag: '0' },
      { topic: input, partition: 1, committed: '3', end: '3', lag: '0' },
    ]);
    expect(after.total).toBe('0');
    expect(after.instances).toHaveLength(2);
    expect(after.instances![0]).toMatchObject({ ready: true, state: 'RUNNING', restoringTasks: 0 });
    expect(after.instances![1]).toMatchObject({ instance: 'http://127.0.0.1:1', ready: false });
    expect(after.instances![1]!.error).toBeDefined();

    const table = await eddy(['lag', '--application-id', applicationId]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/TOPIC +PARTITION +COMMITTED +END +LAG/);
    expect(table.stdout).toContain('Total lag: 0');
  });

  it('drain exits with TIMEOUT while the group stays behind', async () => {
    const input = uniqueName('cli-stuck');
    const groupId = uniqueName('cli-stuck-app');
    await createTopics([{ topic: input, numPartitions: 1 }]);
    await produce(input, [
      { key: 'a', value: '1', partition: 0 },
      { key: 'b', value: '2', partition: 0 },
    ]);
    await withAdmin((admin) =>
      admin.setOffsets({ groupId, topic: input, partitions: [{ partition: 0, offset: '1' }] }),
    );

    const r = await eddy([
      'drain',
      '--application-id',
      groupId,
      '--timeout',
      '1500',
      '--interval',
      '200',
      '--json',
    ]);
    expect(r.code).toBe(3);
    const error = errorOf(r.stderr);
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain(`did not drain within 1500 ms: lag 1 on 1 partition(s) (${input}-0: 1)`);
  });

  it('fails with BROKER_UNREACHABLE when no broker answers, and INVALID_ARGUMENT on a bad option', async () => {
    const unreachable = await eddy([
      'lag',
      '--application-id',
      'any',
      '--brokers',
      '127.0.0.1:1',
      '--connect-timeout',
      '1000',
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim()).toMatch(
      /^eddy: BROKER_UNREACHABLE: no broker of 127\.0\.0\.1:1 answered/,
    );

    const bad = await eddy(['drain', '--application-id', 'any', '--timeout', 'soon', '--json']);
    expect(bad.code).toBe(2);
    expect(errorOf(bad.stderr)).toEqual({
      code: 'INVALID_ARGUMENT',
      message: '--timeout must be a positive integer, got "soon"',
    });
    const missing = await eddy(['lag']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      "INVALID_ARGUMENT: required option '--application-id <id>' not specified",
    );
  });
});
