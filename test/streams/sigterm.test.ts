// SIGTERM mid-stream: the app process stops gracefully, a restarted process continues, and the output holds
// every input record exactly once (graceful close commits everything it output).
import { describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, waitFor } from '../support/kafka.js';
import { appProcesses } from '../support/processes.js';
import { followTopic } from '../support/read.js';

const apps = appProcesses();

describe('graceful shutdown of an app process', () => {
  it('loses nothing when SIGTERM stops it mid-stream and it restarts', async () => {
    const input = uniqueName('sentences');
    const output = uniqueName('words');
    const total = 3_000;
    await createTopics([
      { topic: input, numPartitions: 3 },
      { topic: output, numPartitions: 3 },
    ]);
    const env = {
      KAFKA_BROKERS: brokerList().join(','),
      APPLICATION_ID: uniqueName('word-split'),
      COMMIT_INTERVAL_MS: '200',
    };

    const seen: string[] = [];
    const reader = await followTopic(output, ({ value }) => seen.push(value!));

    const producer = testProducer();
    await producer.connect();
    let produced = 0;
    // The second half of the input is sent only once the first process was told to stop, so that it stops with
    // input still to come however fast it ran.
    let stopSent: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      stopSent = resolve;
    });
    const producing = (async () => {
      while (produced < total) {
        if (produced === total / 2) await stopped;
        const chunk = Array.from({ length: 100 }, (_, i) => ({ key: null, value: `word${produced + i}` }));
        await producer.send({ topic: input, messages: chunk });
        produced += chunk.length;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    try {
      const first = apps.start('examples/word-split/app.ts', [input, output], env);
      await waitFor(() => seen.length >= 500, { what: 'the first process to output 500 words' });
      first.child.kill('SIGTERM');
      stopSent();
      const code = await first.exited;
      expect(code, first.output()).toBe(0);
      expect(first.output()).toContain('state NOT_RUNNING');
      const afterFirst = seen.length;
      expect(afterFirst).toBeLessThan(total);

      const second = apps.start('examples/word-split/app.ts', [input, output], env);
      await producing;
      await waitFor(() => new Set(seen).size >= total, {
        timeoutMs: 90_000,
        what: `all ${total} words in the output`,
      });
      // The first process may have output every word before it stopped: signal the second only once it runs (its
      // SIGTERM handler is installed by then).
      await waitFor(() => second.output().includes('state RUNNING'), { what: 'the second process to run' });
      second.child.kill('SIGTERM');
      expect(await second.exited, second.output()).toBe(0);

      const expected = Array.from({ length: total }, (_, i) => `word${i}`);
      expect(new Set(seen)).toEqual(new Set(expected));
      expect(seen.length).toBe(total);
    } finally {
      stopSent();
      await producing.catch(() => undefined);
      await producer.disconnect();
      await reader.stop();
    }
  });
});
