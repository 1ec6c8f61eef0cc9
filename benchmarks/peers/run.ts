// The peers benchmark: on one broker, in one run, the same count (consume → count per key in a persistent store →
// produce the running count) run by Kafka Streams, by a hand-written kafkajs pipeline and by Eddy (peers.ts), each
// in a process of its own, timed from outside by its group's committed offsets, its peak RSS and CPU time read
// from /proc, its output checked against the exact counts. `--records N` (default 1,000,000), `--peers id,id`.
// Writes benchmarks/results/peers.json and benchmarks/peers.svg.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ITopicConfig, Kafka, logLevel, type Message } from 'kafkajs';
import { build } from '../../test/differential/kstreams.mjs';
import { removeByPrefix } from '../support/cleanup.js';
import { checkCounts, expectedCounts } from '../support/counts.js';
import { committedToEnd, readCommitted } from '../support/pipeline.js';
import { type Figure, writeResults } from '../support/results.js';
import { renderPeersChart } from './chart.js';
import { parseOptions } from './options.js';
import { KSTREAMS_APP, PEERS, type Peer, RATIOS } from './peers.js';
import { ProcessSampler } from './proc.js';

const options = parseOptions(
  process.argv.slice(2),
  PEERS.map((p) => p.id),
);
const RECORDS = options.records;
const peers = PEERS.filter((p) => options.peers.includes(p.id));
const PARTITIONS = 6;
const KEYS = 10_000;
/** Record values: with a key of 8–9 bytes, about 100 bytes a record. */
const VALUE = 'v'.repeat(91);
// Below the broker's 1 MiB record batch limit.
const SEND_BATCH = 5_000;
const SENDS_IN_FLIGHT = 8;
/** An app that has not committed all input after this long fails the run. */
const TIMEOUT_MS = Number(process.env.PEERS_TIMEOUT_MS ?? 10 * 60_000);
/** How long an app may take to exit after SIGTERM before it is killed (and the run fails). */
const EXIT_TIMEOUT_MS = 60_000;
const root = fileURLToPath(new URL('../../', import.meta.url));
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:39092';
const prefix = `bench-peers-${randomUUID().slice(0, 8)}`;
const input = `${prefix}-input`;
const logDir = join(root, '.tmp', 'peers', prefix);

interface Measured {
  peer: Peer;
  ms: number;
  rate: number;
  peakRssBytes: number;
  cpuSeconds: number;
  outputs: number;
}

const kafka = new Kafka({ clientId: 'bench-peers', brokers: brokers.split(','), logLevel: logLevel.ERROR });
const admin = kafka.admin();

build(KSTREAMS_APP);
mkdirSync(logDir, { recursive: true });
await admin.connect();
try {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [input, ...peers.map(outputOf)].map(
      (topic): ITopicConfig => ({ topic, numPartitions: PARTITIONS }),
    ),
  });
  await fill();
  const expected = expectedCounts(RECORDS, keyOf);
  const loadBefore = loadavg()[0]!;
  const measured: Measured[] = [];
  for (const peer of peers) {
    const m = await run(peer);
    // The figure counts only once the output holds the exact counts.
    const last = new Map<string, number>();
    const outputs = await readCommitted(kafka, admin, outputOf(peer), prefix, (messages) => {
      for (const msg of messages) last.set(msg.key!.toString('utf8'), Number(msg.value!.toString('utf8')));
    });
    checkCounts(outputOf(peer), last, expected);
    measured.push({ ...m, outputs });
    say(
      `${peer.label}: ${m.ms.toFixed(0)} ms, ${Math.round(m.rate)} records/s, peak RSS ` +
        `${mb(m.peakRssBytes)} MB, ${m.cpuSeconds.toFixed(1)} s of CPU, ${outputs} outputs, counts exact`,
    );
  }
  const loadAfter = loadavg()[0]!;
  const of = (id: string) => measured.find((x) => x.peer.id === id);
  const figures: Figure[] = [
    { name: 'peers.records', value: RECORDS, unit: 'records' },
    { name: 'peers.load-average.before', value: Number(loadBefore.toFixed(2)), unit: '1-min' },
    { name: 'peers.load-average.after', value: Number(loadAfter.toFixed(2)), unit: '1-min' },
    ...measured.flatMap((m): Figure[] => [
      { name: `peers.count.${m.peer.id}.records-per-s`, value: Math.round(m.rate), unit: 'records/s' },
      { name: `peers.count.${m.peer.id}.peak-rss-mb`, value: mb(m.peakRssBytes), unit: 'MB' },
      { name: `peers.count.${m.peer.id}.cpu-s`, value: Number(m.cpuSeconds.toFixed(1)), unit: 's' },
    ]),
    // A ratio needs both of its apps in this run (--peers may leave one out).
    ...RATIOS.flatMap((r): Figure[] => {
      const [a, b] = [of(r.of), of(r.against)];
      if (a === undefined || b === undefined) return [];
      return [
        { name: r.name, value: Number((a.rate / b.rate).toFixed(3)), unit: 'x' },
        // The same comparison in CPU time per record (higher: `of` needs less), which a loaded machine skews less.
        {
          name: r.name.replace('.ratio-', '.cpu-ratio-'),
          value: Number((b.cpuSeconds / a.cpuSeconds).toFixed(3)),
          unit: 'x',
        },
      ];
    }),
  ];
  if (peers.length === PEERS.length) {
    await writeResults('peers', figures);
    const results = JSON.parse(
      readFileSync(new URL('../results/peers.json', import.meta.url), 'utf8'),
    ) as Figure[];
    writeFileSync(new URL('../peers.svg', import.meta.url), renderPeersChart(PEERS, results));
  } else {
    // The results file and the chart hold whole runs only: their ratios come from one run.
    for (const f of figures) say(`${f.name}: ${f.value} ${f.unit} (not written: --peers ran a part)`);
  }
  say(`load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; logs in ${logDir}`);
} finally {
  // A failed clean-up must not hide why the run failed.
  await removeByPrefix(admin, prefix).catch((error: unknown) => {
    process.stderr.write(`could not remove the topics and groups ${prefix}-*: ${String(error)}\n`);
  });
  await admin.disconnect();
}

function outputOf(peer: Peer): string {
  return `${prefix}-${peer.id}-out`;
}

/** The key of input record `i`: KEYS distinct keys of 8–9 bytes. */
function keyOf(i: number): string {
  return `key-${(i * 7919) % KEYS}`;
}

function mb(bytes: number): number {
  return Math.round(bytes / (1024 * 1024));
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Writes RECORDS records (partitioned by key, as kafkajs does by default) before any app starts. */
async function fill(): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const started = performance.now();
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: SENDS_IN_FLIGHT }, async () => {
        while (next < RECORDS) {
          const from = next;
          next += SEND_BATCH;
          const messages: Message[] = [];
          for (let i = from; i < Math.min(from + SEND_BATCH, RECORDS); i++) {
            messages.push({ key: keyOf(i), value: VALUE });
          }
          await producer.sendBatch({ acks: 1, topicMessages: [{ topic: input, messages }] });
        }
      }),
    );
  } finally {
    await producer.disconnect();
  }
  say(
    `filled ${input}: ${RECORDS} records of ≈ ${keyOf(KEYS - 1).length + VALUE.length} B, ${KEYS} keys, ` +
      `${PARTITIONS} partitions, in ${(performance.now() - started).toFixed(0)} ms`,
  );
}

/**
 * Starts the peer's process, waits until its group has committed the end of the input, then stops it with SIGTERM.
 * The time runs from the spawn (process start, joining the group, any state set-up) to that commit.
 */
async function run(peer: Peer): Promise<Omit<Measured, 'outputs'>> {
  const applicationId = `${prefix}-${peer.id}`;
  const stateDir = mkdtempSync(join(tmpdir(), `eddy-bench-peers-${peer.id}-`));
  const { command, args } = peer.command({ brokers, applicationId, input, output: outputOf(peer), stateDir });
  const logFile = join(logDir, `${peer.id}.log`);
  const log = createWriteStream(logFile);
  const started = performance.now();
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = exitOf(child);
  let exit: number | string | undefined;
  void exited.then((code) => {
    exit = code;
  });
  const usage = new ProcessSampler(child.pid!);
  try {
    await committedToEnd(admin, {
      groupId: applicationId,
      topic: input,
      startedAt: started,
      timeoutMs: TIMEOUT_MS,
      check: () => {
        if (exit !== undefined)
          throw new Error(`${peer.label} exited (${exit}) before it was done; see ${logFile}`);
      },
    });
    const ms = performance.now() - started;
    const { peakRssBytes, cpuSeconds } = usage.stop();
    if (peakRssBytes === 0) throw new Error(`${peer.label}: nothing read from /proc/${child.pid}`);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    const code = await exited.finally(() => clearTimeout(timer));
    if (code !== 0) throw new Error(`${peer.label} did not close cleanly (${code}); see ${logFile}`);
    return { peer, ms, rate: (RECORDS / ms) * 1000, peakRssBytes, cpuSeconds };
  } finally {
    usage.stop();
    if (exit === undefined) child.kill('SIGKILL');
    await exited;
    log.end();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function exitOf(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}
