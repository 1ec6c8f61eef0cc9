// Instances of a new application started together: one creates the changelog topic, the others find it existing and
// must still see its leaders before they read its offsets (a pod stopped with NOT_LEADER_FOR_PARTITION before).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamsApp } from '@eddy/streams';
import { afterEach, describe, expect, it } from 'vitest';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { brokerList, createTopics, uniqueName } from '../support/kafka.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('instances of a new application started at the same time', () => {
  it('all start, whichever of them creates the changelog topic', async () => {
    const input = uniqueName('words');
    const output = uniqueName('counts');
    await createTopics([
      { topic: input, numPartitions: 6 },
      { topic: output, numPartitions: 6 },
    ]);
    // A few fresh applications, each started three times at once: each round races on a new changelog topic.
    for (let round = 0; round < 4; round++) {
      const applicationId = uniqueName('race');
      const apps = [0, 1, 2].map((i) => {
        const stateDir = mkdtempSync(join(tmpdir(), 'eddy-race-'));
        const app = new StreamsApp(wordCountTopology(input, output, 'counts'), {
          applicationId,
          brokers: brokerList(),
          stateDir,
          instanceId: `app-${i}`,
          clientLogLevel: 'nothing',
          logger: { debug() {}, info() {}, warn() {}, error() {} },
        });
        cleanups.push(async () => {
          await app.close({ leaveGroup: true });
          rmSync(stateDir, { recursive: true, force: true });
        });
        return app;
      });
      const started = await Promise.allSettled(apps.map((a) => a.start()));
      expect(
        started.map((s) => (s.status === 'fulfilled' ? 'started' : String(s.reason))),
        `round ${round}`,
      ).toEqual(['started', 'started', 'started']);
    }
  }, 120_000);
});
