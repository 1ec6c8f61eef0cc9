// Where the time goes in the end-to-end count: runs the raw kafkajs pipeline and the at-least-once StreamsApp count
// of bench:e2e on the same 1,000,000 input records, each under the V8 CPU profiler and the sampling heap profiler of
// this process, and splits CPU time (self time of the samples, scaled to the process's CPU time) and allocated bytes
// into categories (categories.ts).
// Writes benchmarks/results/profile.json (figures labelled by `--label`, default `current`), the profiles into
// .tmp/profile/, and redraws benchmarks/profile.svg from every label in the results file.

import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamsApp } from '@eddy/streams';
import { type ITopicConfig, Kafka, logLevel, type Message } from 'kafkajs';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { removeByPrefix } from '../support/cleanup.js';
import { rawKafkajsCount } from '../support/raw-count.js';
import { cpuMs, type Figure, writeResults } from '../support/results.js';
import { CATEGORIES, type Category, cpuBreakdown, type HeapNode, heapBreakdown } from './categories.js';
import { renderChart } from './chart.js';

const RECORDS = Number(process.env.E2E_RECORDS ?? 1_000_000);
const PARTITIONS = 6;
const KEYS = 50_000;
const SEND_BATCH = 5_000;
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 5 * 60_000);
/** `--plain`: no profilers, only the two pipelines' rates (a before/after comparison without profiling overhead). */
const plain = process.argv.includes('--plain');
const label = process.argv.includes('--label')
  ? process.argv[process.argv.indexOf('--label') + 1]!
  : 'current';
if (!/^[a-z0-9-]+$/.test(label))
  throw new Error(`--label must be lower-case letters, digits and dashes: ${label}`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(',');
const prefix = `bench-profile-${randomUUID().slice(0, 8)}`;
const input = `${prefix}-words`;
const outDir = new URL('../../.tmp/profile/', import.meta.url);
mkdirSync(outDir, { recursive: true });

const kafka = new Kafka({ clientId: 'bench-profile', brokers, logLevel: logLevel.ERROR });
const admin = kafka.admin();
await admin.connect();
const session = new Session();
session.connect();

interface Profiled {
  pipeline: 'raw' | 'alos';
  ms: number;
  /** CPU time of this process during the pipeline (all its threads), ms. */
  cpuMs: number;
  cpu: Map<Category, number>;
  alloc: Map<Category, number>;
}

try {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [input, `${prefix}-raw-out`, `${prefix}-app-out`].map(
      (topic): ITopicConfig => ({ topic, numPartitions: PARTITIONS }),
    ),
  });
  await fill();
  const load = loadavg()[0]!;
  if (plain) {
    const rawMs = await rawKafkajs(`${prefix}-raw`, `${prefix}-raw-out`);
    const alosMs = await streamsApp(`${prefix}-app`, `${prefix}-app-out`);
    await writeResults('profile', [
      { name: `profile.${label}.plain.load-average`, value: Number(load.toFixed(2)), unit: '1-min' },
      {
        name: `profile.${label}.plain.raw.records-per-s`,
        value: Math.round((RECORDS / rawMs) * 1000),
        unit: 'records/s',
      },
      {
        name: `profile.${label}.plain.alos.records-per-s`,
        value: Math.round((RECORDS / alosMs) * 1000),
        unit: 'records/s',
      },
      {
        name: `profile.${label}.plain.alos.ratio-vs-raw`,
        value: Number((rawMs / alosMs).toFixed(3)),
        unit: 'x',
      },
    ]);
  } else {
    await profileBoth(load);
  }
} finally {
  session.disconnect();
  await removeByPrefix(admin, prefix);
  await admin.disconnect();
}

async function profileBoth(load: number): Promise<void> {
  const raw = await profiled('raw', () => rawKafkajs(`${prefix}-raw`, `${prefix}-raw-out`));
  const alos = await profiled('alos', () => streamsApp(`${prefix}-app`, `${prefix}-app-out`));
  const figures: Figure[] = [
    { name: `profile.${label}.load-average`, value: Number(load.toFixed(2)), unit: '1-min' },
    { name: `profile.${label}.records`, value: RECORDS, unit: 'records' },
    {
      name: `profile.${label}.alos.ratio-vs-raw`,
      value: Number((raw.ms / alos.ms).toFixed(3)),
      unit: 'x',
    },
    {
      name: `profile.${label}.alos.cpu-ratio-vs-raw`,
      value: Number((raw.cpuMs / alos.cpuMs).toFixed(3)),
      unit: 'x',
    },
  ];
  for (const p of [raw, alos]) {
    figures.push({ name: `profile.${label}.${p.pipeline}.wall-ms`, value: Math.round(p.ms), unit: 'ms' });
    figures.push({ name: `profile.${label}.${p.pipeline}.cpu-ms`, value: Math.round(p.cpuMs), unit: 'ms' });
    for (const c of CATEGORIES) {
      figures.push({
        name: `profile.${label}.${p.pipeline}.cpu.${c}`,
        value: Math.round(p.cpu.get(c)!),
        unit: 'ms',
      });
    }
    for (const c of CATEGORIES) {
      figures.push({
        name: `profile.${label}.${p.pipeline}.alloc.${c}`,
        value: Number(p.alloc.get(c)!.toFixed(1)),
        unit: 'MB',
      });
    }
  }
  await writeResults('profile', figures);
  const results = JSON.parse(
    readFileSync(new URL('../results/profile.json', import.meta.url), 'utf8'),
  ) as Figure[];
  writeFileSync(new URL('../profile.svg', import.meta.url), renderChart(results));
  process.stdout.write(table([raw, alos]));
}

/** Runs one pipeline with both profilers on; writes its profiles to .tmp/profile/<label>-<pipeline>.*. */
async function profiled(pipeline: Profiled['pipeline'], run: () => Promise<number>): Promise<Profiled> {
  await session.post('Profiler.enable');
  await session.post('HeapProfiler.enable');
  await session.post('Profiler.start');
  // Sampled allocations that were collected since count too: the profile is of what was allocated, not what lived.
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 64 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  const cpuBefore = cpuMs();
  const ms = await run();
  const cpuTotal = cpuMs() - cpuBefore;
  const { profile: heap } = await session.post('HeapProfiler.stopSampling');
  const { profile } = await session.post('Profiler.stop');
  await session.post('Profiler.disable');
  await session.post('HeapProfiler.disable');
  writeFileSync(new URL(`${label}-${pipeline}.cpuprofile`, outDir), JSON.stringify(profile));
  writeFileSync(new URL(`${label}-${pipeline}.heapprofile`, outDir), JSON.stringify(heap));
  return {
    pipeline,
    ms,
    cpuMs: cpuTotal,
    cpu: scaleToCpu(cpuBreakdown(profile as never), cpuTotal),
    alloc: heapBreakdown(heap.head as unknown as HeapNode),
  };
}

/**
 * The profile's samples are taken on a wall-clock interval, so on a loaded machine a sample also stands for the
 * time the thread waited for a core. The shares of the non-idle samples are scaled to the CPU time the process
 * measured instead (idle keeps its sampled time).
 */
function scaleToCpu(sampled: Map<Category, number>, cpu: number): Map<Category, number> {
  let busy = 0;
  for (const [c, ms] of sampled) if (c !== 'idle') busy += ms;
  const out = new Map<Category, number>();
  for (const [c, ms] of sampled) out.set(c, c === 'idle' || busy === 0 ? ms : (ms / busy) * cpu);
  return out;
}

function table(rows: Profiled[]): string {
  const lines = [`${'category'.padEnd(22)}${rows.map((r) => `${r.pipeline} cpu ms`.padStart(14)).join('')}`];
  for (const c of CATEGORIES) {
    lines.push(`${c.padEnd(22)}${rows.map((r) => r.cpu.get(c)!.toFixed(0).padStart(14)).join('')}`);
  }
  lines.push(`${'process cpu ms'.padEnd(22)}${rows.map((r) => r.cpuMs.toFixed(0).padStart(14)).join('')}`);
  lines.push(`${'wall ms'.padEnd(22)}${rows.map((r) => r.ms.toFixed(0).padStart(14)).join('')}`);
  return `${lines.join('\n')}\n`;
}

/** The word of input record `i`: KEYS distinct words (as in bench:e2e). */
function word(i: number): string {
  return `word-${(i * 7919) % KEYS}`;
}

async function fill(): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < RECORDS) {
        const from = next;
        next += SEND_BATCH;
        const messages: Message[] = [];
        for (let i = from; i < Math.min(from + SEND_BATCH, RECORDS); i++) {
          messages.push({ key: word(i), value: 'v'.repeat(88) });
        }
        await producer.sendBatch({ acks: 1, topicMessages: [{ topic: input, messages }] });
      }
    }),
  );
  await producer.disconnect();
}

/** Resolves once the group's committed offsets reach the end offsets of every input partition. */
async function committedToEnd(groupId: string, startedAt: number): Promise<void> {
  const ends = new Map((await admin.fetchTopicOffsets(input)).map((o) => [o.partition, o.high]));
  for (;;) {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [input] });
    const done = (committed?.partitions ?? []).filter((p) => p.offset === ends.get(p.partition)).length;
    if (done === PARTITIONS) return;
    if (performance.now() - startedAt > TIMEOUT_MS) throw new Error(`${groupId} did not commit all input`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** bench:e2e's baseline (`support/raw-count.ts`). */
async function rawKafkajs(groupId: string, output: string): Promise<number> {
  return rawKafkajsCount(kafka, { input, output, groupId }, (started) => committedToEnd(groupId, started));
}

/** bench:e2e's at-least-once count app, timed until it processed every record and close() committed. */
async function streamsApp(applicationId: string, output: string): Promise<number> {
  const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-profile-'));
  const started = performance.now();
  const app = new StreamsApp(wordCountTopology(input, output), {
    applicationId,
    brokers,
    stateDir,
    processingGuarantee: 'at-least-once',
    logger: { debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
  });
  try {
    await app.start();
    while (app.metrics.processed < RECORDS) {
      if (app.state === 'ERROR' || app.state === 'NOT_RUNNING') throw new Error(`the app is ${app.state}`);
      if (performance.now() - started > TIMEOUT_MS)
        throw new Error('the app did not process all input in time');
      await new Promise((r) => setTimeout(r, 50));
    }
    await app.close();
    const ms = performance.now() - started;
    await committedToEnd(applicationId, started);
    return ms;
  } finally {
    await app.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
