// state.restore.records-per-s: a StreamsApp restoring a pre-filled compacted changelog topic on the local broker,
// against a plain kafkajs consumer reading the same topic in the same run, in alternating rounds (medians: the
// machine is shared). Both timings include joining a fresh group. Merges its figures into results/state.json.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changelogTopic, SOURCE_MARKS_HEADER } from '@eddy/state';
import { StreamsApp } from '@eddy/streams';
import { Kafka, logLevel } from 'kafkajs';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { createWordCountTopics, fillChangelog } from '../support/changelog-fill.js';
import { removeByPrefix } from '../support/cleanup.js';
import { median, writeResults } from '../support/results.js';

const RECORDS = Number(process.env.RESTORE_RECORDS ?? 1_000_000);
const ROUNDS = Number(process.env.RESTORE_ROUNDS ?? 3);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(',');
const run = randomUUID().slice(0, 8);
const applicationId = `bench-restore-${run}`;
const input = `${applicationId}-words`;
const output = `${applicationId}-counts`;
const changelog = changelogTopic(applicationId, 'counts');

const kafka = new Kafka({ clientId: 'bench-restore', brokers, logLevel: logLevel.ERROR });
const admin = kafka.admin();
await admin.connect();

try {
  await createWordCountTopics(admin, { input, output, changelog });
  const recordBytes = await fillChangelog(kafka, { topic: changelog, records: RECORDS, sourceTopic: input });
  const rawRates: number[] = [];
  const restoreRates: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const raw = await rawConsume(changelog);
    const restore = await restoreWithApp();
    rawRates.push(raw.rate);
    restoreRates.push(restore.rate);
    process.stdout.write(
      `round ${round}: restore of ${RECORDS} records of ${recordBytes} B (key + value + ${SOURCE_MARKS_HEADER} ` +
        `header) in ${restore.ms.toFixed(0)} ms, ${restore.batches} batches, ${restore.rate.toFixed(0)} ` +
        `records/s; raw kafkajs read ${raw.rate.toFixed(0)} records/s\n`,
    );
  }
  const rawRate = median(rawRates);
  const restoreRate = median(restoreRates);
  await writeResults('state', [
    { name: 'state.restore.records-per-s', value: Math.round(restoreRate), unit: 'records/s' },
    { name: 'state.restore.raw-kafkajs-records-per-s', value: Math.round(rawRate), unit: 'records/s' },
    {
      name: 'state.restore.ratio-vs-raw-kafkajs',
      value: Number((restoreRate / rawRate).toFixed(3)),
      unit: 'x',
    },
  ]);
} finally {
  await removeByPrefix(admin, applicationId);
  await admin.disconnect();
}

/** A plain kafkajs consumer of a fresh group reads the topic to its end, with the restore reader's fetch sizes. */
async function rawConsume(topic: string): Promise<{ rate: number }> {
  const [partition] = await admin.fetchTopicOffsets(topic);
  if (partition === undefined) throw new Error(`${topic} has no partitions`);
  const end = BigInt(partition.high);
  const consumer = kafka.consumer({
    groupId: `${applicationId}.raw.${randomUUID()}`,
    maxBytes: 64 * 1024 * 1024,
    maxBytesPerPartition: 16 * 1024 * 1024,
    maxWaitTimeInMs: 100,
  });
  // Timed from the connect: the restore's reader also joins a group of its own for each read.
  const t0 = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let read = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) if (m.key !== null) read++;
      if (BigInt(batch.lastOffset()) >= end - 1n) finish();
    },
  });
  await done;
  const ms = performance.now() - t0;
  await consumer.disconnect();
  if (read !== RECORDS) throw new Error(`raw consumer read ${read} of ${RECORDS} records`);
  return { rate: (RECORDS / ms) * 1000 };
}

/** Starts the app on an empty state directory and times onRestoreStart → onRestoreEnd of its one store. */
async function restoreWithApp(): Promise<{ rate: number; ms: number; batches: number }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-restore-'));
  let startedAt = 0;
  let batches = 0;
  let finish: (restored: number) => void = () => undefined;
  const ended = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const app = new StreamsApp(wordCountTopology(input, output), {
    applicationId,
    brokers,
    stateDir,
    logger: { debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
    restoreListener: {
      onRestoreStart: () => {
        startedAt = performance.now();
      },
      onBatchRestored: () => {
        batches++;
      },
      onRestoreEnd: (_, restored) => finish(restored),
    },
  });
  try {
    await app.start();
    const restored = await ended;
    const ms = performance.now() - startedAt;
    if (restored !== RECORDS) throw new Error(`restored ${restored} of ${RECORDS} records`);
    return { rate: (RECORDS / ms) * 1000, ms, batches };
  } finally {
    await app.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
