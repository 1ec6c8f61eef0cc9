// The whole cluster (a private single broker) goes down mid-stream and comes back: an app with the default
// `retryBackoff` stays up, not ready meanwhile, resumes without a rebalance storm, and ends with exact results. An app
// started during the outage waits for the broker by default, or fails at `startTimeoutMs` with BROKER_UNREACHABLE
// with `retryBackoff: false`.
// By default (CI) the outage lasts 15 s, under exactly-once; EDDY_LONG_FAULTS=1 makes it 70 s, under both guarantees.
import { StreamsApp, type StreamsConfig, type StreamsState } from '@eddy/streams';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { uniqueName, waitFor, withAdmin } from '../support/kafka.js';
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

const LONG = process.env.EDDY_LONG_FAULTS === '1';
const OUTAGE_MS = LONG ? 70_000 : 15_000;
const GUARANTEES = LONG ? (['at-least-once', 'exactly-once'] as const) : (['exactly-once'] as const);
const PARTITIONS = 2;
const apps = inProcessApps();
let broker: PrivateBroker;

beforeAll(async () => {
  broker = await privateBroker();
  await broker.start();
  // The test's own clients (input, output reader, admin) use the broker's direct listener.
  process.env.KAFKA_BROKERS = broker.direct.join(',');
}, 180_000);

afterAll(() => broker?.close(), 60_000);

interface Logged {
  message: string;
  fields: Record<string, unknown> | undefined;
}

function countApp(input: string, output: string, overrides: Partial<StreamsConfig>) {
  const logs: Logged[] = [];
  const record = (message: string, fields?: Record<string, unknown>) => logs.push({ message, fields });
  const applicationId = uniqueName('outage');
  const stateDir = apps.stateDir();
  const app = new StreamsApp(offsetCountTopology(input, output), {
    applicationId,
    brokers: broker.proxied,
    stateDir,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    commitIntervalMs: 200,
    startTimeoutMs: 5_000,
    connectionTimeoutMs: 1_000,
    requestTimeoutMs: 5_000,
    clientLogLevel: 'nothing',
    http: { port: 0, host: '127.0.0.1' },
    // Several apps run in this process: each its own metrics.
    metrics: { registry: new Registry() },
    logger: { debug: () => {}, info: record, warn: record, error: record },
    ...overrides,
  });
  const states: StreamsState[] = [];
  app.onStateChange((next) => states.push(next));
  return { app: apps.track(app), applicationId, stateDir, logs, states };
}

async function readyz(app: StreamsApp): Promise<number> {
  const { host, port } = app.httpAddress!;
  return (await fetch(`http://${host}:${port}/readyz`)).status;
}

/** The input, the output and the output of the app started during the outage, each with a leader. */
async function topics(): Promise<{ input: string; output: string; lateOutput: string }> {
  const names = {
    input: uniqueName('outage-in'),
    output: uniqueName('outage-out'),
    lateOutput: uniqueName('late-out'),
  };
  const all = Object.values(names);
  // One request, then wait for the leaders here: a broker that just started can answer a metadata request for a
  // topic it has not loaded yet with an error that kafkajs' own wait does not retry.
  await withAdmin((a) =>
    a.createTopics({ topics: all.map((topic) => ({ topic, numPartitions: PARTITIONS })) }),
  );
  await waitFor(
    () =>
      withAdmin(async (a) => {
        const { topics: meta } = await a.fetchTopicMetadata({ topics: all });
        return meta.every(
          (t) => t.partitions.length === PARTITIONS && t.partitions.every((p) => p.leader >= 0),
        );
      }),
    { what: 'leaders for the topics' },
  );
  return names;
}

describe.each(GUARANTEES)('the cluster down mid-stream (%s)', (guarantee) => {
  it(
    `stays up and not ready through a ${OUTAGE_MS / 1000} s outage, resumes without a rebalance storm, exact results`,
    async () => {
      const { input, output, lateOutput } = await topics();
      // The default retryBackoff: nothing set.
      const { app, applicationId, stateDir, logs, states } = countApp(input, output, {
        processingGuarantee: guarantee,
      });
      const out = await followOutput(output, { readCommitted: guarantee === 'exactly-once' });
      const steady = await steadyInput(input, { keys: 40, perSend: 20 });
      try {
        await app.start();
        await waitFor(() => out.records.size >= 500, { what: '500 outputs before the outage' });
        const before = { generation: app.metrics.generationId, rebalances: app.metrics.rebalances };

        await steady.pause();
        await broker.stop();
        const downAt = Date.now();
        await waitFor(async () => (await readyz(app)) === 503, {
          what: 'the app to report not ready',
          timeoutMs: OUTAGE_MS + 60_000,
        });
        const noticedMs = Date.now() - downAt;

        // Started now, one app waits for the broker (the default), one gives up at startTimeoutMs (opted out).
        const late = countApp(input, lateOutput, { processingGuarantee: guarantee });
        const lateStarted = late.app.start();
        lateStarted.catch(() => undefined);
        const startTimeoutMs = 3_000;
        const strict = countApp(input, lateOutput, {
          processingGuarantee: guarantee,
          startTimeoutMs,
          retryBackoff: false,
        });
        const strictAt = Date.now();
        const strictFailure = strict.app.start().then(
          () => undefined,
          (err: unknown) => ({ err, tookMs: Date.now() - strictAt }),
        );

        // Down for the whole outage: not ready, never ERROR.
        while (Date.now() - downAt < OUTAGE_MS) {
          expect(await readyz(app)).toBe(503);
          expect(app.state).not.toBe('ERROR');
          await new Promise((r) => setTimeout(r, 1_000));
        }
        const strictEnd = await strictFailure;
        console.log(`${guarantee}: without retryBackoff, start failed after ${strictEnd?.tookMs} ms`);
        expect(strictEnd?.err).toMatchObject({ code: 'BROKER_UNREACHABLE' });
        expect(strict.app.state).toBe('ERROR');
        // Not before the timeout, nor long after it: start's own guard is the timeout plus 5 s.
        expect(strictEnd!.tookMs).toBeGreaterThanOrEqual(startTimeoutMs - 100);
        expect(strictEnd!.tookMs).toBeLessThanOrEqual(startTimeoutMs + 6_000);
        expect(late.app.state).toBe('REBALANCING');
        expect(await readyz(late.app)).toBe(503);
        expect(
          late.logs.filter((l) => l.message === 'Kafka is unreachable; trying again in-process').length,
        ).toBeGreaterThan(0);
        const retries = logs.filter(
          (l) => l.message === 'Kafka is unreachable; trying again in-process',
        ).length;
        await broker.start();
        const upAt = Date.now();
        steady.resume();
        await waitFor(async () => (await readyz(app)) === 200, { what: 'ready again', timeoutMs: 120_000 });
        const readyAfterMs = Date.now() - upAt;
        await lateStarted;
        const lateOut = await followOutput(lateOutput, { readCommitted: guarantee === 'exactly-once' });
        const sentAtReady = steady.total();
        await waitFor(() => steady.total() >= sentAtReady + 1_000, {
          what: '1000 more inputs after the outage',
        });
        await steady.stop();
        await waitFor(
          async () => {
            const committed = await committedOffsets(applicationId, input);
            if (coversAll(out, steady.sent) && committed === steady.total()) return true;
            // What a timed-out wait reports.
            throw new Error(
              `output covers all: ${coversAll(out, steady.sent)} (${out.records.size} records, reader crashes: ` +
                `${out.crashes.join('; ') || 'none'}); committed ${committed} of ${steady.total()}; app ${app.state}`,
            );
          },
          { what: 'the app to process and commit all input', timeoutMs: 120_000 },
        );
        await waitFor(
          async () =>
            coversAll(lateOut, steady.sent) &&
            (await committedOffsets(late.applicationId, input)) === steady.total(),
          { what: 'the app started during the outage to process and commit all input', timeoutMs: 120_000 },
        );
        checkExact(lateOut, steady.sent);
        await lateOut.stop();
        expect(late.states).not.toContain('ERROR');
        const after = { generation: app.metrics.generationId, rebalances: app.metrics.rebalances };
        const { duplicates } = checkExact(out, steady.sent);
        const recoveries = logs.filter(
          (l) => l.message === 'lost Kafka while running; reconnecting in-process',
        ).length;
        console.log(
          `${guarantee}: outage ${OUTAGE_MS} ms, not ready after ${noticedMs} ms, ${retries} retries while down, ` +
            `ready ${readyAfterMs} ms after the broker answered; generation ${before.generation} -> ` +
            `${after.generation}, rebalances ${before.rebalances} -> ${after.rebalances}; ` +
            `${recoveries} reconnects; ${steady.total()} inputs, ${out.records.size} outputs, ${duplicates} duplicates; ` +
            `output reader restarted after: ${[...out.crashes, ...lateOut.crashes].join('; ') || 'nothing'}`,
        );
        expect(states).not.toContain('ERROR');
        // One reconnect joins once more; a storm would be a join per retry.
        expect(after.generation - before.generation).toBeLessThanOrEqual(2);
        expect(after.rebalances - before.rebalances).toBeLessThanOrEqual(2);
        if (guarantee === 'exactly-once') expect(duplicates).toBe(0);
        else {
          // Only a replay repeats output, at most the input since the last commit: commits are tried every commit
          // interval, one that cannot finish gives up within the request timeout, or the member is out after the
          // session timeout; steady input sends at most 400 records a second.
          const replays = recoveries + (after.rebalances - before.rebalances);
          expect(duplicates).toBeLessThanOrEqual((replays * 400 * (200 + 5_000 + 6_000)) / 1_000);
        }
        await app.close();
        expect(await storedCounts(stateDir, applicationId, PARTITIONS)).toEqual(steady.sent);
      } finally {
        await steady.stop().catch(() => undefined);
        await out.stop();
      }
    },
    300_000 + 2 * OUTAGE_MS,
  );
});
