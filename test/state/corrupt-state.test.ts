// A corrupt LevelDB directory is detected when the task opens, and the task rebuilds the store from its changelog:
// nothing is lost while the changelog exists.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, waitFor } from '../support/kafka.js';
import { appProcesses } from '../support/processes.js';
import { followTopic } from '../support/read.js';

const apps = appProcesses();

describe('a corrupted state directory', () => {
  it('is wiped and rebuilt from the changelog, and counting continues exactly', async () => {
    const input = uniqueName('words');
    const output = uniqueName('counts');
    const applicationId = uniqueName('word-count');
    await createTopics([
      { topic: input, numPartitions: 2 },
      { topic: output, numPartitions: 2 },
    ]);
    const latest = new Map<string, number>();
    const reader = await followTopic(output, ({ key, value }) => latest.set(key!, Number(value)));
    const producer = testProducer();
    await producer.connect();
    const send = (n: number) =>
      producer.send({
        topic: input,
        messages: Array.from({ length: n }, (_, i) => ({ key: `k${i % 40}`, value: 'x' })),
      });

    const dir = apps.stateDir();
    const env = {
      KAFKA_BROKERS: brokerList().join(','),
      APPLICATION_ID: applicationId,
      STATE_DIR: dir,
      COMMIT_INTERVAL_MS: '100',
    };
    try {
      await send(400);
      const first = apps.start('examples/word-count/app.ts', [input, output], env);
      await waitFor(() => latest.size === 40 && [...latest.values()].every((n) => n === 10), {
        what: '10 per key',
      });
      first.child.kill('SIGTERM');
      expect(await first.exited, first.output()).toBe(0);

      // Garble the LevelDB files of every task's store, as a crash mid-write or a damaged volume would.
      for (const task of readdirSync(join(dir, applicationId))) {
        const storeDir = join(dir, applicationId, task, 'counts');
        for (const file of readdirSync(storeDir)) {
          if (file === 'CURRENT' || file.startsWith('MANIFEST'))
            writeFileSync(join(storeDir, file), 'garbage');
        }
      }

      await send(400);
      const second = apps.start('examples/word-count/app.ts', [input, output], env);
      await waitFor(() => [...latest.values()].every((n) => n === 20), {
        what: '20 per key after the rebuild',
      });
      second.child.kill('SIGTERM');
      expect(await second.exited, second.output()).toBe(0);
      const out = second.output();
      expect(out).toContain('store is corrupted; wiping it and rebuilding it from its changelog');
      const starts = out
        .split('\n')
        .filter((l) => l.startsWith('{"event":"restore-start"'))
        .map((l) => JSON.parse(l) as { partition: number; start: string; end: string });
      expect(starts.map((s) => s.partition).sort()).toEqual([0, 1]);
      for (const s of starts) expect(s.start).toBe('0');
    } finally {
      await producer.disconnect();
      await reader.stop();
    }
  });
});
