// Interactive-query metadata of a running app against the broker: the key's partition matches the producer's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Serdes, StreamsApp, StreamsError, type TaskAssignment } from '@eddy/streams';
import { afterEach, describe, expect, it } from 'vitest';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { brokerList, createTopics, testProducer, uniqueName } from '../support/kafka.js';

const PARTITIONS = 4;
const ENDPOINT = '127.0.0.1:7070';
const ALL_TASKS = ['0_0', '0_1', '0_2', '0_3'];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('query metadata of a running app', () => {
  it('names this instance as the active host of a key, on the partition the producer wrote the key to', async () => {
    const input = uniqueName('words');
    const output = uniqueName('counts-out');
    await createTopics([
      { topic: input, numPartitions: PARTITIONS },
      { topic: output, numPartitions: PARTITIONS },
    ]);
    const stateDir = mkdtempSync(join(tmpdir(), 'eddy-query-metadata-'));
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));

    const app = new StreamsApp(wordCountTopology(input, output, 'counts'), {
      applicationId: uniqueName('query-app'),
      brokers: brokerList(),
      applicationServer: ENDPOINT,
      stateDir,
      commitIntervalMs: 200,
      clientLogLevel: 'nothing',
    });
    cleanups.push(() => app.close());

    // Before the app has joined there is nothing to route by.
    for (const query of [
      () => app.queryMetadataForKey('counts', 'k', Serdes.string()),
      () => app.allMetadata(),
    ]) {
      let caught: unknown;
      try {
        query();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(StreamsError);
      expect((caught as StreamsError).code).toBe('ILLEGAL_STATE');
    }

    const firstAssignment = new Promise<TaskAssignment>((resolve) => {
      const remove = app.onAssignment((assignment) => {
        remove();
        resolve(assignment);
      });
    });
    await app.start();
    const assignment = await firstAssignment;
    expect(assignment.active).toEqual(ALL_TASKS);
    expect(assignment.standby).toEqual([]);
    expect(assignment.warmup).toEqual([]);

    // Where the client's default partitioner puts some keys.
    const producer = testProducer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const keys = ['some-key', 'apple', 'banana', 'cherry', 'durian', 'elderberry', 'fig', 'grape'];
    const written = new Map<string, number>();
    for (const key of keys) {
      const [result] = await producer.send({ topic: input, messages: [{ key, value: 'x' }] });
      expect(result?.topicName).toBe(input);
      written.set(key, result!.partition);
    }
    // The keys spread over more than one partition, so a constant answer could not pass.
    expect(new Set(written.values()).size).toBeGreaterThan(1);

    for (const [key, partition] of written) {
      expect(app.queryMetadataForKey('counts', key, Serdes.string()), key).toEqual({
        taskId: `0_${partition}`,
        partition,
        active: ENDPOINT,
        standbys: [],
      });
      // Without a serializer the key is taken as its bytes.
      expect(app.queryMetadataForKey('counts', Buffer.from(key)).partition).toBe(partition);
    }

    expect(app.allMetadata()).toEqual([{ endpoint: ENDPOINT, activeTasks: ALL_TASKS, standbyTasks: [] }]);

    expect(() => app.queryMetadataForKey('no-such-store', 'some-key', Serdes.string())).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_STORE' }),
    );
    expect(() => app.queryMetadataForKey('counts', 'some-key')).toThrow(
      expect.objectContaining({ code: 'SERIALIZATION_FAILED' }),
    );
  });
});
