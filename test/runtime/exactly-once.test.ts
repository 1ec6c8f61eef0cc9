// Exactly-once under crashes: a counting app with processingGuarantee 'exactly-once' is SIGKILLed three times
// mid-run and restarted. The read_committed output holds exactly one output per input (each key's counts are
// 1, 2, …, n with no gap or repeat), the stores' counts are exact, and no transaction is left open. With one stream
// thread, and with two (a threaded app: its tasks' transactions fenced and resumed across both threads' crashes).
import { describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { appProcesses } from '../support/processes.js';
import { followTopic } from '../support/read.js';

const PARTITIONS = 6;
const KEYS = 1_000;
const TOTAL = 200_000;
const apps = appProcesses();

const keyOf = (i: number) => `key-${(i * 7919) % KEYS}`;

describe('exactly-once with crashes', () => {
  it.each([1, 2])(
    'outputs exactly one count per input across three SIGKILLs, %i stream thread(s)',
    async (threads) => {
      const input = uniqueName('eos-in');
      const output = uniqueName('eos-out');
      const applicationId = uniqueName('eos-count');
      await createTopics([
        { topic: input, numPartitions: PARTITIONS },
        { topic: output, numPartitions: PARTITIONS },
      ]);
      const expected = new Map<string, number>();
      for (let i = 0; i < TOTAL; i++) expected.set(keyOf(i), (expected.get(keyOf(i)) ?? 0) + 1);

      const producer = testProducer();
      await producer.connect();
      for (let from = 0; from < TOTAL; from += 10_000) {
        await producer.send({
          topic: input,
          messages: Array.from({ length: 10_000 }, (_, j) => ({ key: keyOf(from + j), value: 'x' })),
        });
      }

      // Every count each key received, in order, as a read_committed consumer sees them.
      const counts = new Map<string, number[]>();
      let outputs = 0;
      const reader = await followTopic(
        output,
        ({ key, value }) => {
          outputs++;
          const list = counts.get(key!);
          if (list) list.push(Number(value));
          else counts.set(key!, [Number(value)]);
        },
        { readCommitted: true },
      );

      const dir = apps.stateDir();
      const env = {
        KAFKA_BROKERS: brokerList().join(','),
        APPLICATION_ID: applicationId,
        STATE_DIR: dir,
        PROCESSING_GUARANTEE: 'exactly-once',
        SESSION_TIMEOUT_MS: '6000',
        NUM_STREAM_THREADS: String(threads),
      };
      const start = () => apps.start('examples/word-count/app.ts', [input, output], env);
      try {
        let app = start();
        for (const share of [0.15, 0.4, 0.65]) {
          await waitFor(() => outputs >= TOTAL * share, {
            timeoutMs: 120_000,
            what: `${share * 100}% of the outputs`,
          });
          app.child.kill('SIGKILL');
          expect(await app.exited).toBe('SIGKILL');
          app = start();
        }
        await waitFor(() => outputs >= TOTAL, { timeoutMs: 180_000, what: `all ${TOTAL} outputs` });
        app.child.kill('SIGTERM');
        expect(await app.exited, app.output()).toBe(0);

        // No transaction is left open: a record written after the app stopped becomes visible to read_committed
        // readers (an open transaction would hold the last stable offset back).
        await producer.send({ topic: output, messages: [{ key: '~marker', value: '0', partition: 0 }] });
        await waitFor(() => counts.has('~marker'), {
          timeoutMs: 30_000,
          what: 'the marker behind the last transaction',
        });
        counts.delete('~marker');
        expect(outputs).toBe(TOTAL + 1);

        for (const [key, n] of expected) {
          expect(counts.get(key), `counts output for ${key}`).toEqual(
            Array.from({ length: n }, (_, i) => i + 1),
          );
        }
        const [committed] = await withAdmin((a) =>
          a.fetchOffsets({ groupId: applicationId, topics: [input] }),
        );
        expect(committed!.partitions.reduce((sum, p) => sum + Number(p.offset), 0)).toBe(TOTAL);
      } finally {
        await producer.disconnect();
        await reader.stop();
      }
    },
    600_000,
  );
});
