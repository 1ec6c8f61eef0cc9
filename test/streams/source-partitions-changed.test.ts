// Defect 8: partitions added to a source topic while the app runs. Every instance must stop with one typed error
// (SOURCE_TOPIC_PARTITIONS_CHANGED, onError told once); before, each new group leader crashed in turn.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Serdes, StreamsApp, type StreamsError, Topology } from '@eddy/streams';
import { afterEach, describe, expect, it } from 'vitest';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { brokerList, createTopics, uniqueName, waitFor, withAdmin } from '../support/kafka.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Instance {
  app: StreamsApp;
  errors: StreamsError[];
}

/** Starts `count` instances of one application; they notice new partitions within a second. */
async function startInstances(topology: () => Topology, count: number): Promise<Instance[]> {
  const applicationId = uniqueName('grown');
  const instances = Array.from({ length: count }, (_, i): Instance => {
    const stateDir = mkdtempSync(join(tmpdir(), 'eddy-grown-'));
    const app = new StreamsApp(topology(), {
      applicationId,
      brokers: brokerList(),
      stateDir,
      instanceId: `app-${i}`,
      metadataMaxAgeMs: 1_000,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 500,
      clientLogLevel: 'nothing',
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    cleanups.push(async () => {
      await app.close({ leaveGroup: true }).catch(() => undefined);
      rmSync(stateDir, { recursive: true, force: true });
    });
    return { app, errors };
  });
  await Promise.all(instances.map((i) => i.app.start()));
  await waitFor(
    () => {
      const generations = new Set(instances.map((i) => i.app.metrics.generationId));
      return instances.every((i) => i.app.state === 'RUNNING') && generations.size === 1;
    },
    { what: 'every instance running in one generation' },
  );
  return instances;
}

async function expectAllStopped(instances: Instance[]): Promise<void> {
  await waitFor(() => instances.every((i) => i.app.state === 'ERROR' || i.app.state === 'NOT_RUNNING'), {
    what: 'every instance stopped',
    timeoutMs: 60_000,
  });
  for (const [n, { app, errors }] of instances.entries()) {
    expect({ instance: n, state: app.state, code: app.error?.code }).toEqual({
      instance: n,
      state: 'ERROR',
      code: 'SOURCE_TOPIC_PARTITIONS_CHANGED',
    });
    expect(errors.map((e) => e.code)).toEqual(['SOURCE_TOPIC_PARTITIONS_CHANGED']);
    expect(errors[0]?.message).toContain('reset the application');
  }
}

describe('partitions added to a source topic while the app runs', () => {
  it('stop every instance of a stateful app with SOURCE_TOPIC_PARTITIONS_CHANGED', async () => {
    const input = uniqueName('words');
    const output = uniqueName('counts');
    await createTopics([
      { topic: input, numPartitions: 4 },
      { topic: output, numPartitions: 4 },
    ]);
    const instances = await startInstances(() => wordCountTopology(input, output, 'counts'), 3);
    await withAdmin((admin) => admin.createPartitions({ topicPartitions: [{ topic: input, count: 6 }] }));
    await expectAllStopped(instances);
  }, 120_000);

  it('stop every instance when co-partitioned sources no longer match', async () => {
    const left = uniqueName('left');
    const right = uniqueName('right');
    const output = uniqueName('merged');
    await createTopics([
      { topic: left, numPartitions: 3 },
      { topic: right, numPartitions: 3 },
      { topic: output, numPartitions: 3 },
    ]);
    const topology = () =>
      new Topology()
        .addSource('both', { topics: [left, right], keySerde: Serdes.string(), valueSerde: Serdes.string() })
        .addSink('out', { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'both');
    const instances = await startInstances(topology, 2);
    await withAdmin((admin) => admin.createPartitions({ topicPartitions: [{ topic: right, count: 5 }] }));
    await expectAllStopped(instances);
  }, 120_000);
});
