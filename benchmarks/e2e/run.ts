// End to end against the local broker: consume → count per key → produce, one process. A StreamsApp with a
// LevelDB-backed count store, at-least-once and exactly-once, against the same pipeline written directly on kafkajs,
// in the same run; then, at-least-once, a rekey → repartition topic → count app, and a windowed count, against that
// count; and the count over Avro order values (schema registry, Confluent wire format) against the same count over
// the same orders as JSON. Last, the count app runs again in a child process of its own (`count-app.ts`), once per
// guarantee, for its peak resident memory: in this process the benchmark's own data would count too.
// Writes benchmarks/results/e2e.json.

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AvroSerdes, frame, RegistryClient } from '@eddy/avro';
import {
  Serdes,
  StreamsApp,
  StreamsBuilder,
  TimeWindows,
  type Topology,
  WindowedSerdes,
} from '@eddy/streams';
import avro from 'avsc';
import { type ITopicConfig, Kafka, type KafkaMessage, logLevel, type Message } from 'kafkajs';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { order, orderSchema } from '../../packages/avro/test/fixtures/schemas.js';
import { startRegistry, stopRegistry } from '../../test/registry/registry.mjs';
import { repartitionCountTopology } from '../../test/support/apps/repartition-count.js';
import { removeByPrefix } from '../support/cleanup.js';
import { checkCounts, expectedCounts } from '../support/counts.js';
import { committedToEnd as committedToEndOf, readCommitted } from '../support/pipeline.js';
import { rawKafkajsCount } from '../support/raw-count.js';
import { writeResults } from '../support/results.js';

const RECORDS = Number(process.env.E2E_RECORDS ?? 1_000_000);
const PARTITIONS = 6;
/** The windowed count: 10-second tumbling windows with 5 s of grace (records carry their produce time). */
const WINDOW_MS = 10_000;
const KEYS = 50_000;
// Below the broker's 1 MiB record batch limit.
const SEND_BATCH = 5_000;
/** One: kafkajs's idempotent producer numbers concurrent sends out of order. */
const SENDS_IN_FLIGHT = 1;
/** A pipeline that has not committed everything after this long fails the run. */
const PIPELINE_TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 5 * 60_000);
/**
 * `E2E_PIPELINES=count`: only the raw kafkajs, at-least-once and exactly-once counts and the peak RSS of the count app,
 * and only their figures.
 */
const COUNT_ONLY = process.env.E2E_PIPELINES === 'count';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(',');
const prefix = `bench-e2e-${randomUUID().slice(0, 8)}`;
const input = `${prefix}-words`;
/** Keyed by order, the word as value: the repartition app rekeys by word. */
const orders = `${prefix}-orders`;

/** The same orders as Avro (registered under `<topic>-value`) and as JSON: the order's id is the input's word. */
const ordersAvro = `${prefix}-orders-avro`;
const ordersJson = `${prefix}-orders-json`;
const registryStart = await startRegistry();
const registry = new RegistryClient({ url: registryStart.url });
const orderType = avro.Type.forSchema(orderSchema);
const countSchema = {
  type: 'record',
  name: 'Count',
  fields: [{ name: 'count', type: 'long' }],
} as avro.Schema;

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
  /** Windowed count: records dropped for windows already closed. */
  late?: number;
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
      `${prefix}-win-out`,
      ordersAvro,
      ordersJson,
      `${prefix}-avro-out`,
      `${prefix}-json-out`,
      `${prefix}-rss-alos-out`,
      `${prefix}-rss-eos-out`,
    ].map((topic): ITopicConfig => ({ topic, numPartitions: PARTITIONS })),
  });
  const recordBytes = await fill(input, (i) => ({ key: word(i), value: 'v'.repeat(88) }));
  const raw = await rawKafkajs(`${prefix}-raw`, `${prefix}-raw-out`);
  const app = await streamsApp(`${prefix}-app`, `${prefix}-app-out`, 'at-least-once');
  const eos = await streamsApp(`${prefix}-eos`, `${prefix}-eos-out`, 'exactly-once');
  const describe = (r: PipelineResult) =>
    `${r.ms.toFixed(0)} ms (${r.outputs} outputs, ${r.changelogRecords} changelog records, ${r.commits} commits)`;
  const counts =
    `e2e: ${RECORDS} records of ${recordBytes} B over ${PARTITIONS} partitions, ${KEYS} keys; ` +
    `raw kafkajs ${raw.ms.toFixed(0)} ms (${raw.outputs} outputs), ` +
    `StreamsApp at-least-once ${describe(app)}, exactly-once ${describe(eos)}`;
  if (raw.outputs !== RECORDS) throw new Error(`raw kafkajs: ${raw.outputs} outputs for ${RECORDS} inputs`);
  const alosRss = await countAppPeakRss(`${prefix}-rss-alos`, `${prefix}-rss-alos-out`, 'at-least-once');
  const eosRss = await countAppPeakRss(`${prefix}-rss-eos`, `${prefix}-rss-eos-out`, 'exactly-once');
  const countsAndRss = `${counts}; peak RSS of the count app alone: at-least-once ${alosRss} MB, exactly-once ${eosRss} MB`;
  const figures = [
    ...countFigures(raw, app, eos),
    { name: 'e2e.count.peak-rss-mb', value: Math.max(alosRss, eosRss), unit: 'MB' },
    { name: 'e2e.count.alos.peak-rss-mb', value: alosRss, unit: 'MB' },
    { name: 'e2e.count.eos.peak-rss-mb', value: eosRss, unit: 'MB' },
  ];
  if (COUNT_ONLY) {
    process.stdout.write(`${countsAndRss}\n`);
    await writeResults('e2e', figures);
  } else {
    await otherPipelines(countsAndRss, figures, app);
  }
} finally {
  await removeByPrefix(admin, prefix);
  await admin.disconnect();
  registry.close();
  if (registryStart.started) await stopRegistry();
}

/** The figures of the three count pipelines. */
function countFigures(raw: PipelineResult, app: PipelineResult, eos: PipelineResult) {
  return [
    { name: 'e2e.count.alos.records-per-s', value: Math.round(app.rate), unit: 'records/s' },
    { name: 'e2e.count.raw-kafkajs.records-per-s', value: Math.round(raw.rate), unit: 'records/s' },
    {
      name: 'e2e.count.alos.ratio-vs-raw-kafkajs',
      value: Number((app.rate / raw.rate).toFixed(3)),
      unit: 'x',
    },
    { name: 'e2e.count.eos.records-per-s', value: Math.round(eos.rate), unit: 'records/s' },
    { name: 'e2e.count.eos.ratio-vs-alos', value: Number((eos.rate / app.rate).toFixed(3)), unit: 'x' },
  ];
}

/** After the count pipelines: the repartition, windowed, Avro and JSON counts. */
async function otherPipelines(
  counts: string,
  first: { name: string; value: number; unit: string }[],
  app: PipelineResult,
): Promise<void> {
  const describe = (r: PipelineResult) =>
    `${r.ms.toFixed(0)} ms (${r.outputs} outputs, ${r.changelogRecords} changelog records, ${r.commits} commits)`;
  // The size of the word records: an 88-byte key, a word (at most 10 bytes) as value.
  await fill(orders, (i) => ({
    key: `order-${String(i).padStart(10, '0')}-${'o'.repeat(71)}`,
    value: word(i),
  }));
  const avroId = await registry.register(
    `${ordersAvro}-value`,
    JSON.stringify(orderType.schema({ exportAttrs: true })),
    'BACKWARD',
  );
  const orderOf = (i: number) => ({ ...order, id: word(i) });
  const avroBytes = await fill(ordersAvro, (i) => ({
    key: word(i),
    value: frame(avroId, orderType.toBuffer(orderOf(i))),
  }));
  const jsonBytes = await fill(ordersJson, (i) => ({ key: word(i), value: JSON.stringify(orderOf(i)) }));
  const rp = await streamsApp(`${prefix}-rp`, `${prefix}-rp-out`, 'at-least-once', 'repartition');
  const win = await streamsApp(`${prefix}-win`, `${prefix}-win-out`, 'at-least-once', 'windowed');
  const jsonCount = await streamsApp(`${prefix}-json`, `${prefix}-json-out`, 'at-least-once', 'json');
  const avroCount = await streamsApp(`${prefix}-avro`, `${prefix}-avro-out`, 'at-least-once', 'avro');
  process.stdout.write(
    `${counts}, repartition-count at-least-once ${describe(rp)}, windowed count at-least-once ${describe(win)} ` +
      `(late: ${win.late ?? 0}); orders of ${avroBytes} B in Avro ${describe(avroCount)}, of ${jsonBytes} B in JSON ` +
      `${describe(jsonCount)}\n`,
  );
  // The count and windowed-count apps are DSL tables: they fold a key's updates until the commit, so their output
  // holds fewer records than the input; exactCounts and windowedCounts checked their last values instead.
  if (rp.outputs !== RECORDS) {
    throw new Error(`repartition-count at-least-once: ${rp.outputs} outputs for ${RECORDS} inputs`);
  }
  await writeResults('e2e', [
    ...first,
    { name: 'e2e.repartition-count.alos.records-per-s', value: Math.round(rp.rate), unit: 'records/s' },
    {
      name: 'e2e.repartition-count.alos.ratio-vs-count',
      value: Number((rp.rate / app.rate).toFixed(3)),
      unit: 'x',
    },
    { name: 'e2e.windowed-count.alos.records-per-s', value: Math.round(win.rate), unit: 'records/s' },
    {
      name: 'e2e.windowed-count.alos.ratio-vs-count',
      value: Number((win.rate / app.rate).toFixed(3)),
      unit: 'x',
    },
    { name: 'e2e.count.avro.records-per-s', value: Math.round(avroCount.rate), unit: 'records/s' },
    { name: 'e2e.count.json.records-per-s', value: Math.round(jsonCount.rate), unit: 'records/s' },
    {
      name: 'e2e.count.avro.ratio-vs-json',
      value: Number((avroCount.rate / jsonCount.rate).toFixed(3)),
      unit: 'x',
    },
  ]);
}

/** The word of input record `i`: KEYS distinct words. */
function word(i: number): string {
  return `word-${(i * 7919) % KEYS}`;
}

/** Writes RECORDS records of about 100 bytes (partitioned by key, as kafkajs does by default); returns one's size. */
async function fill(
  topic: string,
  message: (i: number) => { key: string; value: string | Buffer },
): Promise<number> {
  // Idempotent: a request that failed for some partitions only (e.g. NOT_LEADER while a new topic's partitions load)
  // is retried whole, and without sequence numbers the partitions that took it would hold its records twice.
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
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
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
      }
    }),
  );
  await producer.disconnect();
  const written = await outputCount(topic);
  if (written !== RECORDS) throw new Error(`${topic} holds ${written} records, not ${RECORDS}`);
  process.stdout.write(`filled ${topic} in ${(performance.now() - started).toFixed(0)} ms\n`);
  let largest = 0;
  for (let i = 0; i < Math.min(KEYS, RECORDS); i++) {
    const m = message(i);
    largest = Math.max(largest, m.key.length + m.value.length);
  }
  return largest;
}

/** Resolves once the group's committed offsets reach the end offsets of every input partition. */
function committedToEnd(groupId: string, startedAt: number, topic = input): Promise<void> {
  return committedToEndOf(admin, { groupId, topic, startedAt, timeoutMs: PIPELINE_TIMEOUT_MS });
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

/** Records a read_committed consumer sees in a transactionally written topic (`support/pipeline.ts`). */
function committedOutputCount(
  topic: string,
  onBatch: (messages: KafkaMessage[]) => void = () => {},
): Promise<number> {
  return readCommitted(kafka, admin, topic, prefix, onBatch);
}

/** The baseline: the count written directly on kafkajs (`support/raw-count.ts`). */
async function rawKafkajs(groupId: string, output: string): Promise<PipelineResult> {
  const ms = await rawKafkajsCount(kafka, { input, output, groupId }, (started) =>
    committedToEnd(groupId, started),
  );
  return { ms, rate: (RECORDS / ms) * 1000, outputs: await outputCount(output) };
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
  kind: 'count' | 'repartition' | 'windowed' | 'avro' | 'json' = 'count',
): Promise<PipelineResult> {
  const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-e2e-'));
  const source = { count: input, windowed: input, repartition: orders, avro: ordersAvro, json: ordersJson }[
    kind
  ];
  const topology =
    kind === 'count'
      ? wordCountTopology(input, output)
      : kind === 'windowed'
        ? windowedCountTopology(input, output)
        : kind === 'repartition'
          ? repartitionCountTopology(orders, output)
          : orderCountTopology(kind, source, output);
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
      // makes at once rather than at the end of the commit interval. The count and windowed-count tables fold their
      // updates until the commit, so there the app's own count of processed records says when the input is done.
      if (kind === 'repartition') await outputComplete(output, started);
      else await processedAll(app, started);
      if (app.state !== 'RUNNING') throw new Error(`the app is ${app.state}: ${app.error?.message}`);
      await app.close();
      ms = performance.now() - started;
      await committedToEnd(applicationId, started, source);
    }
    const { changelogRecords, commits } = app.metrics;
    const outputs =
      kind === 'windowed'
        ? await windowedCounts(output, app.metrics.droppedRecords.late ?? 0)
        : await exactCounts(
            output,
            kind === 'avro' ? avroCountOf : kind === 'json' ? jsonCountOf : undefined,
          );
    const late = app.metrics.droppedRecords.late;
    return { ms, rate: (RECORDS / ms) * 1000, outputs, changelogRecords, commits, late };
  } finally {
    await app.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/**
 * The peak resident memory (VmHWM, MB) of the count app run over the whole input in a process of its own, with the
 * same Node options as this one (the TypeScript loader); checks that it committed all of its input.
 */
async function countAppPeakRss(
  applicationId: string,
  output: string,
  guarantee: 'at-least-once' | 'exactly-once',
): Promise<number> {
  const started = performance.now();
  const script = fileURLToPath(new URL('./count-app.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      ...process.execArgv,
      // E2E_APP_NODE_ARGS: Node options of the app's process only, e.g. a heap limit.
      ...(process.env.E2E_APP_NODE_ARGS ?? '').split(' ').filter(Boolean),
      script,
      brokers.join(','),
      applicationId,
      input,
      output,
      guarantee,
      String(RECORDS),
    ],
    { timeout: PIPELINE_TIMEOUT_MS },
  );
  await committedToEnd(applicationId, started);
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { peakRssMb: number }).peakRssMb;
}

/**
 * Reads a count app's output and fails unless every word's last count is the number of input records with that
 * word (none lost, none counted twice, no stray words); returns the number of output records.
 */
async function exactCounts(
  topic: string,
  countOf: (value: Buffer) => number = (v) => Number(v.toString('utf8')),
): Promise<number> {
  const last = new Map<string, number>();
  const outputs = await committedOutputCount(topic, (messages) => {
    // One word is in one output partition, its counts in order: the last one read is the total.
    for (const m of messages) last.set(m.key!.toString('utf8'), countOf(m.value!));
  });
  checkCounts(topic, last, expectedCounts(RECORDS, word));
  return outputs;
}

/** The order count: orders per id (the input's word), their values Avro or JSON, each new count written out as one. */
function orderCountTopology(format: 'avro' | 'json', topic: string, output: string): Topology {
  const valueSerde =
    format === 'avro'
      ? AvroSerdes.specific<typeof order>({ registry, schema: orderSchema })
      : Serdes.json<typeof order>();
  const countSerde =
    format === 'avro'
      ? AvroSerdes.specific<{ count: number }>({ registry, schema: countSchema })
      : Serdes.json<{ count: number }>();
  const builder = new StreamsBuilder();
  builder
    .stream(topic, { keySerde: Serdes.string(), valueSerde })
    .groupByKey({ keySerde: Serdes.string() })
    .count({ name: 'counts', caching: false })
    .toStream()
    .mapValues((n) => ({ count: n ?? 0 }))
    .to(output, { keySerde: Serdes.string(), valueSerde: countSerde });
  return builder.build();
}

function avroCountOf(v: Buffer): number {
  return Number(avro.Type.forSchema(countSchema).fromBuffer(v.subarray(5)).count);
}

function jsonCountOf(v: Buffer): number {
  return (JSON.parse(v.toString('utf8')) as { count: number }).count;
}

/** Counts records per word and 10-second window; writes each window's count (folded per commit) out. */
function windowedCountTopology(topic: string, output: string): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(topic, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_MS, 5_000))
    .count({ name: 'window-counts' })
    .toStream()
    .to(output, {
      keySerde: WindowedSerdes.timeWindowed(Serdes.string(), WINDOW_MS),
      valueSerde: Serdes.float64(),
    });
  return builder.build();
}

/** Resolves once the app has processed every input record. */
async function processedAll(app: StreamsApp, startedAt: number): Promise<void> {
  while (app.metrics.processed < RECORDS) {
    if (app.state === 'ERROR' || app.state === 'NOT_RUNNING') {
      throw new Error(`the app is ${app.state}: ${app.error?.message}`);
    }
    if (performance.now() - startedAt > PIPELINE_TIMEOUT_MS) {
      throw new Error(
        `the app processed ${app.metrics.processed} of ${RECORDS} records in ${PIPELINE_TIMEOUT_MS} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Reads a windowed count's output and fails unless the last count of each word and window, summed, plus the late
 * records, is the number of input records; returns the number of output records.
 */
async function windowedCounts(topic: string, late: number): Promise<number> {
  const last = new Map<string, number>();
  const outputs = await committedOutputCount(topic, (messages) => {
    // A word's windows are in one output partition, each window's counts in order: the last one read is its total.
    for (const m of messages) last.set(m.key!.toString('latin1'), m.value!.readDoubleBE(0));
  });
  let sum = late;
  for (const n of last.values()) sum += n;
  if (sum !== RECORDS) {
    throw new Error(`${topic}: windows hold ${sum - late} records and ${late} were late, of ${RECORDS}`);
  }
  return outputs;
}
