// End to end against the local broker: consume → count per key → produce, one process. A StreamsApp with a
// LevelDB-backed count store, at-least-once and exactly-once, against the same pipeline written directly on kafkajs,
// in the same run; then, at-least-once, a rekey → repartition topic → count app against that count.
// Writes benchmarks/results/e2e.json.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamsApp } from '@eddy/streams';
import { type ITopicConfig, Kafka, type KafkaMessage, logLevel, type Message } from 'kafkajs';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { repartitionCountTopology } from '../../test/support/apps/repartition-count.js';
import { removeByPrefix } from '../support/cleanup.js';
import { writeResults } from '../support/results.js';

const RECORDS = Number(process.env.E2E_RECORDS ?? 1_000_000);
const PARTITIONS = 6;
const KEYS = 50_000;
// Below the broker's 1 MiB record batch limit.
const SEND_BATCH = 5_000;
const SENDS_IN_FLIGHT = 8;
/** A pipeline that has not committed everything after this long fails the run. */
const PIPELINE_TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 5 * 60_000);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(',');
const prefix = `bench-e2e-${randomUUID().slice(0, 8)}`;
const input = `${prefix}-words`;
/** Keyed by order, the word as value: the repartition app rekeys by word. */
const orders = `${prefix}-orders`;

const kafka = new Kafka({ clientId: 'bench-e2e', brokers, logLevel: logLevel.ERROR });
const admin = kafka.admin();
await admin.connect();

interface PipelineResult {
  ms: number;
  rate: number;
  outputs: number;
  /** StreamsApp only: changelog records written and commits (with exactly-once, rounds of one transaction per task). */
  changelogRecords?: number;
  commits?: number;
}

try {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      input,
      orders,
      `${prefix}-raw-out`,
      `${prefix}-app-out`,
      `${prefix}-eos-out`,
      `${prefix}-rp-out`,
    ].map((topic): ITopicConfig => ({ topic, numPartitions: PARTITIONS })),
  });
  const recordBytes = await fill(input, (i) => ({ key: word(i), value: 'v'.repeat(88) }));
  // The size of the word records: an 88-byte key, a word (at most 10 bytes) as value.
  await fill(orders, (i) => ({
    key: `order-${String(i).padStart(10, '0')}-${'o'.repeat(71)}`,
    value: word(i),
  }));
  const raw = await rawKafkajs(`${prefix}-raw`, `${prefix}-raw-out`);
  const app = await streamsApp(`${prefix}-app`, `${prefix}-app-out`, 'at-least-once');
  const eos = await streamsApp(`${prefix}-eos`, `${prefix}-eos-out`, 'exactly-once');
  const rp = await streamsApp(`${prefix}-rp`, `${prefix}-rp-out`, 'at-least-once', 'repartition');
  const describe = (r: PipelineResult) =>
    `${r.ms.toFixed(0)} ms (${r.outputs} outputs, ${r.changelogRecords} changelog records, ${r.commits} commits)`;
  process.stdout.write(
    `e2e: ${RECORDS} records of ${recordBytes} B over ${PARTITIONS} partitions, ${KEYS} keys; ` +
      `raw kafkajs ${raw.ms.toFixed(0)} ms (${raw.outputs} outputs), ` +
      `StreamsApp at-least-once ${describe(app)}, exactly-once ${describe(eos)}, ` +
      `repartition-count at-least-once ${describe(rp)}\n`,
  );
  for (const [name, r] of [
    ['raw kafkajs', raw],
    ['at-least-once', app],
    ['exactly-once', eos],
    ['repartition-count at-least-once', rp],
  ] as const) {
    if (r.outputs !== RECORDS) throw new Error(`${name}: ${r.outputs} outputs for ${RECORDS} inputs`);
  }
  await writeResults('e2e', [
    { name: 'e2e.count.alos.records-per-s', value: Math.round(app.rate), unit: 'records/s' },
    { name: 'e2e.count.raw-kafkajs.records-per-s', value: Math.round(raw.rate), unit: 'records/s' },
    {
      name: 'e2e.count.alos.ratio-vs-raw-kafkajs',
      value: Number((app.rate / raw.rate).toFixed(3)),
      unit: 'x',
    },
    { name: 'e2e.count.eos.records-per-s', value: Math.round(eos.rate), unit: 'records/s' },
    { name: 'e2e.count.eos.ratio-vs-alos', value: Number((eos.rate / app.rate).toFixed(3)), unit: 'x' },
    { name: 'e2e.repartition-count.alos.records-per-s', value: Math.round(rp.rate), unit: 'records/s' },
    {
      name: 'e2e.repartition-count.alos.ratio-vs-count',
      value: Number((rp.rate / app.rate).toFixed(3)),
      unit: 'x',
    },
  ]);
} finally {
  await removeByPrefix(admin, prefix);
  await admin.disconnect();
}

/** The word of input record `i`: KEYS distinct words. */
function word(i: number): string {
  return `word-${(i * 7919) % KEYS}`;
}

/** Writes RECORDS records of about 100 bytes (partitioned by key, as kafkajs does by default); returns one's size. */
async function fill(topic: string, message: (i: number) => { key: string; value: string }): Promise<number> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDS_IN_FLIGHT }, async () => {
      while (next < RECORDS) {
        const from = next;
        next += SEND_BATCH;
        const messages: Message[] = [];
        for (let i = from; i < Math.min(from + SEND_BATCH, RECORDS); i++) messages.push(message(i));
        await producer.sendBatch({ acks: 1, topicMessages: [{ topic, messages }] });
      }
    }),
  );
  await producer.disconnect();
  process.stdout.write(`filled ${topic} in ${(performance.now() - started).toFixed(0)} ms\n`);
  let largest = 0;
  for (let i = 0; i < Math.min(KEYS, RECORDS); i++) {
    const m = message(i);
    largest = Math.max(largest, m.key.length + m.value.length);
  }
  return largest;
}

/** Resolves once the group's committed offsets reach the end offsets of every input partition. */
async function committedToEnd(groupId: string, startedAt: number, topic = input): Promise<void> {
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]));
  for (;;) {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const done = (committed?.partitions ?? []).filter((p) => p.offset === ends.get(p.partition)).length;
    if (done === PARTITIONS) return;
    if (performance.now() - startedAt > PIPELINE_TIMEOUT_MS) {
      const got = (committed?.partitions ?? []).map(
        (p) => `${p.partition}: ${p.offset}/${ends.get(p.partition)}`,
      );
      throw new Error(
        `${groupId} did not commit all of ${topic} within ${PIPELINE_TIMEOUT_MS} ms (${got.join(', ')})`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until a topic written without transactions holds one record per input record. */
async function outputComplete(topic: string, startedAt: number): Promise<void> {
  while ((await outputCount(topic)) < RECORDS) {
    if (performance.now() - startedAt > PIPELINE_TIMEOUT_MS) {
      throw new Error(`${topic} did not receive all output within ${PIPELINE_TIMEOUT_MS} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Records in a topic written without transactions: the sum of its partitions' offset ranges. */
async function outputCount(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
}

/**
 * Records a read_committed consumer sees in a transactionally written topic; offset ranges would also count the
 * transaction markers and the records of aborted transactions. `onBatch` sees each fetched batch.
 */
async function committedOutputCount(
  topic: string,
  onBatch: (messages: KafkaMessage[]) => void = () => {},
): Promise<number> {
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  const consumer = kafka.consumer({
    groupId: `${prefix}-count-${randomUUID().slice(0, 8)}`,
    readUncommitted: false,
    maxWaitTimeInMs: 250,
    maxBytes: 64 * 1024 * 1024,
  });
  let read = 0;
  const reached = new Set<number>();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      const check = (partition: number, next: bigint) => {
        if (next >= (ends.get(partition) ?? 0n)) reached.add(partition);
        if (reached.size === ends.size) resolve();
      };
      for (const [partition, end] of ends) if (end === 0n) check(partition, 0n);
      // Also emitted for fetches that hold only transaction markers, which never reach eachBatch.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        check(payload.partition, BigInt(payload.lastOffset) + 1n);
      });
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          read += batch.messages.length;
          onBatch(batch.messages);
        },
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`reading ${topic} took over 120 s`)), 120_000);
    });
    await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
    return read;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * The baseline: eachBatch → count in a Map → one sendBatch per fetched batch (acks all, idempotent, like the
 * app's producer) → offsets resolved and committed on the same 1 s interval as the app's default.
 */
async function rawKafkajs(groupId: string, output: string): Promise<PipelineResult> {
  const started = performance.now();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  const counts = new Map<string, number>();
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [input], fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 1_000,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
        if (batch.messages.length === 0) return;
        const messages: Message[] = batch.messages.map((m) => {
          const key = m.key!.toString('utf8');
          m.value?.toString('utf8');
          const n = (counts.get(key) ?? 0) + 1;
          counts.set(key, n);
          return { key, value: String(n), timestamp: m.timestamp };
        });
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic: output, messages }] });
        resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
        await commitOffsetsIfNecessary();
        await heartbeat();
      },
    });
    await committedToEnd(groupId, started);
    const ms = performance.now() - started;
    return { ms, rate: (RECORDS / ms) * 1000, outputs: await outputCount(output) };
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}

/**
 * The framework: word count with a LevelDB-backed, cached, change-logged store, default commit interval (10 s with
 * at-least-once, 100 ms with exactly-once). At-least-once is timed until every output is acknowledged and close()
 * has committed state and offsets.
 */
async function streamsApp(
  applicationId: string,
  output: string,
  processingGuarantee: 'at-least-once' | 'exactly-once',
  kind: 'count' | 'repartition' = 'count',
): Promise<PipelineResult> {
  const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-e2e-'));
  const source = kind === 'count' ? input : orders;
  const topology =
    kind === 'count' ? wordCountTopology(input, output) : repartitionCountTopology(orders, output);
  const started = performance.now();
  const app = new StreamsApp(topology, {
    applicationId,
    brokers,
    stateDir,
    processingGuarantee,
    logger: { debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
  });
  try {
    await app.start();
    let ms: number;
    if (processingGuarantee === 'exactly-once') {
      // Output becomes visible only with the commit of its transaction.
      await committedToEnd(applicationId, started, source);
      ms = performance.now() - started;
      if (app.state !== 'RUNNING') throw new Error(`the app is ${app.state}: ${app.error?.message}`);
    } else {
      // Output is sent after every batch; the state and offsets become durable at the next commit, which close()
      // makes at once rather than at the end of the commit interval.
      await outputComplete(output, started);
      if (app.state !== 'RUNNING') throw new Error(`the app is ${app.state}: ${app.error?.message}`);
      await app.close();
      ms = performance.now() - started;
      await committedToEnd(applicationId, started, source);
    }
    const { changelogRecords, commits } = app.metrics;
    const outputs =
      kind === 'repartition'
        ? await exactCounts(output)
        : processingGuarantee === 'exactly-once'
          ? await committedOutputCount(output)
          : await outputCount(output);
    return { ms, rate: (RECORDS / ms) * 1000, outputs, changelogRecords, commits };
  } finally {
    await app.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/**
 * Reads a count app's output and fails unless every word's last count is the number of input records with that
 * word (none lost, none counted twice); returns the number of output records.
 */
async function exactCounts(topic: string): Promise<number> {
  const last = new Map<string, number>();
  const outputs = await committedOutputCount(topic, (messages) => {
    // One word is in one output partition, its counts in order: the last one read is the total.
    for (const m of messages) last.set(m.key!.toString('utf8'), Number(m.value!.toString('utf8')));
  });
  const expected = new Map<string, number>();
  for (let i = 0; i < RECORDS; i++) expected.set(word(i), (expected.get(word(i)) ?? 0) + 1);
  const wrong = [...expected].filter(([w, n]) => last.get(w) !== n);
  if (wrong.length > 0 || last.size !== expected.size) {
    const [w, n] = wrong[0] ?? ['', 0];
    throw new Error(
      `${topic}: ${wrong.length} of ${expected.size} words have a wrong count (${last.size} words seen; ` +
        `e.g. ${w}: ${last.get(w)} for ${n})`,
    );
  }
  return outputs;
}
