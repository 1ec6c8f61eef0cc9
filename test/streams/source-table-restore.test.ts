// A table restored from its source topic on the broker: no changelog topic is created, and an instance that lost
// its state directory reads the table back from the source topic up to the committed offsets.
import type { RestorePosition } from '@eddy/state';
import { type ProcessorContext, Serdes, StreamsApp, StreamsBuilder } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const apps = inProcessApps();
const s = Serdes.string();

/** `users` as a table restored from its topic; each lookup is answered with the user's current role. */
function lookups(users: string, lookupTopic: string, answers: string) {
  const b = new StreamsBuilder({ reuseSourceTopics: true });
  const getter = b.table(users, { keySerde: s, valueSerde: s }, { name: 'users-store' }).valueGetter!;
  b.stream(lookupTopic, { keySerde: s, valueSerde: s })
    .process<string, string>(
      () => {
        let ctx: ProcessorContext<string, string>;
        let get: (key: string) => string | undefined;
        return {
          init(c) {
            ctx = c;
            const read = getter.create(c);
            get = (key) => read(key)?.value;
          },
          process(r) {
            ctx.forward({ ...r, key: r.key ?? '', value: get(r.key ?? '') ?? 'none' });
          },
        };
      },
      { name: 'lookup' },
      ...getter.storeNames,
    )
    .to(answers, { keySerde: s, valueSerde: s });
  return b.build();
}

describe('a source table restored from its source topic', () => {
  it('creates no changelog, and after its state directory is lost reads the table back from the source topic', async () => {
    const users = uniqueName('users');
    const lookupTopic = uniqueName('lookups');
    const answers = uniqueName('answers');
    const applicationId = uniqueName('roles');
    await createTopics([
      { topic: users, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: lookupTopic, numPartitions: 2 },
      { topic: answers, numPartitions: 2 },
    ]);
    const producer = testProducer();
    await producer.connect();
    const send = (topic: string, pairs: [string, string | null][]) =>
      producer.send({ topic, messages: pairs.map(([key, value]) => ({ key, value })) });
    const run = async (restored: RestorePosition[] = []) => {
      const app = apps.track(
        new StreamsApp(lookups(users, lookupTopic, answers), {
          applicationId,
          brokers: brokerList(),
          stateDir: apps.stateDir(),
          commitIntervalMs: 100,
          restoreListener: { onRestoreEnd: (position, n) => n > 0 && restored.push(position) },
        }),
      );
      await app.start();
      return app;
    };
    try {
      await send(users, [
        ['ann', 'admin'],
        ['bob', 'dev'],
        ['cid', 'ops'],
        ['bob', null],
      ]);
      const first = await run();
      // Lookups go out once the table holds what they ask about (the task need not wait for the other input).
      await waitFor(() => first.metrics.processed >= 4, { what: 'the users processed' });
      await send(lookupTopic, [['ann', '?']]);
      expect((await readAll(answers, 1)).map((r) => [r.key, r.value])).toEqual([['ann', 'admin']]);
      await first.close();
      const topics = await withAdmin((admin) => admin.listTopics());
      expect(topics.filter((t) => t.startsWith(applicationId))).toEqual([]);

      // A new instance on an empty state directory; one more update comes after the committed offsets.
      await send(users, [['cid', 'sre']]);
      const restored: RestorePosition[] = [];
      const second = await run(restored);
      await waitFor(() => second.metrics.processed >= 1, { what: 'the new update processed' });
      await send(lookupTopic, [
        ['cid', '?'],
        ['bob', '?'],
        ['ann', '!'],
      ]);
      const got = await readAll(answers, 4, { settleMs: 500 });
      // The second answer for ann can only come from the table read back from the source topic.
      expect(got.map((r) => [r.key, r.value]).sort()).toEqual([
        ['ann', 'admin'],
        ['ann', 'admin'],
        ['bob', 'none'],
        ['cid', 'sre'],
      ]);
      expect(restored.length).toBeGreaterThan(0);
      expect(restored.every((p) => p.topic === users && p.store === 'users-store')).toBe(true);
    } finally {
      await producer.disconnect();
    }
  });
});
