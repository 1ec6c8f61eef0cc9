// The soak run: hours of orders through the rekeyed count app (a real process) with periodic SIGKILLs and broker
// bounces, each round checked for exact counts, the app's RSS and open file descriptors sampled throughout.
// Usage: pnpm soak <minutes> [--guarantee at-least-once|exactly-once] [--round-seconds n]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { type Figure, writeResults } from '../support/results.js';
import { soakChart } from './chart.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const minutes = Number(args[0]);
if (!Number.isFinite(minutes) || minutes <= 0) {
  process.stderr.write(
    'usage: pnpm soak <minutes> [--guarantee at-least-once|exactly-once] [--round-seconds n]\n',
  );
  process.exit(2);
}
const guarantee = option('guarantee', 'at-least-once') === 'exactly-once' ? 'exactly-once' : 'at-least-once';
const roundMs = Number(option('round-seconds', '90')) * 1000;
const CUSTOMERS = 500;
const PARTITIONS = 6;
const ORDERS_PER_SECOND = 1_000;
const CATCH_UP_MS = 180_000;

// A broker of its own, on its own port, so that bouncing it disturbs nothing else.
process.env.KAFKA_PORT ??= '39892';
const broker = await import('../../test/kafka/broker.mjs');
const say = (msg: string) =>
  process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const started = Date.now();
const deadline = started + minutes * 60_000;
const samples: { atS: number; rssMb: number; fds: number }[] = [];
const faults: { atS: number; kind: 'sigkill' | 'broker-bounce' | 'app-exit' }[] = [];
const rounds: { round: number; fault: string; orders: number; catchUpMs: number; exact: boolean }[] = [];
const elapsedS = () => Math.round((Date.now() - started) / 100) / 10;

async function waitUntil<T>(check: () => Promise<T | false | undefined>, what: string, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  let lastSaid = Date.now();
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined) return v;
    } catch {
      // (retried: the broker may be restarting)
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    if (Date.now() - lastSaid > 15_000) {
      say(`still waiting for ${what}`);
      lastSaid = Date.now();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

await broker.startBroker();
const brokers = broker.brokers();
const kafka = new Kafka({ clientId: 'soak', brokers: [brokers], logLevel: logLevel.NOTHING });
const id = Math.random().toString(16).slice(2, 10);
const input = `soak-orders-${id}`;
const output = `soak-counts-${id}`;
const applicationId = `soak-${id}`;
const admin = kafka.admin();
await admin.connect();
// A broker that has just started may not know a topic it created yet: each setup step is retried until it works.
await waitUntil(
  async () => {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: input, numPartitions: PARTITIONS },
        { topic: output, numPartitions: PARTITIONS },
      ],
    });
    const metadata = await admin.fetchTopicMetadata({ topics: [input, output] });
    return metadata.topics.every(
      (t) => t.partitions.length === PARTITIONS && t.partitions.every((p) => p.leader >= 0),
    );
  },
  'the input and output topics to have leaders',
  120_000,
);
const stateDir = mkdtempSync(join(tmpdir(), 'eddy-soak-'));
const expected = new Map<string, number>();
const latest = new Map<string, number>();
let produced = 0;

// The output, followed from the start: each customer's latest count (read_committed under exactly-once). A kafkajs
// consumer gives up for good on some failures while the broker restarts (e.g. its group coordinator still loading
// after its join's retries: KafkaJSGroupCoordinatorNotFound, `restart: false`); the follower then starts a new one in
// the same group, which goes on from the group's committed offsets.
let reader: Consumer | undefined;
let stopping = false;
async function follow(): Promise<void> {
  const consumer = kafka.consumer({
    groupId: `soak-reader-${id}`,
    readUncommitted: guarantee === 'at-least-once',
  });
  reader = consumer;
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart || stopping) return;
    say(`the output follower gave up (${payload.error.message}); following again`);
    void waitUntil(() => follow().then(() => true), 'the output follower to start again', 300_000);
  });
  await consumer.connect();
  await consumer.subscribe({ topic: output, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      latest.set(message.key!.toString(), Number(message.value!.toString()));
    },
  });
}
await waitUntil(() => follow().then(() => true), 'the output follower to start', 120_000);

// The app, restarted whenever it exits (as a StatefulSet's pod would be).
let app: ChildProcess | undefined;
let appLog = '';
function startApp(): void {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=eddy-source', 'test/support/apps/dsl-rekey-count.ts', input, output],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        KAFKA_BROKERS: brokers,
        APPLICATION_ID: applicationId,
        STATE_DIR: stateDir,
        PROCESSING_GUARANTEE: guarantee,
        COMMIT_INTERVAL_MS: guarantee === 'exactly-once' ? '100' : '1000',
      },
    },
  );
  const keep = (d: Buffer) => {
    appLog = (appLog + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', (code, signal) => {
    if (app !== child || stopping) return;
    if (signal !== 'SIGKILL') {
      faults.push({ atS: elapsedS(), kind: 'app-exit' });
      say(
        `the app exited by itself (${code ?? signal}); restarting it. Its last output:\n${appLog.slice(-2_000)}`,
      );
    }
    startApp();
  });
  app = child;
}

// Samples the app's resident memory and open file descriptors every 2 s.
const sampler = setInterval(() => {
  const pid = app?.pid;
  if (pid === undefined) return;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    if (Number.isFinite(rssKb)) samples.push({ atS: elapsedS(), rssMb: Math.round(rssKb / 102.4) / 10, fds });
  } catch {
    // (the process is between a kill and its restart)
  }
}, 2_000);

const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
/** Sends orders at a steady rate for `ms`; a send the broker refuses (it is bouncing) is retried. */
async function produceFor(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const batch = Array.from({ length: ORDERS_PER_SECOND / 10 }, (_, j) => {
      const customer = `c${((produced + j) * 7) % CUSTOMERS}`;
      return { key: `o${produced + j}`, value: customer };
    });
    for (;;) {
      try {
        await producer.send({ topic: input, messages: batch });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    for (const m of batch) expected.set(m.value, (expected.get(m.value) ?? 0) + 1);
    produced += batch.length;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Each customer's latest output count read again from the start by a new consumer, up to the output's end offsets: on a
 * failed round, tells an app that is behind from a follower that stopped following.
 */
async function latestAfresh(): Promise<Map<string, number>> {
  const ends = await admin.fetchTopicOffsets(output);
  const remaining = new Map(ends.filter((e) => e.high !== '0').map((e) => [e.partition, BigInt(e.high)]));
  const counts = new Map<string, number>();
  const fresh = kafka.consumer({
    groupId: `soak-check-${id}-${Date.now()}`,
    readUncommitted: guarantee === 'at-least-once',
  });
  await fresh.connect();
  try {
    await fresh.subscribe({ topic: output, fromBeginning: true });
    let caughtUp!: () => void;
    const done = new Promise<void>((resolve) => {
      caughtUp = resolve;
    });
    if (remaining.size === 0) caughtUp();
    await fresh.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) counts.set(m.key!.toString(), Number(m.value!.toString()));
        const end = remaining.get(batch.partition);
        // Under read_committed the last offsets may be transaction markers, which no batch holds.
        if (end !== undefined && BigInt(batch.lastOffset()) + 2n >= end) remaining.delete(batch.partition);
        if (remaining.size === 0) caughtUp();
      },
    });
    await Promise.race([done, new Promise((r) => setTimeout(r, 60_000))]);
  } finally {
    await fresh.disconnect();
  }
  return counts;
}

async function committedInput(): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId: applicationId, topics: [input] });
  return offsets!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

startApp();
say(`${minutes} min, ${guarantee}, rounds of ${roundMs / 1000} s; broker ${brokers}, state ${stateDir}`);
let failed = false;
for (let round = 1; Date.now() < deadline; round++) {
  const fault = round % 2 === 1 ? 'sigkill' : 'broker-bounce';
  const producing = produceFor(roundMs);
  await new Promise((r) => setTimeout(r, roundMs / 2));
  faults.push({ atS: elapsedS(), kind: fault });
  if (fault === 'sigkill') {
    say(`round ${round}: SIGKILL the app`);
    app?.kill('SIGKILL');
  } else {
    say(`round ${round}: stopping the broker, restarting it in 10 s`);
    await broker.stopBroker();
    await new Promise((r) => setTimeout(r, 10_000));
    await broker.startBroker();
  }
  await producing;
  // The check: once the app committed all input, every customer's latest output count is its number of orders.
  const pausedAt = Date.now();
  let exact = true;
  try {
    await waitUntil(
      async () =>
        (await committedInput()) === produced && [...expected].every(([c, n]) => latest.get(c) === n),
      `round ${round}: the app to commit all ${produced} orders and output every exact count`,
      CATCH_UP_MS,
    );
  } catch (err) {
    exact = false;
    failed = true;
    const wrong = [...expected].filter(([c, n]) => latest.get(c) !== n).slice(0, 5);
    say(`${(err as Error).message}; e.g. ${JSON.stringify(wrong.map(([c, n]) => [c, n, latest.get(c)]))}`);
    try {
      const committed = await committedInput();
      const afresh = await latestAfresh();
      const exactAfresh = [...expected].filter(([c, n]) => afresh.get(c) === n).length;
      const exactFollowed = [...expected].filter(([c, n]) => latest.get(c) === n).length;
      say(
        `round ${round}: input committed ${committed} of ${produced}; customers exact: ${exactFollowed} of ` +
          `${expected.size} as followed, ${exactAfresh} read again from the start`,
      );
    } catch (diagnosis) {
      say(`round ${round}: could not look closer: ${(diagnosis as Error).message}`);
    }
    say(`round ${round}: the app's last output:\n${appLog.slice(-4_000)}`);
  }
  const catchUpMs = Date.now() - pausedAt;
  rounds.push({ round, fault, orders: produced, catchUpMs, exact });
  const last = samples.at(-1);
  say(
    `round ${round}: ${exact ? 'exact' : 'NOT EXACT'} after ${produced} orders, caught up in ${catchUpMs} ms; ` +
      `RSS ${last?.rssMb ?? '?'} MB, ${last?.fds ?? '?'} fds`,
  );
  if (!exact) break;
}

stopping = true;
clearInterval(sampler);
app?.kill('SIGTERM');
await reader?.disconnect();
await producer.disconnect();
await admin.deleteTopics({ topics: [input, output] }).catch(() => undefined);
await admin.disconnect();
await broker.stopBroker();
rmSync(stateDir, { recursive: true, force: true });

const rss = samples.map((s) => s.rssMb);
const fds = samples.map((s) => s.fds);
const firstHalf = samples.filter((s) => s.atS < elapsedS() / 2);
const secondHalf = samples.filter((s) => s.atS >= elapsedS() / 2);
const peak = (xs: number[]) => (xs.length === 0 ? 0 : Math.max(...xs));
const figures: Figure[] = [
  { name: `soak.${guarantee}.minutes`, value: Math.round(elapsedS() / 6) / 10, unit: 'min' },
  { name: `soak.${guarantee}.orders`, value: produced, unit: 'records' },
  { name: `soak.${guarantee}.rounds-exact`, value: rounds.filter((r) => r.exact).length, unit: 'rounds' },
  { name: `soak.${guarantee}.rounds`, value: rounds.length, unit: 'rounds' },
  {
    name: `soak.${guarantee}.app-exits`,
    value: faults.filter((f) => f.kind === 'app-exit').length,
    unit: 'exits',
  },
  { name: `soak.${guarantee}.peak-rss-mb`, value: peak(rss), unit: 'MB' },
  {
    name: `soak.${guarantee}.peak-rss-mb.first-half`,
    value: peak(firstHalf.map((s) => s.rssMb)),
    unit: 'MB',
  },
  {
    name: `soak.${guarantee}.peak-rss-mb.second-half`,
    value: peak(secondHalf.map((s) => s.rssMb)),
    unit: 'MB',
  },
  { name: `soak.${guarantee}.peak-fds`, value: peak(fds), unit: 'fds' },
  {
    name: `soak.${guarantee}.max-catch-up-ms`,
    value: Math.max(0, ...rounds.map((r) => r.catchUpMs)),
    unit: 'ms',
  },
];
await writeResults('soak', figures);
const chart = new URL('../soak.svg', import.meta.url);
writeFileSync(chart, soakChart({ samples, faults, title: `Soak: ${guarantee}, ${figures[0]!.value} min` }));
say(`chart written to ${chart.pathname}; rounds: ${JSON.stringify(rounds)}`);
process.exit(failed ? 1 : 0);
