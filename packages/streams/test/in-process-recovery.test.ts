// A running app that lost Kafka reconnects in-process only once its old tasks' state is released (their stores
// closed, their locks free), not waiting for old clients slow to close, and not stopped by what fails in the tasks it
// releases; a release that never ends stops it with STATE_RELEASE_TIMEOUT instead. Run on the in-memory Kafka: a
// restore held on its changelog read stands for a batch stuck on a lost connection.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Serdes, StreamsApp, StreamsBuilder, type StreamsError } from '../src/index.js';
import { clusterWithStoredCount } from './stored-count.js';

const APP = 'recover';
const CHANGELOG = `${APP}-counts-changelog`;
const CLOSE_TIMEOUT_MS = 300;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** Words shouted (stateless, so its tasks commit while the other subtopology restores) and clicks counted. */
function topology() {
  const b = new StreamsBuilder();
  const strings = { keySerde: Serdes.string(), valueSerde: Serdes.string() };
  b.stream('words', strings)
    .mapValues((w) => w?.toUpperCase() ?? null)
    .to('shouted', strings);
  b.stream('clicks', strings)
    .groupByKey({ keySerde: Serdes.string() })
    .count({ name: 'counts' })
    .toStream()
    .mapValues((n) => String(n))
    .to('counted', strings);
  return b.build();
}

const SLOW_RELEASE = 'releasing the old tasks takes long; closing the clients under them';

/**
 * An app whose count tasks restore a changelog that already holds records, with the changelog read held (until the
 * app says its release takes long, with `releaseWhenSlow`; else for the whole test); a commit of the shouting tasks
 * times out, which makes the running app reconnect in-process.
 */
async function appLosingKafkaWhileRestoring(
  releaseWhenSlow: boolean,
  {
    heldReadFails = false,
    lostBy = 'commit' as 'commit' | 'consumer',
    holdRead = true,
    consumerCloseHangs = false,
  } = {},
) {
  const { kafka, factory, producer } = await clusterWithStoredCount(
    ['words', 'shouted', 'clicks', 'counted'],
    CHANGELOG,
  );
  cleanups.push(() => producer.close());
  let releaseRead: () => void = () => {};
  if (holdRead)
    kafka.faults.delayNext('read', new Promise<void>((r) => (releaseRead = r)), { target: CHANGELOG });
  // The held read, once let go, fails with an error that would stop a running app (not a lost connection).
  if (heldReadFails) kafka.faults.failNext('read', new Error('the held read failed'), { target: CHANGELOG });
  cleanups.push(async () => releaseRead());
  if (consumerCloseHangs) {
    // As a consumer leaving a group whose broker is down: its close does not end while the test runs.
    let endClose!: () => void;
    kafka.faults.delayNext('close', new Promise<void>((r) => (endClose = r)), { target: APP });
    cleanups.push(async () => endClose());
  }
  if (lostBy === 'commit') kafka.faults.failNext('commit', 'REQUEST_TIMED_OUT', { target: APP });
  const warnings: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'eddy-recover-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const app = new StreamsApp(
    topology(),
    {
      applicationId: APP,
      brokers: ['memory:9092'],
      stateDir: dir,
      commitIntervalMs: 1,
      closeTimeoutMs: CLOSE_TIMEOUT_MS,
      retryBackoff: { initialMs: 10, maxMs: 50 },
      logger: {
        debug() {},
        info() {},
        error() {},
        warn: (message: string) => {
          warnings.push(message);
          // Right when it is said, not when a poll notices it: the app gives the release only closeTimeoutMs more.
          if (releaseWhenSlow && message === SLOW_RELEASE) releaseRead();
        },
      },
    },
    { clientFactory: factory },
  );
  cleanups.push(() => app.close());
  const errors: StreamsError[] = [];
  app.onError((e) => errors.push(e));
  await app.start();
  await producer.send([{ topic: 'words', key: Buffer.from('w'), value: Buffer.from('hello') }]);
  if (lostBy === 'consumer') {
    // The consumer's rejoin fails: it crashes, the thread itself saw nothing fail.
    kafka.faults.failNext('join', 'NETWORK_EXCEPTION', { target: APP });
    kafka.rebalance(APP);
  }
  const shouted = () => kafka.partition('shouted', 0).highWatermark;
  const counted = () => kafka.topicRecords('counted').map((r) => `${r.key}=${r.value}`);
  return { app, producer, warnings, errors, shouted, counted };
}

const waitOpts = { timeout: 10_000, interval: 10 };

// Each test waits through a recovery's timeouts; under a loaded machine that takes seconds.
describe('in-process recovery after Kafka was lost', { timeout: 30_000 }, () => {
  it('waits for the old tasks to release their state, closing the clients under them, then runs again', async () => {
    const { app, producer, warnings, errors, shouted, counted } = await appLosingKafkaWhileRestoring(true);
    // The held restore keeps the old count task open past closeTimeoutMs: the app says so, closes its clients and
    // waits on; the read, let go then, ends (or fails on its closed reader), and the old task's state is released.
    await vi.waitFor(() => expect(warnings).toContain(SLOW_RELEASE), waitOpts);
    await vi.waitFor(() => expect(['RUNNING', 'ERROR']).toContain(app.state), waitOpts);
    expect(errors.map((e) => `${e.code}: ${e.message}`)).toEqual([]);
    expect(app.state).toBe('RUNNING');
    expect(warnings.slice(0, 2)).toEqual(['lost Kafka while running; reconnecting in-process', SLOW_RELEASE]);
    await producer.send([{ topic: 'clicks', key: Buffer.from('k'), value: Buffer.from('c') }]);
    await producer.send([{ topic: 'words', key: Buffer.from('w'), value: Buffer.from('again') }]);
    await vi.waitFor(() => expect(shouted()).toBeGreaterThanOrEqual(2n), waitOpts);
    // The new task restored the stored count before counting on.
    await vi.waitFor(() => expect(counted()).toEqual(['k=2']), waitOpts);
    expect(app.state).toBe('RUNNING');
    expect(errors).toEqual([]);
  });

  it('ignores what fails in the released tasks: their restore failing during the reconnect does not stop the app', async () => {
    // Lost through the consumer, so the old thread has not failed itself: its restore's failure would be its first.
    const { app, producer, warnings, errors, counted } = await appLosingKafkaWhileRestoring(true, {
      heldReadFails: true,
      lostBy: 'consumer',
    });
    await vi.waitFor(() => expect(warnings).toContain(SLOW_RELEASE), waitOpts);
    await vi.waitFor(() => expect(['RUNNING', 'ERROR']).toContain(app.state), waitOpts);
    await producer.send([{ topic: 'clicks', key: Buffer.from('k'), value: Buffer.from('c') }]);
    await vi.waitFor(
      () => expect({ state: app.state, counted: counted() }).toEqual({ state: 'RUNNING', counted: ['k=2'] }),
      waitOpts,
    );
    expect(errors.map((e) => `${e.code}: ${e.message}`)).toEqual([]);
    expect(app.state).toBe('RUNNING');
  });

  it('runs again once the old state is released, while the old consumer is still closing', async () => {
    const { app, producer, warnings, errors, shouted, counted } = await appLosingKafkaWhileRestoring(true, {
      holdRead: false,
      consumerCloseHangs: true,
    });
    await vi.waitFor(
      () => expect(warnings).toContain('lost Kafka while running; reconnecting in-process'),
      waitOpts,
    );
    await producer.send([{ topic: 'clicks', key: Buffer.from('k'), value: Buffer.from('c') }]);
    await producer.send([{ topic: 'words', key: Buffer.from('w'), value: Buffer.from('again') }]);
    await vi.waitFor(() => expect(shouted()).toBeGreaterThanOrEqual(2n), waitOpts);
    await vi.waitFor(
      () => expect({ state: app.state, counted: counted() }).toEqual({ state: 'RUNNING', counted: ['k=2'] }),
      waitOpts,
    );
    expect(errors.map((e) => `${e.code}: ${e.message}`)).toEqual([]);
    // The state was free: nothing was slow to release.
    expect(warnings).not.toContain(SLOW_RELEASE);
  });

  it('stops with STATE_RELEASE_TIMEOUT when the old state is still held after its clients were closed', async () => {
    const { app, warnings, errors } = await appLosingKafkaWhileRestoring(false);
    await vi.waitFor(() => expect(app.state).toBe('ERROR'), waitOpts);
    expect(warnings).toContain('lost Kafka while running; reconnecting in-process');
    expect(errors.map((e) => e.code)).toEqual(['STATE_RELEASE_TIMEOUT']);
    expect(errors[0]!.cause).toMatchObject({ code: 'COMMIT_FAILED' });
    // The app does not start again on its own; close() still ends it.
    await app.close();
    expect(app.state).toBe('ERROR');
  });
});
