// The scenario of the rekeyed-count crash tests: orders stream in, an app process that counts them per customer
// (through a repartition topic) is SIGKILLed mid-stream and restarted on its volume, and the test gets back the
// counts its stores hold and every count its output topic received.
import { expect } from 'vitest';
import { brokerList, createTopics, testKafka, uniqueName, waitFor, withAdmin } from './kafka.js';
import type { AppProcess, appProcesses } from './processes.js';
import { followTopic } from './read.js';
import { type CountFormat, readCounts } from './state.js';

export interface RekeyCrashOptions {
  /** The app: `<script> <input> <output>`, configured as `apps/run-from-env.ts` says; counts orders per customer. */
  script: string;
  guarantee: 'at-least-once' | 'exactly-once';
  prefix: string;
  inputPartitions: number;
  customers: number;
  /** Twice the orders sent after the restart; before it, orders come until the first process is gone. */
  total: number;
}

export interface RekeyCrashRun {
  applicationId: string;
  stateDir: string;
  /** The number of orders per customer. */
  expected: Map<string, number>;
  /** Per customer, every count the output received (read_committed under exactly-once), in order. */
  outputs: Map<string, number[]>;
}

/** Sum of the offsets `groupId` committed on `topic`. */
export async function committedOffsets(groupId: string, topic: string): Promise<number> {
  const [offsets] = await withAdmin((a) => a.fetchOffsets({ groupId, topics: [topic] }));
  return offsets!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** Reads the counts of the store `store` of every task of `subtopology` straight from a state directory. */
export async function countsIn(
  dir: string,
  applicationId: string,
  {
    store,
    subtopology,
    partitions,
    format,
  }: { store: string; subtopology: number; partitions: number; format: CountFormat },
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let partition = 0; partition < partitions; partition++) {
    const taskId = `${subtopology}_${partition}`;
    for (const [key, n] of await readCounts(dir, applicationId, { name: store, taskId, partition, format })) {
      counts.set(key, n);
    }
  }
  return counts;
}

/**
 * Under at-least-once the first process SIGKILLs itself after the output of its second commit (the rekeyed orders in
 * the repartition topic among it) was acknowledged and before its input offsets were committed, so the restarted
 * process writes those orders to the repartition topic again; under exactly-once it is SIGKILLed once its output
 * counts 500 orders. Resolves once the second process committed all input, output every final count, and closed cleanly.
 */
export async function runRekeyCrash(
  apps: ReturnType<typeof appProcesses>,
  { script, guarantee, prefix, inputPartitions, customers, total }: RekeyCrashOptions,
): Promise<RekeyCrashRun> {
  const input = uniqueName(`${prefix}-orders`);
  const output = uniqueName(`${prefix}-counts`);
  const applicationId = uniqueName(prefix);
  await createTopics([
    { topic: input, numPartitions: inputPartitions },
    { topic: output, numPartitions: inputPartitions },
  ]);
  const customerOf = (i: number) => `c${(i * 7) % customers}`;

  const outputs = new Map<string, number[]>();
  const reader = await followTopic(
    output,
    ({ key, value }) => {
      outputs.set(key!, [...(outputs.get(key!) ?? []), Number(value)]);
    },
    { readCommitted: guarantee === 'exactly-once' },
  );

  const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let produced = 0;
  /** Produces orders up to `until` in small chunks, as a steady stream, or until `done` says so. */
  const produce = async (until: number, done: () => boolean = () => false) => {
    while (produced < until && !done()) {
      const chunk = Array.from({ length: 100 }, (_, j) => ({
        key: `o${produced + j}`,
        value: customerOf(produced + j),
      }));
      await producer.send({ topic: input, messages: chunk });
      produced += chunk.length;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  // Input keeps coming until the first process is gone (up to ten times `total`): a process that starts late, on a
  // loaded machine, could otherwise find all of it there, count it within one commit interval and never reach the
  // second commit it kills itself at.
  let firstGone = false;
  let producing = produce(total * 10, () => firstGone);

  const stateDir = apps.stateDir();
  const env = {
    KAFKA_BROKERS: brokerList().join(','),
    APPLICATION_ID: applicationId,
    STATE_DIR: stateDir,
    PROCESSING_GUARANTEE: guarantee,
    COMMIT_INTERVAL_MS: '200',
    SESSION_TIMEOUT_MS: '6000',
    REPARTITION_PURGE_INTERVAL_MS: '200',
  };
  try {
    if (guarantee === 'at-least-once') {
      const first = apps.start(script, [input, output], {
        ...env,
        CRASH_PHASE: 'outputs-acked',
        CRASH_AT_COMMIT: '2',
      });
      void first.exited.finally(() => {
        firstGone = true;
      });
      const exit = await exitOf(first, 'the first process to kill itself at its second commit').catch(
        async (err: Error) => {
          const committed = await committedOffsets(applicationId, input).catch(() => 'unknown');
          throw new Error(`${err.message}\n(input committed ${committed} of ${produced} produced)`);
        },
      );
      expect(exit).toBe('SIGKILL');
      expect(first.output()).toContain('"phase":"outputs-acked"');
    } else {
      const first = apps.start(script, [input, output], env);
      // Counts are what the output holds per customer (with caching, several orders may give one output).
      await waitFor(() => [...outputs.values()].reduce((n, v) => n + (v.at(-1) ?? 0), 0) >= 500, {
        what: 'the first process to count 500 orders',
      });
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
    }

    // Half of `total` more arrives while the restarted process catches up.
    firstGone = true;
    await producing;
    producing = produce(produced + total / 2);
    const second = apps.start(script, [input, output], env);
    await producing;
    const expected = new Map<string, number>();
    for (let i = 0; i < produced; i++) expected.set(customerOf(i), (expected.get(customerOf(i)) ?? 0) + 1);
    // Done once every order's input offset is committed and every customer's count has reached its total.
    await waitFor(
      async () =>
        [...expected].every(([c, n]) => (outputs.get(c)?.at(-1) ?? 0) >= n) &&
        (await committedOffsets(applicationId, input)) === produced,
      { timeoutMs: 120_000, what: 'the app to commit all of its input and count every order' },
    );
    second.child.kill('SIGTERM');
    expect(await exitOf(second, 'the second process to close on SIGTERM'), second.output()).toBe(0);
    return { applicationId, stateDir, expected, outputs };
  } finally {
    await producing.catch(() => undefined);
    await producer.disconnect();
    await reader.stop();
  }
}

/** How `app` exited; rejects with the end of its output when it has not within `timeoutMs`. */
async function exitOf(app: AppProcess, what: string, timeoutMs = 120_000): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      app.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}; its output ends:\n${app.output().slice(-3_000)}`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
