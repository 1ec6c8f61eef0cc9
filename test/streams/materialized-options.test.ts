// DSL `Materialized` options on the broker: `logging: false` creates no changelog topic (and so writes to none), and
// `persistent: false` keeps the store in memory (nothing in the state directory), so a restart restores it from its
// changelog where a LevelDB store resumes from its checkpoint.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Materialized, Serdes, StreamsApp, StreamsBuilder } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const apps = inProcessApps();
const s = Serdes.string();

/** The same count per word three times, each with its own store options, each to `<output>-<store>`. */
function counts(words: string, output: string, stores: Materialized<string, number>[]) {
  const b = new StreamsBuilder();
  const input = b.stream(words, { keySerde: s, valueSerde: s });
  for (const materialized of stores) {
    input
      .groupByKey()
      .count({ caching: false, ...materialized })
      .toStream()
      .mapValues((n) => String(n))
      .to(`${output}-${materialized.name}`, { keySerde: s, valueSerde: s });
  }
  return b.build();
}

describe('DSL Materialized options on the broker', () => {
  it('logging: false creates and writes no changelog; persistent: false keeps nothing on disk and restores from the changelog', async () => {
    const words = uniqueName('words');
    const output = uniqueName('counts');
    const applicationId = uniqueName('materialized');
    const stores: Materialized<string, number>[] = [
      { name: 'logged' },
      { name: 'unlogged', logging: false },
      { name: 'in-memory', persistent: false },
    ];
    await createTopics([
      { topic: words, numPartitions: 1 },
      ...stores.map((m) => ({ topic: `${output}-${m.name}`, numPartitions: 1 })),
    ]);
    const producer = testProducer();
    await producer.connect();
    const send = (keys: string[]) =>
      producer.send({ topic: words, messages: keys.map((key) => ({ key, value: key })) });
    const stateDir = apps.stateDir();
    const run = async (restored: Map<string, number>) => {
      const app = apps.track(
        new StreamsApp(counts(words, output, stores), {
          applicationId,
          brokers: brokerList(),
          stateDir,
          commitIntervalMs: 100,
          restoreListener: {
            onRestoreEnd: (p, n) => restored.set(p.store, (restored.get(p.store) ?? 0) + n),
          },
        }),
      );
      await app.start();
      return app;
    };
    /** The last count of `key` in the output of store `name`, once `n` counts were written there. */
    const lastCount = async (name: string, key: string, n: number) =>
      (await readAll(`${output}-${name}`, n)).filter((r) => r.key === key).at(-1)?.value;
    try {
      await send(['a', 'b', 'a', 'c', 'a', 'b']);
      const first = await run(new Map());
      await waitFor(() => first.metrics.processed >= 6, { what: 'the words processed' });
      await first.close();

      const topics = (await withAdmin((admin) => admin.listTopics())).filter((t) =>
        t.startsWith(applicationId),
      );
      expect(topics.sort()).toEqual([
        `${applicationId}-in-memory-changelog`,
        `${applicationId}-logged-changelog`,
      ]);
      // Each key written since the last commit is logged once with its latest count: at most one record per word,
      // at least one per key.
      const changelog = await readAll(`${applicationId}-in-memory-changelog`, 3, { settleMs: 2_000 });
      const logged = changelog.length;
      expect(logged).toBeLessThanOrEqual(6);
      expect(new Set(changelog.map((r) => r.key))).toEqual(new Set(['a', 'b', 'c']));
      const taskDir = join(stateDir, applicationId, '0_0');
      expect(existsSync(join(taskDir, 'logged'))).toBe(true);
      expect(existsSync(join(taskDir, 'unlogged'))).toBe(true);
      expect(existsSync(join(taskDir, 'in-memory'))).toBe(false);

      // A restart on the same state directory: the LevelDB stores resume from disk, the in-memory one from its
      // changelog (every record of it), and every count goes on from where it was.
      const restored = new Map<string, number>();
      await send(['a']);
      const second = await run(restored);
      await waitFor(() => second.metrics.processed >= 1, { what: 'the new word processed' });
      await second.close();
      expect(restored.get('in-memory')).toBe(logged);
      expect(restored.get('logged') ?? 0).toBe(0);
      expect(restored.has('unlogged')).toBe(false);
      for (const m of stores) expect(await lastCount(m.name!, 'a', 7)).toBe('4');
    } finally {
      await producer.disconnect();
    }
  });
});
