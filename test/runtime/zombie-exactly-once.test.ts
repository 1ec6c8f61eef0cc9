// Exactly-once with a zombie: of two exactly-once instances, A is SIGSTOPped past its session timeout while input
// keeps arriving, the group moves all its tasks to B, B processes, and A is resumed (SIGCONT) still believing it
// owns its tasks. The read_committed output holds exactly one output per input, for a stateless and a stateful
// topology. On the code before generation-aware commits this failed in 2 of 4 runs: A resumed after B had read the
// committed offsets but before B had initialised (and so fenced) a task's producer, and both committed that input.
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import { followTopic } from '../support/read.js';

const PARTITIONS = 4;
const apps = appProcesses();

/** The tasks of the last assignment an app printed, or undefined before its first. */
function lastTasks(app: AppProcess): string[] | undefined {
  let tasks: string[] | undefined;
  for (const line of app.output().split('\n')) {
    if (!line.includes('"event":"assigned"')) continue;
    tasks = (JSON.parse(line) as { tasks: string[] }).tasks;
  }
  return tasks;
}

const countInput = (i: number) => ({ key: `key-${(i * 7919) % 500}`, value: 'x' });

interface Output {
  key: string | null;
  value: string | null;
  partition: number;
  offset: string;
}

const cases = [
  {
    name: 'stateless (word-split)',
    script: 'examples/word-split/app.ts',
    /** One word per input: each input's output is that word, once. */
    input: (i: number) => ({ key: `k${i % 97}`, value: `w${i}` }),
    check(outputs: Output[], total: number) {
      const seen = new Map<string, string[]>();
      for (const o of outputs) seen.set(o.key!, [...(seen.get(o.key!) ?? []), `${o.partition}@${o.offset}`]);
      // Where each repeated word sits in the output: a real duplicate has offsets of its own.
      const repeated = [...seen].filter(([, at]) => at.length !== 1);
      expect(
        repeated.slice(0, 10),
        `words output more than once (${repeated.length} of them, at partition@offset)`,
      ).toEqual([]);
      expect(seen.size).toBe(total);
    },
  },
  {
    name: 'stateful (word-count)',
    script: 'examples/word-count/app.ts',
    input: countInput,
    check(outputs: Output[], total: number) {
      const counts = new Map<string, number[]>();
      for (const o of outputs) counts.set(o.key!, [...(counts.get(o.key!) ?? []), Number(o.value)]);
      const expected = new Map<string, number>();
      for (let i = 0; i < total; i++) {
        const { key } = countInput(i);
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
      for (const [key, n] of expected) {
        expect(counts.get(key), `counts output for ${key}`).toEqual(
          Array.from({ length: n }, (_, i) => i + 1),
        );
      }
    },
  },
];

describe('exactly-once with a paused member (zombie)', () => {
  for (const c of cases) {
    it(`outputs exactly one result per input when a member resumes after its tasks moved: ${c.name}`, async () => {
      const input = uniqueName('zombie-in');
      const output = uniqueName('zombie-out');
      const applicationId = uniqueName('zombie-app');
      await createTopics([
        { topic: input, numPartitions: PARTITIONS },
        { topic: output, numPartitions: PARTITIONS },
      ]);
      const outputs: Output[] = [];
      const reader = await followTopic(output, (r) => outputs.push(r), { readCommitted: true });
      const producer = testProducer();
      await producer.connect();
      let produced = 0;
      let producing = true;
      // Input keeps arriving until A has resumed and run again, so A has work in hand when it is paused and when
      // it resumes.
      const feeding = (async () => {
        while (producing) {
          await producer.send({
            topic: input,
            messages: Array.from({ length: 20 }, (_, j) => c.input(produced + j)),
          });
          produced += 20;
          await new Promise((r) => setTimeout(r, 50));
        }
      })();

      const env = () => ({
        KAFKA_BROKERS: brokerList().join(','),
        APPLICATION_ID: applicationId,
        STATE_DIR: apps.stateDir(),
        PROCESSING_GUARANTEE: 'exactly-once',
        SESSION_TIMEOUT_MS: '6000',
        COMMIT_INTERVAL_MS: '200',
      });
      const a = apps.start(c.script, [input, output], env());
      try {
        await waitFor(() => (lastTasks(a)?.length ?? 0) === PARTITIONS, { what: 'A holding every task' });
        const b = apps.start(c.script, [input, output], env());
        await waitFor(() => (lastTasks(b)?.length ?? 0) > 0 && (lastTasks(a)?.length ?? 0) < PARTITIONS, {
          what: 'A and B sharing the tasks',
        });
        await waitFor(() => outputs.length > 300, { what: 'outputs from both' });

        a.child.kill('SIGSTOP');
        await waitFor(() => lastTasks(b)?.length === PARTITIONS, {
          timeoutMs: 60_000,
          what: 'B holding every task after A missed its session',
        });
        // Resume A as soon as B processes with every task: B has read the committed offsets of A's partitions, and
        // may not have created their tasks yet (that is where the duplicates came from).
        const atTakeover = outputs.length;
        await waitFor(() => outputs.length > atTakeover, { what: 'output from B holding every task' });
        a.child.kill('SIGCONT');
        const atResume = outputs.length;
        await waitFor(() => outputs.length > atResume + 300, { what: 'more output after A resumed' });
        producing = false;
        await feeding;
        const total = produced;
        await waitFor(() => outputs.length >= total, { timeoutMs: 120_000, what: `${total} outputs` });
        // Give a zombie's late commit the time to show up before the output is checked.
        const marker = `~marker-${applicationId}`;
        await producer.send({ topic: output, messages: [{ key: marker, value: '0', partition: 0 }] });
        await waitFor(() => outputs.some((o) => o.key === marker), { what: 'the marker' });
        b.child.kill('SIGTERM');
        expect(await b.exited, b.output()).toBe(0);
        a.child.kill('SIGTERM');
        await a.exited;
        await producer.send({
          topic: output,
          messages: [{ key: `${marker}-end`, value: '0', partition: 0 }],
        });
        await waitFor(() => outputs.some((o) => o.key === `${marker}-end`), { what: 'the last marker' });

        try {
          c.check(
            outputs.filter((o) => !o.key?.startsWith('~marker')),
            total,
          );
        } catch (err) {
          // Both apps' logs, to tell which instance wrote what and when.
          mkdirSync('.tmp', { recursive: true });
          writeFileSync(`.tmp/${applicationId}-a.log`, a.output());
          writeFileSync(`.tmp/${applicationId}-b.log`, b.output());
          throw err;
        }
        const [committed] = await withAdmin((adm) =>
          adm.fetchOffsets({ groupId: applicationId, topics: [input] }),
        );
        expect(committed!.partitions.reduce((sum, p) => sum + Number(p.offset), 0)).toBe(total);
      } finally {
        producing = false;
        await feeding.catch(() => undefined);
        await producer.disconnect();
        await reader.stop();
        a.child.kill('SIGCONT');
      }
    }, 300_000);
  }
});
