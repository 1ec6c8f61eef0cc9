// A threaded app against the broker: two stream threads on worker threads share the tasks of one instance, count
// exactly, report one lifecycle, one assignment and added-up metrics, and close together.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TaskAssignment, ThreadedStreamsApp } from '@eddy/streams';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, waitFor } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const MODULE = new URL('../support/apps/threaded-word-count.ts', import.meta.url);
const apps: ThreadedStreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function produceWords(topic: string, count: number, keys: number): Promise<Map<string, number>> {
  const expected = new Map<string, number>();
  const producer = testProducer();
  await producer.connect();
  const messages = Array.from({ length: count }, (_, i) => {
    const key = `w${i % keys}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
    return { key, value: 'x' };
  });
  await producer.send({ topic, messages });
  await producer.disconnect();
  return expected;
}

describe('a threaded app (numStreamThreads 2)', () => {
  it('splits the tasks over its threads and counts every key exactly', async () => {
    const input = uniqueName('words');
    const output = uniqueName('counts');
    await createTopics([
      { topic: input, numPartitions: 6 },
      { topic: output, numPartitions: 6 },
    ]);
    const stateDir = mkdtempSync(join(tmpdir(), 'eddy-threads-'));
    const app = await ThreadedStreamsApp.load(MODULE, {
      args: [input, output, uniqueName('threaded'), stateDir, '2', brokerList().join(',')],
    });
    apps.push(app);
    const states: string[] = [];
    app.onStateChange((next) => states.push(next));
    const assignments: TaskAssignment[] = [];
    app.onAssignment((a) => assignments.push(a));
    expect(app.numStreamThreads).toBe(2);
    await app.start();
    // The input comes once both threads have their share, so that each processes some.
    await waitFor(() => app.streamThreads.every((t) => t.assignment?.active.length === 3), {
      what: 'each thread to have 3 of the 6 tasks',
    });
    const expected = await produceWords(input, 3000, 50);

    const latest = new Map<string, number>();
    for (const r of await readAll(output, 3000)) latest.set(r.key!, Number(r.value));
    expect(latest).toEqual(expected);
    await waitFor(() => app.metrics.processed === 3000, { what: 'both threads to report 3000 processed' });
    expect(app.state).toBe('RUNNING');
    // One instance: the union of its threads' tasks is every task, once.
    expect(assignments.at(-1)?.active).toEqual(['0_0', '0_1', '0_2', '0_3', '0_4', '0_5']);
    // Each thread processed the records of its own tasks.
    for (const t of app.streamThreads) expect(t.metrics.processed).toBeGreaterThan(0);
    await app.close();
    expect(app.state).toBe('NOT_RUNNING');
    expect(states).toEqual(['REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'NOT_RUNNING']);
  });
});
