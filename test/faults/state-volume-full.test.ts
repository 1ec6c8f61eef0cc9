// The state volume fills up mid-run: the state directory is a small tmpfs (mounted as root, or with `sudo -n`; the
// test is skipped where neither is allowed) that the test fills with a file. The app stops with STATE_FAILED, its
// committed input offsets are not past what its changelog holds, no checkpoint is ahead of its store's data, and once
// space is freed a restart on the same directory resumes with exact results, under both guarantees.
import { keyValueStore, TaskStateManager } from '@eddy/state';
import { Serdes, StreamsApp, type StreamsState } from '@eddy/streams';
import { afterAll, describe, expect, it } from 'vitest';
import { createTopics, testKafka, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import {
  COUNT_STORE,
  checkExact,
  coversAll,
  followOutput,
  offsetCountTopology,
  storedCounts,
} from '../support/offset-count.js';
import { committedOffsets } from '../support/rekey-crash.js';
import { smallFileSystem } from '../support/small-fs.js';
import { steadyInput } from '../support/steady-input.js';

const PARTITIONS = 2;
const probe = smallFileSystem(1 << 20);
probe?.close();
const mountable = probe !== undefined;
afterAll(() => {
  if (!mountable) console.log('state-volume-full: skipped, this machine lets the test mount no tmpfs');
});

/** Reads every record of `topic` until none arrived for `quietMs` after the first (the topic no longer grows). */
async function readQuiet(
  topic: string,
  { readCommitted = false, quietMs = 3_000 } = {},
): Promise<{ partition: number; offset: bigint; key: string; value: Buffer }[]> {
  const consumer = testKafka().consumer({ groupId: uniqueName('quiet'), readUncommitted: !readCommitted });
  const records: { partition: number; offset: bigint; key: string; value: Buffer }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let last = 0;
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      last = Date.now();
      records.push({
        partition,
        offset: BigInt(message.offset),
        key: message.key!.toString(),
        value: message.value ?? Buffer.alloc(0),
      });
    },
  });
  await waitFor(() => last > 0 && Date.now() - last > quietMs, { what: `${topic} read to its end` });
  await consumer.disconnect();
  return records;
}

/** Per key, how many input records lie below each partition's committed offset. */
async function committedInputCounts(applicationId: string, input: string): Promise<Map<string, number>> {
  const [offsets] = await withAdmin((a) => a.fetchOffsets({ groupId: applicationId, topics: [input] }));
  const committed = new Map(
    offsets!.partitions.map((p) => [p.partition, BigInt(Math.max(0, Number(p.offset)))]),
  );
  const counts = new Map<string, number>();
  for (const r of await readQuiet(input)) {
    if (r.offset < (committed.get(r.partition) ?? 0n)) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
  }
  return counts;
}

/** The checkpointed changelog offset and the counts of the store of task 0_<partition>, read from the directory. */
async function checkpointAndData(stateDir: string, applicationId: string, partition: number) {
  const manager = new TaskStateManager({ applicationId, taskId: `0_${partition}`, partition, stateDir });
  const store = manager.register(
    keyValueStore<string, number>({
      name: COUNT_STORE,
      keySerde: Serdes.string(),
      valueSerde: Serdes.float64(),
    }),
  );
  await manager.open();
  try {
    const data = new Map<string, number>();
    for await (const { key, value } of store.all()) data.set(key, value);
    return { offset: manager.changelogOffset(COUNT_STORE), data };
  } finally {
    await manager.close();
  }
}

describe.skipIf(!mountable).each(['at-least-once', 'exactly-once'] as const)(
  'the state volume fills up mid-run (%s)',
  (guarantee) => {
    it('stops with STATE_FAILED, commits nothing past its changelog, and resumes exactly once space is freed', async () => {
      const fs = smallFileSystem(16 << 20)!;
      const input = uniqueName('full-in');
      const output = uniqueName('full-out');
      const applicationId = uniqueName('full');
      await createTopics([
        { topic: input, numPartitions: PARTITIONS },
        { topic: output, numPartitions: PARTITIONS },
      ]);
      const newApp = () =>
        new StreamsApp(offsetCountTopology(input, output), {
          applicationId,
          brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
          stateDir: fs.dir,
          processingGuarantee: guarantee,
          commitIntervalMs: 200,
          sessionTimeoutMs: 6_000,
          heartbeatIntervalMs: 500,
          clientLogLevel: 'nothing',
          logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
        });
      const out = await followOutput(output, { readCommitted: guarantee === 'exactly-once' });
      const steady = await steadyInput(input, { keys: 40, perSend: 20 });
      let second: StreamsApp | undefined;
      const first = newApp();
      try {
        const states: StreamsState[] = [];
        first.onStateChange((s) => states.push(s));
        await first.start();
        await waitFor(() => out.records.size >= 500, { what: '500 outputs before the volume fills' });
        fs.fill();
        const fullAt = Date.now();
        await waitFor(() => first.state === 'ERROR' || first.state === 'NOT_RUNNING', {
          what: 'the app to stop on the full volume',
          timeoutMs: 60_000,
        });
        console.log(
          `${guarantee}: stopped ${Date.now() - fullAt} ms after the volume filled: ${first.error?.code}: ` +
            `${first.error?.message}`,
        );
        expect(first.state).toBe('ERROR');
        expect(first.error?.code).toBe('STATE_FAILED');
        await first.close();
        // The input stops growing while it is checked, then goes on.
        await steady.pause();

        // What the committed offsets say was processed, the changelog (what a restore reads) holds.
        const committed = await committedInputCounts(applicationId, input);
        const changelog = await readQuiet(`${applicationId}-${COUNT_STORE}-changelog`, {
          readCommitted: guarantee === 'exactly-once',
        });
        const logged = new Map<string, number>();
        for (const r of changelog)
          logged.set(r.key, Math.max(logged.get(r.key) ?? 0, r.value.readDoubleBE(0)));
        const behind = [...committed].filter(([k, n]) => (logged.get(k) ?? 0) < n);
        expect(behind, 'keys whose committed input the changelog does not hold').toEqual([]);

        // Each checkpoint covers no changelog record its data lacks: counts only rise, so the data holds at least the
        // count of every changelog record up to the checkpointed offset.
        fs.freeUp();
        for (let partition = 0; partition < PARTITIONS; partition++) {
          const { offset, data } = await checkpointAndData(fs.dir, applicationId, partition);
          const upTo = new Map<string, number>();
          for (const r of changelog) {
            if (r.partition === partition && offset !== undefined && r.offset <= offset) {
              upTo.set(r.key, r.value.readDoubleBE(0));
            }
          }
          const ahead = [...upTo].filter(([k, n]) => (data.get(k) ?? 0) < n);
          expect(ahead, `task 0_${partition}: changelog counts at the checkpoint the data lacks`).toEqual([]);
        }

        second = newApp();
        steady.resume();
        await second.start();
        const resumedAt = steady.total();
        await waitFor(() => steady.total() >= resumedAt + 500, { what: '500 more inputs' });
        await steady.stop();
        await waitFor(
          async () =>
            coversAll(out, steady.sent) && (await committedOffsets(applicationId, input)) === steady.total(),
          { what: 'the restarted app to process and commit all input', timeoutMs: 120_000 },
        );
        const { duplicates } = checkExact(out, steady.sent);
        console.log(`${guarantee}: ${steady.total()} inputs, ${duplicates} duplicate outputs`);
        if (guarantee === 'exactly-once') expect(duplicates).toBe(0);
        await second.close();
        expect(second.state).toBe('NOT_RUNNING');
        expect(await storedCounts(fs.dir, applicationId, PARTITIONS)).toEqual(steady.sent);
      } finally {
        await steady.stop().catch(() => undefined);
        await out.stop();
        await first.close().catch(() => undefined);
        await second?.close().catch(() => undefined);
        fs.close();
      }
    }, 240_000);
  },
);
