// Deleted keys must not come back: a checkpoint older than its changelog's delete.retention.ms, restored after
// compaction removed a tombstone that follows it, is detected as stale and the store is rebuilt from the changelog.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import {
  type LogFields,
  type Logger,
  type ProcessorContext,
  Serdes,
  StreamsApp,
  Topology,
} from '@eddy/streams';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testKafka, testProducer, uniqueName, waitFor } from '../support/kafka.js';

const s = Serdes.string();
const apps: StreamsApp[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** `del` deletes the key, `get` answers its value (or `(none)`), anything else is stored and answered `ok`. */
function topology(input: string, output: string): Topology {
  return new Topology()
    .addSource('in', { topics: [input], keySerde: s, valueSerde: s })
    .addProcessor<string | null, string | null, string, string>(
      'apply',
      () => {
        let ctx: ProcessorContext<string, string>;
        return {
          init(c) {
            ctx = c;
          },
          process(r) {
            const kv = ctx.getStateStore<KeyValueStore<string, string>>('kv');
            const key = r.key!;
            let answer = 'ok';
            if (r.value === 'del') kv.delete(key);
            else if (r.value === 'get') answer = kv.get(key) ?? '(none)';
            else kv.put(key, r.value!);
            ctx.forward({ key, value: `${r.value}:${answer}`, timestamp: r.timestamp, headers: {} });
          },
        };
      },
      'in',
    )
    .addSink('out', { topic: output, keySerde: s, valueSerde: s }, 'apply')
    .addStateStore(store(), 'apply');
}

function store() {
  return keyValueStore<string, string>({ name: 'kv', keySerde: s, valueSerde: s });
}

/** Keys of the records now in `topic` (one partition), read from its start to its end. */
async function keysInLog(topic: string): Promise<string[]> {
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  const high = (await admin.fetchTopicOffsets(topic))[0]!.high;
  await admin.disconnect();
  const keys: string[] = [];
  if (high === '0') return keys;
  const consumer = kafka.consumer({ groupId: uniqueName('log-reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              keys.push(m.key?.toString() ?? '');
              if (BigInt(m.offset) + 1n >= BigInt(high)) resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return keys;
}

describe('a checkpoint older than the changelog’s delete.retention.ms', () => {
  it('is not trusted after compaction removed a later tombstone: the deleted key stays deleted', async () => {
    const input = uniqueName('cmds');
    const output = uniqueName('answers');
    const applicationId = uniqueName('stale-checkpoint');
    const changelog = `${applicationId}-kv-changelog`;
    // A changelog the cleaner compacts at once and that keeps tombstones for one second only.
    await createTopics([
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
      {
        topic: changelog,
        numPartitions: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'delete.retention.ms', value: '1000' },
          { name: 'segment.ms', value: '100' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
          { name: 'min.compaction.lag.ms', value: '0' },
          { name: 'max.compaction.lag.ms', value: '100' },
        ],
      },
    ]);
    const answers: string[] = [];
    const reader = testKafka().consumer({ groupId: uniqueName('answers') });
    await reader.connect();
    await reader.subscribe({ topic: output, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        answers.push(`${message.key}=${message.value}`);
      },
    });
    const producer = testProducer();
    await producer.connect();
    const send = (key: string, value: string) => producer.send({ topic: input, messages: [{ key, value }] });
    const newDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'eddy-stale-'));
      dirs.push(dir);
      return dir;
    };
    const warnings: { message: string; fields: LogFields | undefined }[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (message, fields) => warnings.push({ message, fields }),
      error() {},
    };
    const start = async (stateDir: string) => {
      const app = new StreamsApp(topology(input, output), {
        applicationId,
        brokers: brokerList(),
        stateDir,
        commitIntervalMs: 100,
        logger,
      });
      apps.push(app);
      await app.start();
      return app;
    };

    try {
      // An instance writes a=1 and stops: its volume keeps a checkpoint that holds a.
      const volume = newDir();
      const first = await start(volume);
      await send('a', '1');
      await waitFor(() => answers.includes('a=1:ok'), { what: 'a=1 stored' });
      await first.close();
      const oldVolume = newDir();
      cpSync(volume, oldVolume, { recursive: true });

      // Elsewhere, the task deletes a and goes on writing; compaction drops a=1 and then, once older than
      // delete.retention.ms, the tombstone too.
      const second = await start(newDir());
      await send('a', 'del');
      await waitFor(() => answers.includes('a=del:ok'), { what: 'a deleted' });
      let filler = 0;
      await waitFor(
        async () => {
          await send('filler', String(filler++));
          return !(await keysInLog(changelog)).includes('a');
        },
        { timeoutMs: 120_000, intervalMs: 500, what: 'compaction to remove the tombstone of a' },
      );
      await second.close();

      // The instance with the old volume comes back and is asked for a.
      const third = await start(oldVolume);
      await send('a', 'get');
      await waitFor(() => answers.find((x) => x.startsWith('a=get:')), { what: 'the answer for a' });
      expect(answers.filter((x) => x.startsWith('a=get:'))).toEqual(['a=get:(none)']);
      expect(warnings).toContainEqual({
        message: expect.stringContaining('delete.retention.ms'),
        fields: expect.objectContaining({
          store: 'kv',
          changelog: `${changelog}-0`,
          deleteRetentionMs: 1000,
        }),
      });
      await third.close();
    } finally {
      await producer.disconnect();
      await reader.disconnect();
    }
  }, 180_000);
});
