// The stateful scenario of the fault tests: orders stream in steadily, app processes count them per customer through a
// repartition topic (test/support/apps/dsl-rekey-count.ts) on the three-node cluster, the test fails brokers meanwhile,
// and at the end checks exact counts: in the stores under at-least-once, in the committed output under exactly-once.
import { expect } from 'vitest';
import { restartNode, runningNodes } from '../../kafka/cluster.mjs';
import { DSL_COUNT_STORE } from '../../support/apps/dsl-rekey-count.js';
import { createTopics, testProducer, uniqueName, waitFor } from '../../support/kafka.js';
import type { AppProcess, appProcesses } from '../../support/processes.js';
import { followTopic } from '../../support/read.js';
import { committedOffsets, countsIn } from '../../support/rekey-crash.js';

export type Guarantee = 'at-least-once' | 'exactly-once';

const SCRIPT = 'test/support/apps/dsl-rekey-count.ts';
export const PARTITIONS = 3;
const CUSTOMERS = 40;

export interface FaultRun {
  readonly applicationId: string;
  readonly input: string;
  /** Orders sent so far. */
  produced(): number;
  /** Orders counted so far: the sum of every customer's last output count. */
  counted(): number;
  /** Waits until `more` orders more than now are counted (the app makes progress). */
  progress(more: number, what: string): Promise<void>;
  /** Starts an app process with its own state directory. */
  startApp(): { app: AppProcess; stateDir: string };
  /** Stops the input, waits for every count, closes every app cleanly and checks the results. */
  finish(): Promise<void>;
}

/** Creates the topics, starts the input stream and one app process; `finish()` ends the run with the exact check. */
export async function startFaultRun(
  apps: ReturnType<typeof appProcesses>,
  guarantee: Guarantee,
  prefix: string,
  { retryBackoff = true } = {},
): Promise<FaultRun> {
  const input = uniqueName(`${prefix}-orders`);
  const output = uniqueName(`${prefix}-counts`);
  const applicationId = uniqueName(prefix);
  // Replication factor 3 and min.insync.replicas 2: the cluster's defaults.
  await createTopics([
    { topic: input, numPartitions: PARTITIONS },
    { topic: output, numPartitions: PARTITIONS },
  ]);
  const customerOf = (i: number) => `c${(i * 7) % CUSTOMERS}`;

  const outputs = new Map<string, number[]>();
  const reader = await followTopic(
    output,
    ({ key, value }) => {
      outputs.set(key!, [...(outputs.get(key!) ?? []), Number(value)]);
    },
    { readCommitted: guarantee === 'exactly-once' },
  );
  const counted = () => [...outputs.values()].reduce((n, v) => n + (v.at(-1) ?? 0), 0);

  // The input producer retries within a send for long enough to ride out a leader election (the same sequence
  // numbers, so a retried batch is written once). A send writes its 10 orders to up to 3 partitions; `produced` counts
  // them once the send resolved, which with acks=all, min.insync.replicas=2 and no unclean election means all are
  // written. Unpatched kafkajs broke that: a partition whose leader moved mid-send to a broker that had already
  // answered for another partition was never retried, and the send resolved without it (6,160 sent, 6,154 in the
  // topic after the coordinator's node was killed; docs/kafkajs-patch.md).
  const producer = testProducer({ retry: { retries: 100, initialRetryTime: 200, maxRetryTime: 2_000 } });
  await producer.connect();
  let produced = 0;
  let producing = true;
  const loop = (async () => {
    while (producing) {
      const chunk = Array.from({ length: 10 }, (_, j) => ({
        key: `o${produced + j}`,
        value: customerOf(produced + j),
      }));
      await producer.send({ topic: input, messages: chunk });
      produced += chunk.length;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const env = {
    KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
    APPLICATION_ID: applicationId,
    PROCESSING_GUARANTEE: guarantee,
    COMMIT_INTERVAL_MS: '200',
    SESSION_TIMEOUT_MS: '6000',
    REPARTITION_PURGE_INTERVAL_MS: '1000',
    ...(retryBackoff ? {} : { RETRY_BACKOFF: '0' }),
  };
  const started: { app: AppProcess; stateDir: string }[] = [];
  const startApp = () => {
    const stateDir = apps.stateDir();
    const app = apps.start(SCRIPT, [input, output], { ...env, STATE_DIR: stateDir });
    started.push({ app, stateDir });
    return { app, stateDir };
  };
  startApp();

  const progress = async (more: number, what: string) => {
    const target = counted() + more;
    await waitFor(
      () => {
        for (const { app } of started) {
          if (app.child.exitCode !== null || app.child.signalCode !== null) {
            throw new Error(
              `an app process ended (${app.child.exitCode ?? app.child.signalCode}):\n${app.output()}`,
            );
          }
        }
        return counted() >= target;
      },
      { timeoutMs: 120_000, failFast: true, what: `${more} more orders to be counted ${what}` },
    ).catch((err: Error) => {
      const tails = started.map(({ app }) => app.output().slice(-20_000)).join('\n---\n');
      throw new Error(`${err.message}; ${counted()} counted; app output:\n${tails}`);
    });
  };

  const finish = async () => {
    // Every node runs again before the end (a test that failed midway must not leave the next one a node short).
    for (const id of [1, 2, 3]) if (!runningNodes().includes(id)) await restartNode(id);
    producing = false;
    await loop;
    await producer.disconnect();
    const total = produced;
    const caughtUp = Date.now();
    const expected = new Map<string, number>();
    for (let i = 0; i < total; i++) expected.set(customerOf(i), (expected.get(customerOf(i)) ?? 0) + 1);
    try {
      await waitFor(
        async () =>
          [...expected].every(([c, n]) => (outputs.get(c)?.at(-1) ?? 0) >= n) &&
          (await committedOffsets(applicationId, input)) === total,
        { timeoutMs: 120_000, what: `the app to commit all ${total} orders and count every one` },
      ).catch(async (err: Error) => {
        const committed = await committedOffsets(applicationId, input).catch(() => 'unknown');
        const tails = started.map(({ app }) => app.output().slice(-4000)).join('\n---\n');
        throw new Error(
          `${err.message}; ${counted()} counted, ${committed} committed; app output:\n${tails}`,
        );
      });
      // Per instance: the assignments it received (its first, then one per rebalance it took part in) and its
      // in-process recoveries (the app lost Kafka and reconnected).
      const histories = started.map(({ app }, i) => {
        const out = app.output();
        const assigned = out.match(/"event":"assigned"/g)?.length ?? 0;
        const recovered = out.match(/lost Kafka while running/g)?.length ?? 0;
        return `instance ${i + 1}: ${assigned} assignments, ${recovered} recoveries`;
      });
      process.stderr.write(
        `[faults] ${total} orders counted and committed ${Date.now() - caughtUp} ms after the input stopped; ` +
          `${histories.join('; ')}\n`,
      );
      for (const { app } of started) {
        if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGTERM');
        expect(await app.exited, app.output()).toBe(0);
      }
    } finally {
      await reader.stop();
    }
    // Under at-least-once the stores are exact; with several instances a task that moved leaves a stale copy in
    // its previous owner's directory, with lower counts: the highest per customer is the current owner's.
    const stored = new Map<string, number>();
    for (const { stateDir } of started) {
      const counts = await countsIn(stateDir, applicationId, {
        store: DSL_COUNT_STORE,
        subtopology: 1,
        partitions: PARTITIONS,
        format: 'timestamped',
      });
      for (const [c, n] of counts) stored.set(c, Math.max(n, stored.get(c) ?? 0));
    }
    expect(stored).toEqual(expected);
    expect(new Map([...outputs].map(([c, counts]) => [c, counts.at(-1)]))).toEqual(expected);
    if (guarantee === 'exactly-once') {
      // No committed output repeats or goes back: each customer's counts rise strictly to the total.
      for (const [c, counts] of outputs) {
        expect(
          counts.every((n, i) => i === 0 || n > counts[i - 1]!),
          `${c}: ${counts.join(',')}`,
        ).toBe(true);
      }
    }
  };

  return {
    applicationId,
    input,
    produced: () => produced,
    counted,
    progress,
    startApp,
    finish,
  };
}
