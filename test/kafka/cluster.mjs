// A three-node Apache Kafka cluster (KRaft, each node broker and controller) on loopback for the fault tests, and
// what a test needs to fail it: stop, kill and restart one node, find the leader of a partition or a group's
// coordinator.
//
//   node test/kafka/broker.mjs start --cluster 3    (or KAFKA_CLUSTER=3)   ... stop --cluster [--wipe]
//
// Node i (1-based) listens for clients on KAFKA_CLUSTER_PORT + 2(i-1) (default 39400, 39402, 39404) and for the
// controller quorum on the next port. One cluster id, a static quorum of all nodes, replication factor 3 and
// min.insync.replicas=2 for every topic, the offsets and the transaction state topics. Data, logs and pid files live in
// .data/kafka-cluster-<port>/node-<i>/. `start` is idempotent: nodes that answer are kept, the others are started.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pidAlive, readPid, startOnFixedPorts, stopDaemon, waitUntilAnswers } from '../support/daemon.mjs';
import { brokerAnswers, fetchJars } from './broker.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const libsDir = join(here, 'dist', 'libs');
const host = '127.0.0.1';

/** Client port of node 1; node i uses basePort + 2(i-1), its controller the port after. */
export const clusterBasePort = Number(process.env.KAFKA_CLUSTER_PORT ?? 39400);
const clusterDir = join(repoRoot, '.data', `kafka-cluster-${clusterBasePort}`);
const idFile = join(clusterDir, 'cluster.id');

function log(msg) {
  process.stderr.write(`[kafka-cluster] ${msg}\n`);
}

/** The nodes of a cluster of `size`: id, client and controller ports, data folder. */
export function clusterNodes(size = clusterSize()) {
  return Array.from({ length: size }, (_, i) => {
    const port = clusterBasePort + 2 * i;
    const dir = join(clusterDir, `node-${i + 1}`);
    return {
      id: i + 1,
      port,
      controllerPort: port + 1,
      address: `${host}:${port}`,
      dir,
      pidFile: join(dir, 'broker.pid'),
      logFile: join(dir, 'broker.out'),
    };
  });
}

/** The cluster's size: what the last `start` wrote, else KAFKA_CLUSTER, else 3. */
function clusterSize() {
  const file = join(clusterDir, 'size');
  if (existsSync(file)) return Number(readFileSync(file, 'utf8'));
  return Number(process.env.KAFKA_CLUSTER ?? 3) || 3;
}

function node(id) {
  const n = clusterNodes().find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id} in the cluster`);
  return n;
}

/** The bootstrap servers of the cluster: every node's client address. */
export function clusterBrokers(size = clusterSize()) {
  return clusterNodes(size)
    .map((n) => n.address)
    .join(',');
}

function serverProperties(n, nodes) {
  const rf = Math.min(3, nodes.length);
  const minIsr = Math.max(1, rf - 1);
  return [
    'process.roles=broker,controller',
    `node.id=${n.id}`,
    `controller.quorum.voters=${nodes.map((x) => `${x.id}@${host}:${x.controllerPort}`).join(',')}`,
    `listeners=PLAINTEXT://${host}:${n.port},CONTROLLER://${host}:${n.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${n.port}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${join(n.dir, 'logs')}`,
    'num.partitions=1',
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${minIsr}`,
    'auto.create.topics.enable=false',
    'group.initial.rebalance.delay.ms=0',
    `offsets.topic.replication.factor=${rf}`,
    'offsets.topic.num.partitions=10',
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${minIsr}`,
    'transaction.state.log.num.partitions=10',
    `share.coordinator.state.topic.replication.factor=${rf}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    // A killed node is fenced (and leaves every ISR) after the session timeout; a slow follower after the lag time.
    'broker.session.timeout.ms=6000',
    'broker.heartbeat.interval.ms=1000',
    'replica.lag.time.max.ms=10000',
    // Tests write records with event times years back; under the default 7 days their segments are deleted at the
    // next retention check, which moved a log start past a consumer mid-test. Topics that set retention.ms keep it.
    'log.retention.ms=-1',
    'log.retention.check.interval.ms=30000',
    'log.cleaner.backoff.ms=1000',
    '',
  ].join('\n');
}

const log4jProperties = (file) =>
  [
    'appender.file.type=File',
    'appender.file.name=file',
    `appender.file.fileName=${file}`,
    'appender.file.layout.type=PatternLayout',
    'appender.file.layout.pattern=[%d] %p %m (%c)%n',
    'rootLogger.level=INFO',
    'rootLogger.appenderRef.file.ref=file',
    'logger.state.name=state.change.logger',
    'logger.state.level=WARN',
    '',
  ].join('\n');

function javaArgs(n, mainClass, args) {
  return [
    `-Dlog4j2.configurationFile=${join(n.dir, 'log4j2.properties')}`,
    '-cp',
    join(libsDir, '*'),
    mainClass,
    ...args,
  ];
}

/** The cluster id all nodes are formatted with, made once per data folder. */
function clusterId() {
  if (existsSync(idFile)) return readFileSync(idFile, 'utf8').trim();
  // An id starting with '-' would be taken for an option by the storage tool.
  let id = randomBytes(16).toString('base64url');
  while (id.startsWith('-')) id = randomBytes(16).toString('base64url');
  mkdirSync(clusterDir, { recursive: true });
  writeFileSync(idFile, id);
  return id;
}

function format(n, id) {
  if (existsSync(join(n.dir, 'logs', 'meta.properties'))) return Promise.resolve();
  const args = [
    'format',
    '--cluster-id',
    id,
    '--config',
    join(n.dir, 'server.properties'),
    '--ignore-formatted',
  ];
  const child = spawn('java', javaArgs(n, 'kafka.tools.StorageTool', args));
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('exit', (code) =>
      code === 0 ? done() : fail(new Error(`formatting node ${n.id} failed:\n${output}`)),
    );
  });
}

function spawnNode(n) {
  const out = openSync(n.logFile, 'a');
  const heap = process.env.KAFKA_CLUSTER_HEAP ?? '512m';
  const child = spawn(
    'java',
    [
      `-Xmx${heap}`,
      `-Xms${heap}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      ...javaArgs(n, 'kafka.Kafka', [join(n.dir, 'server.properties')]),
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  child.unref();
  writeFileSync(n.pidFile, String(child.pid));
  log(`node ${n.id} (pid ${child.pid}) starting on ${n.address}; logs in ${n.dir}`);
  return child.pid;
}

/**
 * Starts every node that does not answer yet and waits until each answers and the cluster's metadata lists all of
 * them. Resolves to `{ brokers, started }`; `started` is true when this call launched any node.
 */
export async function startCluster({
  size = Number(process.env.KAFKA_CLUSTER ?? 3) || 3,
  timeoutMs = Number(process.env.KAFKA_START_TIMEOUT_MS ?? 120_000),
} = {}) {
  mkdirSync(clusterDir, { recursive: true });
  writeFileSync(join(clusterDir, 'size'), String(size));
  const nodes = clusterNodes(size);
  const down = [];
  for (const n of nodes) {
    if (readPid(n.pidFile) || (await brokerAnswers(n.address))) continue;
    down.push(n);
  }
  if (down.length > 0) {
    fetchJars();
    const id = clusterId();
    for (const n of down) {
      mkdirSync(n.dir, { recursive: true });
      writeFileSync(join(n.dir, 'server.properties'), serverProperties(n, nodes));
      writeFileSync(join(n.dir, 'log4j2.properties'), log4jProperties(join(n.dir, 'server.log')));
    }
    await Promise.all(down.map((n) => format(n, id)));
    for (const n of down) spawnNode(n);
  }
  await waitUntilReady(
    nodes.map((n) => n.id),
    timeoutMs,
  );
  log(`cluster of ${size} answers on ${clusterBrokers(size)}`);
  return { brokers: clusterBrokers(size), started: down.length > 0 };
}

/** Waits until each of the nodes `ids` answers requests and every node's metadata lists all running nodes. */
export async function waitUntilReady(ids, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (const id of ids) {
    const n = node(id);
    const pid = readPid(n.pidFile);
    if (pid) {
      await waitUntilAnswers({
        pid,
        answers: () => brokerAnswers(n.address),
        timeoutMs: Math.max(1, deadline - Date.now()),
        logFile: n.logFile,
        serverLog: join(n.dir, 'server.log'),
        what: `Kafka node ${id}`,
        where: `${n.address}, ${n.dir}`,
      });
    }
  }
  const expected = clusterNodes()
    .filter((n) => readPid(n.pidFile))
    .map((n) => n.id)
    .sort();
  let seen = [];
  while (Date.now() < deadline) {
    const answers = await Promise.all(
      expected.map((id) =>
        metadata(node(id).address).then(
          (m) => m.brokers.map((b) => b.id).sort(),
          () => [],
        ),
      ),
    );
    seen = answers;
    if (answers.every((a) => a.join() === expected.join())) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `the cluster's metadata did not list nodes ${expected} within ${timeoutMs} ms: ${JSON.stringify(seen)}`,
  );
}

/** Stops every node (SIGTERM, then SIGKILL after the timeout); `wipe` deletes the cluster's data. */
export async function stopCluster({ timeoutMs = 30_000, wipe = false } = {}) {
  const nodes = clusterNodes();
  // All at once: a node stopped last alone would wait for a quorum to accept its controlled shutdown.
  await Promise.all(
    nodes.map((n) => stopDaemon({ pidFile: n.pidFile, timeoutMs, log, what: `node ${n.id}` })),
  );
  if (wipe) rmSync(clusterDir, { recursive: true, force: true });
}

async function waitForExit(pid, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`${what} (pid ${pid}) did not exit within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stops node `id` cleanly (SIGTERM: a controlled shutdown that moves its leaderships) and waits for it to exit. */
export async function stopNode(id, { timeoutMs = 60_000 } = {}) {
  const n = node(id);
  const pid = readPid(n.pidFile);
  if (!pid) return;
  process.kill(pid, 'SIGTERM');
  await waitForExit(pid, timeoutMs, `node ${id}`);
  log(`node ${id} stopped`);
}

/** Kills node `id` (SIGKILL: no shutdown at all) and waits for the process to be gone. */
export async function killNode(id) {
  const n = node(id);
  const pid = readPid(n.pidFile);
  if (!pid) return;
  process.kill(pid, 'SIGKILL');
  await waitForExit(pid, 10_000, `node ${id}`);
  log(`node ${id} killed`);
}

/**
 * Starts node `id` again on its data and waits until it answers and the cluster lists it. Idempotent. Its ports lie
 * in Linux's ephemeral range: the start waits for them to be free and starts again when the node still failed to bind
 * (`startOnFixedPorts`).
 */
export async function restartNode(id, { timeoutMs = 120_000 } = {}) {
  const n = node(id);
  if (readPid(n.pidFile)) return waitUntilReady([id], timeoutMs);
  return startOnFixedPorts({
    host,
    ports: [n.port, n.controllerPort],
    logFiles: [n.logFile, join(n.dir, 'server.log')],
    spawnServer: () => spawnNode(n),
    waitReady: (_pid, ms) => waitUntilReady([id], ms),
    timeoutMs,
    what: `Kafka node ${id}`,
    log,
  });
}

/** Ids of the nodes whose process runs. */
export function runningNodes() {
  return clusterNodes()
    .filter((n) => readPid(n.pidFile))
    .map((n) => n.id);
}

// --- A few Kafka requests, spoken directly (this module runs without installed packages). ---

/** Sends one request (header v1) to `address` and resolves to its response body, after the correlation id. */
function request(address, apiKey, version, body, timeoutMs = 5_000) {
  const [h, p] = address.split(':');
  return new Promise((done, fail) => {
    const socket = net.connect({ host: h, port: Number(p) });
    const timer = setTimeout(() => {
      socket.destroy();
      fail(new Error(`no answer from ${address} within ${timeoutMs} ms`));
    }, timeoutMs);
    let got = Buffer.alloc(0);
    socket.on('connect', () => {
      const clientId = Buffer.from('eddy-cluster');
      const header = Buffer.alloc(10);
      header.writeInt16BE(apiKey, 0);
      header.writeInt16BE(version, 2);
      header.writeInt32BE(11, 4);
      header.writeInt16BE(clientId.length, 8);
      const size = Buffer.alloc(4);
      size.writeInt32BE(header.length + clientId.length + body.length);
      socket.write(Buffer.concat([size, header, clientId, body]));
    });
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        done(got.subarray(8, 4 + got.readInt32BE(0)));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
  });
}

/** A reader of big-endian Kafka primitives. */
function reader(buf) {
  let at = 0;
  /** Moves past `n` bytes and returns where they start. */
  const take = (n) => {
    const start = at;
    at += n;
    return start;
  };
  const r = {
    i8: () => buf.readInt8(take(1)),
    i16: () => buf.readInt16BE(take(2)),
    i32: () => buf.readInt32BE(take(4)),
    str: () => {
      const len = r.i16();
      if (len < 0) return null;
      const start = take(len);
      return buf.toString('utf8', start, start + len);
    },
    array: (item) => Array.from({ length: Math.max(0, r.i32()) }, item),
  };
  return r;
}

function str(s) {
  const b = Buffer.from(s);
  const len = Buffer.alloc(2);
  len.writeInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/**
 * Metadata (v4) from the node at `address`: the brokers it knows and, for `topics`, each partition's leader, replicas
 * and in-sync replicas.
 */
export async function metadata(address, topics = []) {
  const count = Buffer.alloc(4);
  count.writeInt32BE(topics.length);
  const body = Buffer.concat([count, ...topics.map(str), Buffer.from([0])]);
  const r = reader(await request(address, 3, 4, body));
  r.i32(); // throttle
  const brokers = r.array(() => ({ id: r.i32(), host: r.str(), port: r.i32(), rack: r.str() }));
  r.str(); // cluster id
  const controller = r.i32();
  const parsed = r.array(() => ({
    error: r.i16(),
    topic: r.str(),
    internal: r.i8() !== 0,
    partitions: r.array(() => ({
      error: r.i16(),
      partition: r.i32(),
      leader: r.i32(),
      replicas: r.array(() => r.i32()),
      isr: r.array(() => r.i32()),
    })),
  }));
  return { brokers, controller, topics: parsed };
}

/** Asks the running nodes in turn; the first answer wins. */
async function fromAnyNode(ask) {
  let last;
  for (const id of runningNodes()) {
    try {
      return await ask(node(id).address);
    } catch (err) {
      last = err;
    }
  }
  throw last ?? new Error('no node of the cluster runs');
}

/** The node that leads `topic`'s `partition` (-1 while it has none). */
export async function partitionLeader(topic, partition = 0) {
  const m = await fromAnyNode((a) => metadata(a, [topic]));
  const p = m.topics.find((t) => t.topic === topic)?.partitions.find((x) => x.partition === partition);
  if (!p) throw new Error(`no metadata for ${topic}-${partition}`);
  return p.leader;
}

/** The in-sync replicas of `topic`'s `partition`. */
export async function inSyncReplicas(topic, partition = 0) {
  const m = await fromAnyNode((a) => metadata(a, [topic]));
  return (
    m.topics.find((t) => t.topic === topic)?.partitions.find((x) => x.partition === partition)?.isr ?? []
  );
}

/**
 * The node that coordinates `key`: a consumer group (`type` 0) or a transactional id (`type` 1), by FindCoordinator
 * v1. Retries for up to `timeoutMs` while the coordinator is not available (its internal topic is still being created
 * or its partition has no leader).
 */
export async function coordinator(key, type = 0, { timeoutMs = 30_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fromAnyNode(async (a) => {
        const r = reader(await request(a, 10, 1, Buffer.concat([str(key), Buffer.from([type])])));
        r.i32(); // throttle
        const error = r.i16();
        const message = r.str();
        const id = r.i32();
        if (error !== 0) throw new Error(`FindCoordinator(${key}) failed with error ${error}: ${message}`);
        return id;
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
