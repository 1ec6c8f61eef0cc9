// Crash-loop protection with real processes: a record whose processing exits the process (137) is narrowed down
// across restarts and, after `maxCrashes` consecutive crashes, dead-lettered and skipped (every other record counted
// exactly) or stops the app with POISON_RECORD; each restart after an unclean end waits before joining the group.
import { describe, expect, it } from 'vitest';
import { brokerList, createTopics, testKafka, uniqueName, waitFor } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import { followTopic, readAll } from '../support/read.js';

const apps = appProcesses();
const APP = 'test/support/apps/poison-count.ts';
const RECORDS = 400;
const POISON_AT = 217;
const KEYS = 7;

interface Event {
  event: string;
  at: number;
  [field: string]: unknown;
}

function events(app: AppProcess): Event[] {
  return app
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"event"'))
    .map((l) => JSON.parse(l) as Event);
}

/** The runtime's log entries (JSON lines on stderr) with this message. */
function logged(app: AppProcess, message: string): Record<string, unknown>[] {
  return app
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"time"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.message === message);
}

/** Input of one partition: RECORDS records over KEYS keys, the one at POISON_AT with the value "poison". */
async function produceInput(topic: string): Promise<Map<string, number>> {
  const expected = new Map<string, number>();
  const messages = Array.from({ length: RECORDS }, (_, i) => {
    if (i === POISON_AT) return { key: 'poisoned', value: 'poison' };
    const key = `key-${i % KEYS}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
    return { key, value: 'x' };
  });
  const producer = testKafka().producer();
  await producer.connect();
  await producer.send({ topic, messages });
  await producer.disconnect();
  return expected;
}

async function setUp(prefix: string) {
  const input = uniqueName(`${prefix}-in`);
  const output = uniqueName(`${prefix}-out`);
  const dlq = uniqueName(`${prefix}-dlq`);
  await createTopics([
    { topic: input, numPartitions: 1 },
    { topic: output, numPartitions: 1 },
    { topic: dlq, numPartitions: 1 },
  ]);
  const expected = await produceInput(input);
  return { input, output, dlq, expected };
}

/** Starts the app, and again each time it ends with 137, like a pod's restart policy; returns every run. */
function restartLoop(args: string[], env: Record<string, string>, maxRuns: number) {
  const runs: AppProcess[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped && runs.length < maxRuns) {
      const run = apps.start(APP, args, env);
      runs.push(run);
      const code = await run.exited;
      if (code !== 137) return code;
    }
    return undefined;
  })();
  return {
    runs,
    done,
    stop() {
      stopped = true;
    },
  };
}

describe('crash-loop protection', () => {
  it('dead-letters a record that killed the process maxCrashes times in a row, and counts every other one exactly', async () => {
    const { input, output, dlq, expected } = await setUp('poison');
    const latest = new Map<string, number>();
    const reader = await followTopic(output, ({ key, value }) => latest.set(key!, Number(value)));
    const env = {
      KAFKA_BROKERS: brokerList().join(','),
      APPLICATION_ID: uniqueName('poison-count'),
      STATE_DIR: apps.stateDir(),
      CRASH_LOOP_ACTION: 'dead-letter',
      MAX_CRASHES: '3',
      DEAD_LETTER_TOPIC: dlq,
      BACKOFF_INITIAL_MS: '400',
      BACKOFF_MAX_MS: '1200',
    };
    const loop = restartLoop([input, output], env, 6);
    try {
      await waitFor(() => [...expected].every(([k, n]) => latest.get(k) === n), {
        timeoutMs: 120_000,
        what: 'exact counts of every key',
      });
      // Three runs died at the poison record; the fourth dead-lettered it and went on.
      expect(loop.runs).toHaveLength(4);
      for (const run of loop.runs.slice(0, 3)) {
        expect(
          events(run)
            .filter((e) => e.event === 'poison-exit')
            .map((e) => e.offset),
        ).toEqual([String(POISON_AT)]);
      }
      const [dead] = await readAll(dlq, 1, { settleMs: 1_000 });
      expect(dead).toMatchObject({ key: 'poisoned', value: 'poison' });
      expect(dead!.headers['eddy.error.code']).toBe('POISON_RECORD');
      expect(dead!.headers['eddy.source.offset']).toBe(String(POISON_AT));
      expect(dead!.headers['eddy.source.topic']).toBe(input);
      expect(latest.has('poisoned')).toBe(false);

      // (c) Every restart after an unclean end waited before joining: at least half of its capped, doubling delay.
      for (const [i, run] of loop.runs.entries()) {
        const backoff = logged(run, 'backing off before joining the group after recent unclean restarts');
        if (i === 0) {
          expect(backoff).toEqual([]);
          continue;
        }
        expect(backoff).toHaveLength(1);
        const cap = Math.min(1200, 400 * 2 ** (i - 1));
        expect(backoff[0]!.recentRestarts).toBe(i);
        expect(backoff[0]!.delayMs).toBeGreaterThanOrEqual(cap / 2);
        expect(backoff[0]!.delayMs).toBeLessThanOrEqual(cap);
        const started = events(run).find((e) => e.event === 'started')!.at;
        const assigned = events(run).find((e) => e.event === 'assigned')!.at;
        expect(assigned - started).toBeGreaterThanOrEqual(backoff[0]!.delayMs as number);
      }
    } finally {
      loop.stop();
      for (const run of loop.runs) run.child.kill('SIGTERM');
      await loop.done;
      await reader.stop();
    }
    // A clean stop after the commit past the record: the next start neither waits nor skips anything.
    const again = apps.start(APP, [input, output], env);
    await waitFor(() => events(again).some((e) => e.event === 'assigned'), {
      what: 'the next start to join',
    });
    expect(logged(again, 'backing off before joining the group after recent unclean restarts')).toEqual([]);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it("stops with POISON_RECORD after maxCrashes crashes at one record when the action is 'fail'", async () => {
    const { input, output } = await setUp('poison-fail');
    const env = {
      KAFKA_BROKERS: brokerList().join(','),
      APPLICATION_ID: uniqueName('poison-fail'),
      STATE_DIR: apps.stateDir(),
      CRASH_LOOP_ACTION: 'fail',
      MAX_CRASHES: '2',
      BACKOFF_INITIAL_MS: '200',
      BACKOFF_MAX_MS: '400',
    };
    const loop = restartLoop([input, output], env, 5);
    expect(await loop.done).toBe(1);
    expect(loop.runs).toHaveLength(3);
    const last = loop.runs[2]!;
    const error = events(last).find((e) => e.event === 'error');
    expect(error).toMatchObject({
      code: 'POISON_RECORD',
      position: { topic: input, partition: 0, offset: String(POISON_AT) },
    });
    // It stopped before joining the group: it never got an assignment.
    expect(events(last).some((e) => e.event === 'assigned')).toBe(false);
  });
});
