// A bad network between the app and its broker: a TCP proxy (the only way the app reaches a private broker) delays
// every chunk, stalls now and then, and resets connections at random, under steady input. Nothing is lost; under
// at-least-once the duplicates stay within what the replays can repeat, under exactly-once there are none.
// EDDY_LONG_FAULTS=1 keeps the network bad for 120 s instead of 20 s.
import { StreamsApp, type StreamsState } from '@eddy/streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger } from '../support/capturing-logger.js';
import { inProcessApps } from '../support/in-process.js';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import {
  checkExact,
  coversAll,
  followOutput,
  offsetCountTopology,
  storedCounts,
} from '../support/offset-count.js';
import { type PrivateBroker, privateBroker } from '../support/private-broker.js';
import { committedOffsets } from '../support/rekey-crash.js';
import { steadyInput } from '../support/steady-input.js';

const BAD_MS = process.env.EDDY_LONG_FAULTS === '1' ? 120_000 : 20_000;
const PARTITIONS = 2;
const COMMIT_INTERVAL_MS = 200;
const REQUEST_TIMEOUT_MS = 5_000;
const SESSION_TIMEOUT_MS = 10_000;
/** Steady input sends at most 20 records per 50 ms. */
const MAX_INPUT_PER_SECOND = 400;
const apps = inProcessApps();
let broker!: PrivateBroker;

beforeAll(async () => {
  broker = await privateBroker();
  await broker.start();
  // The test's own clients (input, output reader, admin) bypass the proxy.
  process.env.KAFKA_BROKERS = broker.direct.join(',');
}, 180_000);

afterAll(() => broker?.close(), 60_000);

describe.each(['at-least-once', 'exactly-once'] as const)('a bad network to the broker (%s)', (guarantee) => {
  it(
    `loses nothing through ${BAD_MS / 1000} s of delays, stalls and resets; duplicates bounded by the replays`,
    async () => {
      const input = uniqueName('net-in');
      const output = uniqueName('net-out');
      const applicationId = uniqueName('net');
      await createTopics([
        { topic: input, numPartitions: PARTITIONS },
        { topic: output, numPartitions: PARTITIONS },
      ]);
      const logs: string[] = [];
      const details: string[] = [];
      const stateDir = apps.stateDir();
      const app = apps.track(
        new StreamsApp(offsetCountTopology(input, output), {
          applicationId,
          brokers: broker.proxied,
          stateDir,
          processingGuarantee: guarantee,
          commitIntervalMs: COMMIT_INTERVAL_MS,
          sessionTimeoutMs: SESSION_TIMEOUT_MS,
          heartbeatIntervalMs: 1_000,
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
          connectionTimeoutMs: 2_000,
          clientLogLevel: 'nothing',
          retryBackoff: { initialMs: 200, maxMs: 2_000, giveUpAfterMs: 300_000 },
          logger: capturingLogger(logs, details),
        }),
      );
      const states: StreamsState[] = [];
      app.onStateChange((s) => states.push(s));
      const out = await followOutput(output, { readCommitted: guarantee === 'exactly-once' });
      const steady = await steadyInput(input, { keys: 40, perSend: 20 });
      try {
        await app.start();
        await waitFor(() => out.records.size >= 300, { what: '300 outputs before the network degrades' });
        const before = { rebalances: app.metrics.rebalances, commits: app.metrics.commits };
        broker.proxy.degrade({
          delayMs: 20,
          jitterMs: 40,
          cutEveryMs: 3_000,
          stallEveryMs: 6_000,
          stallMs: 2_000,
        });
        const badSince = Date.now();
        const sentBefore = steady.total();
        await waitFor(() => Date.now() - badSince >= BAD_MS, {
          what: 'the bad spell',
          timeoutMs: BAD_MS + 5_000,
        });
        broker.proxy.degrade(undefined);
        const sentDuring = steady.total() - sentBefore;
        const commitsDuring = app.metrics.commits - before.commits;
        await waitFor(() => app.state === 'RUNNING', {
          what: 'the app running after the bad spell',
          timeoutMs: 120_000,
        }).catch((err: Error) => {
          throw new Error(
            `${err.message}; states ${states.join(' → ')}; last logs: ${details.slice(-10).join(' | ')}`,
          );
        });
        await steady.stop();
        await waitFor(
          async () =>
            coversAll(out, steady.sent) && (await committedOffsets(applicationId, input)) === steady.total(),
          { what: 'the app to process and commit all input', timeoutMs: 120_000 },
        );
        const recoveries = logs.filter(
          (m) => m === 'lost Kafka while running; reconnecting in-process',
        ).length;
        const rebalances = app.metrics.rebalances - before.rebalances;
        const { duplicates } = checkExact(out, steady.sent);
        const { connections, resets, stalls } = broker.proxy.stats;
        console.log(
          `${guarantee}: ${BAD_MS} ms bad network: ${resets} resets, ${stalls} stalls, ${connections} connections; ` +
            `${sentDuring} inputs and ${commitsDuring} commits meanwhile; ${recoveries} reconnects, ${rebalances} ` +
            `rebalances; ${steady.total()} inputs in all, ${duplicates} duplicate outputs`,
        );
        expect(resets).toBeGreaterThan(0);
        expect(stalls).toBeGreaterThan(0);
        expect(commitsDuring).toBeGreaterThan(0);
        expect(states).not.toContain('ERROR');
        if (guarantee === 'exactly-once') {
          expect(duplicates).toBe(0);
        } else {
          // Only a replay repeats output, and it repeats at most the input since the last commit: commits are tried
          // every commit interval, and one that cannot finish gives up within the request timeout, or the member is
          // out of the group after the session timeout.
          const replays = recoveries + rebalances;
          const perReplay =
            (MAX_INPUT_PER_SECOND * (COMMIT_INTERVAL_MS + REQUEST_TIMEOUT_MS + SESSION_TIMEOUT_MS)) / 1_000;
          expect(duplicates).toBeLessThanOrEqual(replays * perReplay);
        }
        await app.close();
        expect(await storedCounts(stateDir, applicationId, PARTITIONS)).toEqual(steady.sent);
      } finally {
        broker.proxy.degrade(undefined);
        await steady.stop().catch(() => undefined);
        await out.stop();
      }
    },
    240_000 + 2 * BAD_MS,
  );
});
