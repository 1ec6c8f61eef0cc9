// The demo (`./scripts/demo`): starts the local schema registry unless SCHEMA_REGISTRY_URL names one, produces Avro
// customers and orders, runs the orders app as a process and prints its decoded results as they arrive, stops it with
// SIGTERM, produces more orders, restarts it on the same state directory and shows that it resumed without replaying
// (changelog records restored, records processed, time to first processing), then queries a customer's total over
// HTTP. Every wait is on something observable and says what it saw when it lasts. ORDERS_FORMAT=json runs it with
// JSON values and no registry.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { schemaIdOf } from '@eddy/avro';
import { Kafka, logLevel } from 'kafkajs';
import { registryAnswers, registryUrl, startRegistry, stopRegistry } from '../../test/registry/registry.mjs';
import { type AppProcess, freePort, httpGet, metricValue, startOrdersApp } from './demo-process.js';
import type { CustomerTotal, RegionMinute } from './model.js';
import { produceSample } from './produce.js';
import { expectedPerMinute, expectedTotals, sampleCustomers, sampleOrders } from './sample-data.js';
import { type OrderSerdes, orderSerdesFromEnv, prepareForClient } from './serdes.js';
import { createOrderTopics, orderTopics } from './topics.js';
import { ORDER_STORES, regionMinuteKey } from './topology.js';

const WAIT_MS = Number(process.env.DEMO_WAIT_MS ?? 90_000);
const format = process.env.ORDERS_FORMAT || 'avro';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(',');
const run = randomBytes(3).toString('hex');
const prefix = `demo-${run}-`;
const applicationId = `orders-demo-${run}`;
const topics = orderTopics(prefix);
const stateDir = mkdtempSync(join(tmpdir(), 'eddy-orders-demo-'));
const kafka = new Kafka({ clientId: 'eddy-demo', brokers, logLevel: logLevel.NOTHING });
const began = Date.now();

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const step = (text: string) => console.log(`\n[${seconds(Date.now() - began).padStart(7)}] ${text}`);
const info = (text: string) => console.log(`           ${text}`);
const money = (cents: number) => (cents / 100).toFixed(2);
const minute = (start: number) => new Date(start).toISOString().slice(11, 16);

let app: AppProcess | undefined;
let appExit: number | string | undefined;
let appState = 'not started';
let lastWarning = '';
/** The schema registry the demo uses (Avro only), and whether the demo started it (then it stops it at the end). */
let registry: { readonly url: string; started: boolean } | undefined;
let closeSerdes: () => void = () => undefined;
const clientErrors = new Set<string>();

/**
 * Shows the app's state changes, assignments, restores, warnings and errors (the Kafka client's, each kind once);
 * keeps the rest for a failure report.
 */
function onAppLine(line: string): void {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line);
  } catch {
    if (line.trim() !== '') info(`[app] ${line}`);
    return;
  }
  if (entry.event === 'state') {
    appState = String(entry.state);
    info(`[app] state ${appState}`);
  } else if (entry.event === 'assigned') {
    info(`[app] assigned tasks ${(entry.tasks as string[]).join(' ')} (generation ${entry.generation})`);
  } else if (entry.event === 'restore-end') {
    info(`[app] restored ${entry.restored} records into ${entry.store} (partition ${entry.partition})`);
  } else if (entry.logger === 'kafkajs' && typeof entry.error === 'string') {
    // The Kafka client logs every retry, e.g. while a fresh broker loads its group coordinator: each error once.
    lastWarning = `Kafka client: ${entry.error}`;
    if (!clientErrors.has(entry.error)) {
      clientErrors.add(entry.error);
      info(`[app] Kafka client: ${entry.error} (${entry.message}; it retries, further ones not shown)`);
    }
  } else if (entry.level === 'warn' || entry.level === 'error') {
    const { time: _t, level, logger: _l, message, ...fields } = entry;
    lastWarning = `${message} ${JSON.stringify(fields)}`;
    info(`[app] ${level}: ${lastWarning}`);
  }
}

function startApp(port: number): AppProcess {
  const started = startOrdersApp(
    prefix,
    port,
    {
      KAFKA_BROKERS: brokers.join(','),
      ORDERS_FORMAT: format,
      ...(registry === undefined ? {} : { SCHEMA_REGISTRY_URL: registry.url }),
      APPLICATION_ID: applicationId,
      STATE_DIR: stateDir,
      COMMIT_INTERVAL_MS: '500',
    },
    onAppLine,
  );
  appExit = undefined;
  appState = 'starting';
  void started.exited.then((code) => {
    appExit = code;
  });
  return started;
}

class DemoFailure extends Error {}

/**
 * Polls `check` until it gives a value; says every 10 s what it still waits for and what it has seen, and fails
 * after WAIT_MS (or when the app exits, unless `appMayExit`) with what it saw.
 */
async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  seen: () => string | Promise<string>,
  { appMayExit = false } = {},
): Promise<T> {
  info(`waiting for ${what} ...`);
  const start = Date.now();
  let nextNote = start + 10_000;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (!appMayExit && appExit !== undefined) {
      throw new DemoFailure(
        `the app exited (${appExit}) while the demo waited for ${what}; seen: ${await seen()}`,
      );
    }
    const now = Date.now();
    if (now - start > WAIT_MS) {
      throw new DemoFailure(
        `gave up after ${seconds(now - start)} waiting for ${what}; seen: ${await seen()}`,
      );
    }
    if (now >= nextNote) {
      info(`still waiting for ${what} (${seconds(now - start)}): ${await seen()}`);
      nextNote += 10_000;
    }
    await sleep(200);
  }
}

/** What the app reports of itself, for progress and failure messages. */
async function appStatus(): Promise<string> {
  if (app === undefined) return 'app not started';
  const ready = await httpGet(app.port, '/readyz');
  const readiness =
    ready.status === 0
      ? 'its HTTP server does not answer yet'
      : `/readyz ${ready.status} ${ready.body.slice(0, 200)}`;
  return `app state ${appState}, ${readiness}${lastWarning ? `, last warning: ${lastWarning}` : ''}`;
}

async function metric(name: string): Promise<number | undefined> {
  if (app === undefined) return undefined;
  const page = await httpGet(app.port, '/metrics');
  return page.status === 200 ? metricValue(page.body, name) : undefined;
}

/** Waits for the app's first processed record; gives the time since it was started. */
async function timeToFirstProcessing(startedAt: number): Promise<number> {
  await waitUntil(
    'the app to process its first record (eddy_records_processed_total > 0)',
    async () => ((await metric('eddy_records_processed_total')) ?? 0) > 0,
    appStatus,
  );
  return Date.now() - startedAt;
}

async function stopApp(): Promise<void> {
  const stopping = app;
  if (stopping === undefined) return;
  stopping.child.kill('SIGTERM');
  const code = await waitUntil(
    'the app to commit, checkpoint its stores and exit',
    () => appExit,
    appStatus,
    {
      appMayExit: true,
    },
  );
  if (code !== 0) throw new DemoFailure(`the app exited with ${code} after SIGTERM`);
  info('the app exited with code 0');
}

/** Sum of the end offsets of the app's changelog topics: how many records a restore from scratch would read. */
async function changelogRecords(): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let total = 0;
    for (const store of Object.values(ORDER_STORES)) {
      const offsets = await admin.fetchTopicOffsets(`${applicationId}-${store}-changelog`);
      for (const o of offsets) total += Number(o.high) - Number(o.low);
    }
    return total;
  } finally {
    await admin.disconnect();
  }
}

let cleaning: Promise<void> | undefined;
/** Cleans up once, whether the demo ends or is interrupted. */
const cleanUp = (): Promise<void> => {
  cleaning ??= cleanUpNow();
  return cleaning;
};

async function cleanUpNow(): Promise<void> {
  if (app !== undefined && appExit === undefined) app.child.kill('SIGKILL');
  const admin = kafka.admin();
  try {
    await admin.connect();
    const ours = (await admin.listTopics()).filter(
      (t) => t.startsWith(prefix) || t.startsWith(`${applicationId}-`),
    );
    if (ours.length > 0) await admin.deleteTopics({ topics: ours });
  } catch (err) {
    info(`could not delete the demo's topics: ${String(err)}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  rmSync(stateDir, { recursive: true, force: true });
  closeSerdes();
  if (registry?.started) {
    await stopRegistry();
    info(`stopped the schema registry the demo started`);
  } else if (registry !== undefined) {
    await deleteSubjects(registry.url);
  }
}

/** Deletes the subjects of the demo's topics from a registry the demo did not start (it keeps the others). */
async function deleteSubjects(url: string): Promise<void> {
  try {
    const subjects = (await (await fetch(`${url}/subjects`)).json()) as string[];
    const ours = subjects.filter((s) => s.startsWith(prefix) || s.startsWith(`${applicationId}-`));
    for (const subject of ours) {
      // A soft delete first: a registry deletes a subject permanently only once it is soft-deleted.
      for (const query of ['', '?permanent=true']) {
        const res = await fetch(`${url}/subjects/${encodeURIComponent(subject)}${query}`, {
          method: 'DELETE',
        });
        if (!res.ok && res.status !== 404) throw new Error(`DELETE ${subject}${query}: ${res.status}`);
      }
    }
  } catch (err) {
    info(`could not delete the demo's subjects from the registry: ${String(err)}`);
  }
}

/**
 * The registry at SCHEMA_REGISTRY_URL once it answers, else the local one (test/registry/registry.mjs), started
 * unless it already answers; says where it is and how long its start took. Sets `registry` before it waits, so that
 * the clean-up stops a registry the demo started even when the start fails.
 */
async function useRegistry(): Promise<void> {
  const given = process.env.SCHEMA_REGISTRY_URL;
  const url = given || registryUrl();
  const answers = async () => (await registryAnswers(url)) || undefined;
  const notYet = () => `GET ${url}/subjects does not answer yet`;
  if (given) {
    info(`using the schema registry at ${url} (SCHEMA_REGISTRY_URL)`);
    registry = { url, started: false };
    await waitUntil('the registry to answer', answers, notYet);
    return;
  }
  if (await registryAnswers(url)) {
    info(`using the local schema registry at ${url}, already running (the demo leaves it running)`);
    registry = { url, started: false };
    return;
  }
  info(
    `starting the local schema registry (Apicurio, in memory) at ${url}; SCHEMA_REGISTRY_URL names another`,
  );
  const since = Date.now();
  registry = { url, started: true };
  let failed: unknown;
  startRegistry({ timeoutMs: WAIT_MS }).then(
    // Another start of the same checkout's registry may have been under way: then that one owns it.
    (r) => {
      if (registry !== undefined) registry.started = r.started;
    },
    (err) => {
      failed = err;
    },
  );
  await waitUntil(
    'the registry to answer (a JVM starting)',
    async () => {
      if (failed !== undefined) throw failed;
      return answers();
    },
    () => `${notYet()}; its log: .data/registry-${new URL(url).port}/registry.out`,
  );
  info(`the registry answered ${seconds(Date.now() - since)} after the start; the demo stops it at the end`);
}

// The results as they arrive: the last value per key of the two aggregate output topics.
const totals = new Map<string, CustomerTotal>();
const perMinute = new Map<string, number>();
const reader = kafka.consumer({ groupId: `${applicationId}-reader` });
let readerJoined = false;
reader.on(reader.events.GROUP_JOIN, () => {
  readerJoined = true;
});

const customers = sampleCustomers(12);
const names = new Map(customers.map((c) => [c.id, c.name]));
const now = Date.now();
const firstMinute = now - (now % 60_000);
const ids = customers.map((c) => c.id);
const firstOrders = sampleOrders(ids, 120, { start: firstMinute, seed: 1, prefix: `${run}-a` });
const laterOrders = sampleOrders(ids, 60, { start: firstMinute + 120_000, seed: 2, prefix: `${run}-b` });

/** Waits until every expected total and minute count has arrived as the last value of its key. */
async function resultsFor(orders: typeof firstOrders): Promise<void> {
  const wantTotals = expectedTotals(orders);
  const wantMinutes = expectedPerMinute(customers, orders, regionMinuteKey);
  const matching = () => ({
    totals: [...wantTotals].filter(([id, t]) => totals.get(id)?.totalCents === t.totalCents).length,
    minutes: [...wantMinutes].filter(([key, n]) => perMinute.get(key) === n).length,
  });
  await waitUntil(
    `all ${wantTotals.size} customer totals and ${wantMinutes.size} minute counts`,
    () => {
      const m = matching();
      return m.totals === wantTotals.size && m.minutes === wantMinutes.size;
    },
    async () => {
      const m = matching();
      const joined = readerJoined
        ? 'the reader has joined its group'
        : 'the reader has not joined its group yet (its group coordinator may still be loading)';
      return `${m.totals} of ${wantTotals.size} totals and ${m.minutes} of ${wantMinutes.size} minute counts are final; ${joined}; ${await appStatus()}`;
    },
  );
}

/** The schema id of each output topic's values as the reader saw them on the wire (Avro only). */
const schemaIds = new Map<string, number>();
let interrupted = false;

// Interrupted (Ctrl-C): the same clean-up, so that a registry the demo started does not outlive it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\nthe demo was interrupted (${signal}); cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  console.log(`Eddy demo: the orders example against ${brokers.join(',')} (run ${run})`);

  if (format === 'json') {
    step('1/9 values are JSON (ORDERS_FORMAT=json): no schema registry');
  } else if (format === 'avro') {
    step('1/9 the schema registry: the values are Avro, their schemas registered there');
    await useRegistry();
  }
  // An unknown ORDERS_FORMAT stops the demo here (INVALID_CONFIG), before anything is created.
  const chosen = orderSerdesFromEnv({
    ...process.env,
    ...(registry === undefined ? {} : { SCHEMA_REGISTRY_URL: registry.url }),
  });
  const formats: OrderSerdes = chosen.serdes;
  closeSerdes = chosen.close;

  step('2/9 creating the input and output topics (3 partitions each)');
  await createOrderTopics(kafka, topics);
  info(`${Object.values(topics).join(', ')}`);

  step(
    `3/9 producing ${customers.length} customers and ${firstOrders.length} orders (one a second from ${minute(firstMinute)} UTC)${format === 'avro' ? ' as Avro' : ''}`,
  );
  await produceSample(kafka, topics, formats, {
    customers,
    customersAt: firstMinute - 1,
    orders: firstOrders,
  });
  if (format === 'avro') {
    info(
      `registered the schemas of ${topics.customers}-value and ${topics.orders}-value (examples/orders/schemas/*.avsc)`,
    );
  }

  const totalSerde = formats.customerTotal();
  const minuteSerde = formats.regionMinute();
  const client = `${applicationId}-reader`;
  await prepareForClient(totalSerde, { client, topic: topics.totals, writes: false });
  await prepareForClient(minuteSerde, { client, topic: topics.perMinute, writes: false });
  await reader.connect();
  await reader.subscribe({ topics: [topics.totals, topics.perMinute], fromBeginning: true });
  await reader.run({
    eachMessage: async ({ topic, message }) => {
      const key = message.key?.toString() ?? '';
      if (format === 'avro' && message.value !== null && !schemaIds.has(topic)) {
        schemaIds.set(topic, schemaIdOf(message.value));
      }
      if (topic === topics.totals) {
        const total = totalSerde.deserialize(message.value);
        if (total === null) return;
        totals.set(key, total);
        info(
          `total   ${key} ${names.get(key)?.padEnd(10)} ${String(total.orders).padStart(3)} orders ${money(total.totalCents).padStart(9)}`,
        );
      } else {
        const count: RegionMinute | null = minuteSerde.deserialize(message.value);
        if (count === null) return;
        perMinute.set(key, count.orders);
        info(
          `minute  ${count.region.padEnd(9)} ${minute(count.windowStart)} ${String(count.orders).padStart(3)} orders`,
        );
      }
    },
  });

  const port = await freePort();
  step(`4/9 starting the orders app (state directory ${stateDir}, HTTP on port ${port})`);
  let startedAt = Date.now();
  app = startApp(port);
  const firstStart = await timeToFirstProcessing(startedAt);
  info(`first record processed ${seconds(firstStart)} after the process started`);
  await resultsFor(firstOrders);
  const processedFirst = (await metric('eddy_records_processed_total')) ?? 0;
  const expectedFirst = customers.length + 3 * firstOrders.length;

  step('5/9 the results of the first run');
  for (const [id, t] of [...totals].sort()) {
    info(
      `${id} ${names.get(id)?.padEnd(10)} ${String(t.orders).padStart(3)} orders ${money(t.totalCents).padStart(9)}`,
    );
  }
  info(
    `orders per region and minute: ${[...perMinute]
      .sort()
      .map(([k, n]) => `${k.replace(/:00\.000Z$/, '')}=${n}`)
      .join('  ')}`,
  );
  for (const [topic, id] of schemaIds) {
    info(
      `${topic}: Avro values in the Confluent wire format, schema id ${id} (${registry?.url}/schemas/ids/${id})`,
    );
  }
  info(
    `the app processed ${processedFirst} records: the customers, and each order from its topic and from the two repartition topics${processedFirst > expectedFirst ? ` (${expectedFirst}, and ${processedFirst - expectedFirst} processed a second time, as at-least-once allows; the results above are exact all the same)` : ''}`,
  );

  step('6/9 stopping the app with SIGTERM: it finishes its batch, commits, checkpoints its stores and exits');
  await stopApp();
  const changelog = await changelogRecords();
  info(`its changelog topics now hold ${changelog} records: what a restore from scratch would read`);

  step(`7/9 producing ${laterOrders.length} more orders while the app is down`);
  await produceSample(kafka, topics, formats, { orders: laterOrders });

  step('8/9 restarting the app on the same state directory');
  startedAt = Date.now();
  app = startApp(port);
  const secondStart = await timeToFirstProcessing(startedAt);
  await waitUntil(
    'the app to be ready (/readyz 200: running, no task restoring)',
    async () => {
      const ready = await httpGet(app?.port ?? 0, '/readyz');
      return ready.status === 200;
    },
    appStatus,
  );
  await resultsFor([...firstOrders, ...laterOrders]);
  const restored = (await metric('eddy_restored_records_total')) ?? Number.NaN;
  const processedSecond = (await metric('eddy_records_processed_total')) ?? Number.NaN;
  info(`restored ${restored} of the ${changelog} changelog records: the stores on disk were up to date`);
  const onlyNew = processedSecond === 3 * laterOrders.length;
  info(
    `processed ${processedSecond} records since the restart: ${onlyNew ? `the ${laterOrders.length} new orders, three times each, and nothing from before` : `expected ${3 * laterOrders.length} for the ${laterOrders.length} new orders: some were processed again`}`,
  );
  info(
    `first record processed ${seconds(secondStart)} after the restart (${seconds(firstStart)} on the first start)`,
  );
  if (restored !== 0)
    throw new DemoFailure(`the restart restored ${restored} changelog records, expected none`);

  step('9/9 querying the app over HTTP');
  const [topId, top] = [...expectedTotals([...firstOrders, ...laterOrders])].sort(
    (a, b) => b[1].totalCents - a[1].totalCents,
  )[0] as [string, CustomerTotal];
  const path = `/stores/${ORDER_STORES.totals}/keys/${topId}`;
  const answer = await httpGet(app.port, path);
  info(`GET ${path} -> ${answer.status} ${answer.body}`);
  const value = answer.status === 200 ? (JSON.parse(answer.body).value as CustomerTotal) : undefined;
  if (value?.totalCents !== top.totalCents) {
    throw new DemoFailure(
      `the query answered ${answer.status} ${answer.body}, expected a total of ${top.totalCents} cents`,
    );
  }
  info(`${names.get(topId)} is the best customer: ${value.orders} orders, ${money(value.totalCents)} in all`);
  const region = customers.find((c) => c.id === topId)?.region ?? 'unknown';
  const windows = await httpGet(app.port, `/stores/${ORDER_STORES.perMinute}/keys/${region}`);
  info(`GET /stores/${ORDER_STORES.perMinute}/keys/${region} -> ${windows.status} ${windows.body}`);

  await stopApp();
  step(`done in ${seconds(Date.now() - began)}`);
} catch (err) {
  // Interrupted: the wait that failed because the clean-up killed the app is no failure of the demo.
  if (!interrupted) {
    console.error(`\nthe demo failed: ${err instanceof Error ? err.message : String(err)}`);
    if (app !== undefined) console.error(`the app's last lines:\n  ${app.recentLines(15).join('\n  ')}`);
    process.exitCode = 1;
  }
} finally {
  await reader.disconnect().catch(() => undefined);
  await cleanUp();
}
