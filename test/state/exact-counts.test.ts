// Exact state under at-least-once: a counting app is SIGKILLed at the three points between the steps of its
// commit (outputs acknowledged / changelog committed / state written) and restarted on its state directory.
// Its stores end with the exact count of every key, a restart restores only the changelog's tail, and a restart
// on an empty state directory restores the same state from the changelog.
import { describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import { followTopic } from '../support/read.js';
import { storedCounts } from '../support/state.js';

const PARTITIONS = 3;
const KEYS = 300;
const TOTAL = 30_000;
const apps = appProcesses();

interface RestoreEvent {
  event: 'restore-start' | 'restore-end';
  partition: number;
  start?: string;
  end?: string;
  restored?: number;
}

function events(app: AppProcess): RestoreEvent[] {
  return app
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"event":"restore'))
    .map((l) => JSON.parse(l) as RestoreEvent);
}

/** The `counts` store of every task, read straight from a state directory. */
async function countsIn(dir: string, applicationId: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    for (const [key, n] of await storedCounts(dir, applicationId, 'counts', {
      partition,
      format: 'timestamped',
    }))
      counts.set(key, n);
  }
  return counts;
}

describe('exact counts under at-least-once with crashes', () => {
  it('keeps exact counts across three SIGKILLs, restores only the tail, and rebuilds the same state from scratch', async () => {
    const input = uniqueName('words');
    const output = uniqueName('counts');
    const applicationId = uniqueName('word-count');
    await createTopics([
      { topic: input, numPartitions: PARTITIONS },
      { topic: output, numPartitions: PARTITIONS },
    ]);
    const expected = new Map<string, number>();
    for (let i = 0; i < TOTAL; i++) {
      const key = `key-${(i * 7919) % KEYS}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }

    const latest = new Map<string, number>();
    const reader = await followTopic(output, ({ key, value }) => latest.set(key!, Number(value)));

    const producer = testProducer();
    await producer.connect();
    let produced = 0;
    const producing = (async () => {
      while (produced < TOTAL) {
        const chunk = Array.from({ length: 250 }, (_, j) => {
          const i = produced + j;
          return { key: `key-${(i * 7919) % KEYS}`, value: 'x' };
        });
        await producer.send({ topic: input, messages: chunk });
        produced += chunk.length;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    const dir = apps.stateDir();
    const env = {
      KAFKA_BROKERS: brokerList().join(','),
      APPLICATION_ID: applicationId,
      STATE_DIR: dir,
      COMMIT_INTERVAL_MS: '150',
      // A killed member stays in the group until its session times out; keep that short here.
      SESSION_TIMEOUT_MS: '6000',
    };
    const start = (crash: Record<string, string> = {}) =>
      apps.start('test/support/apps/crashing-word-count.ts', [input, output], { ...env, ...crash });
    try {
      const runs: AppProcess[] = [];
      for (const phase of ['outputs-acked', 'changelog-acked', 'state-written']) {
        const app = start({ CRASH_PHASE: phase, CRASH_AT_COMMIT: '3' });
        runs.push(app);
        expect(await app.exited, app.output()).toBe('SIGKILL');
        expect(app.output()).toContain(`"phase":"${phase}"`);
      }
      const last = start();
      runs.push(last);
      expect(produced, 'the crashes happened while input was still arriving').toBeLessThan(TOTAL);
      await producing;
      await waitFor(
        async () => {
          const [committed] = await withAdmin((a) =>
            a.fetchOffsets({ groupId: applicationId, topics: [input] }),
          );
          return committed!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) === TOTAL;
        },
        { timeoutMs: 90_000, what: 'the app to commit all of its input' },
      );
      last.child.kill('SIGTERM');
      expect(await last.exited, last.output()).toBe(0);

      // The stores hold exactly the counts of all input records: nothing lost, nothing counted twice.
      expect(await countsIn(dir, applicationId)).toEqual(expected);
      // So does the output: the last count written per key is that key's exact count.
      await waitFor(() => [...expected].every(([k, n]) => latest.get(k) === n), {
        timeoutMs: 20_000,
        what: 'the final count of every key in the output',
      });

      // The run after the crash between changelog and state write restored exactly the changelog's tail, after
      // its checkpoint; the other restarts found their state complete and restored nothing.
      const tail = events(runs[2]!).filter((e) => e.event === 'restore-start');
      expect(tail.length).toBeGreaterThan(0);
      for (const e of tail) {
        expect(BigInt(e.start!), `partition ${e.partition} resumed after its checkpoint`).toBeGreaterThan(0n);
        expect(BigInt(e.end!)).toBeGreaterThan(BigInt(e.start!));
      }
      // The tail's offsets also hold the markers of the changelog transactions, which are not records.
      const restored = events(runs[2]!).filter((e) => e.event === 'restore-end');
      expect(restored.map((e) => e.partition)).toEqual(tail.map((e) => e.partition));
      restored.forEach((e, i) => {
        expect(e.restored).toBeGreaterThan(0);
        expect(e.restored).toBeLessThanOrEqual(Number(BigInt(tail[i]!.end!) - BigInt(tail[i]!.start!)));
      });
      for (const run of [runs[1]!, runs[3]!])
        expect(events(run).filter((e) => e.event === 'restore-start')).toEqual([]);

      // A restart on an empty state directory restores everything, to the same state.
      const fresh = apps.stateDir();
      const rebuilt = apps.start('examples/word-count/app.ts', [input, output], { ...env, STATE_DIR: fresh });
      await waitFor(() => events(rebuilt).filter((e) => e.event === 'restore-end').length === PARTITIONS, {
        what: 'the full restore of every partition',
      });
      rebuilt.child.kill('SIGTERM');
      expect(await rebuilt.exited, rebuilt.output()).toBe(0);
      for (const e of events(rebuilt).filter((x) => x.event === 'restore-start')) expect(e.start).toBe('0');
      expect(await countsIn(fresh, applicationId)).toEqual(expected);
    } finally {
      await producing.catch(() => undefined);
      await producer.disconnect();
      await reader.stop();
    }
  }, 300_000);
});
