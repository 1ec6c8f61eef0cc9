#!/usr/bin/env node
// Starts and stops the local single-node Apache Kafka broker (KRaft) used by tests, CI, the demo and benchmarks.
//
//   node test/kafka/broker.mjs start|stop|status|fetch
//
// The jars come from Maven Central through test/kafka/pom.xml (pinned version) into test/kafka/dist/libs.
// Data and logs live in .data/kafka-<port>/ at the repository root. `start` is idempotent: a broker that
// already answers on the port is reused. When KAFKA_BROKERS is set, nothing is started and that cluster is used.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const libsDir = join(here, 'dist', 'libs');

/** Port of the broker's client listener; the controller listens on the next port. */
export const brokerPort = Number(process.env.KAFKA_PORT ?? 39092);
const host = '127.0.0.1';
const dataDir = join(repoRoot, '.data', `kafka-${brokerPort}`);
const pidFile = join(dataDir, 'broker.pid');
const logFile = join(dataDir, 'broker.out');

/** The bootstrap servers to use: KAFKA_BROKERS when set, else the local broker. */
export function brokers() {
  return process.env.KAFKA_BROKERS ?? `${host}:${brokerPort}`;
}

function log(msg) {
  process.stderr.write(`[kafka] ${msg}\n`);
}

/** Downloads the broker jars with Maven unless they are already there. */
export function fetchJars() {
  if (existsSync(libsDir) && readdirSync(libsDir).some((f) => f.startsWith('kafka_2.13-'))) return;
  log('fetching Apache Kafka from Maven Central (test/kafka/pom.xml) ...');
  const r = spawnSync(
    'mvn',
    ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${libsDir}`, '-DincludeScope=runtime'],
    { cwd: here, stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed with exit code ${r.status}`);
}

function kafkaVersion() {
  const jar = readdirSync(libsDir).find((f) => /^kafka_2\.13-.*\.jar$/.test(f));
  return jar?.replace(/^kafka_2\.13-|\.jar$/g, '');
}

function serverProperties() {
  const controllerPort = brokerPort + 1;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${controllerPort}`,
    `listeners=PLAINTEXT://${host}:${brokerPort},CONTROLLER://${host}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${brokerPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${join(dataDir, 'logs')}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    'group.initial.rebalance.delay.ms=0',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=10',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Tests create and delete many topics; keep the cleaner and retention checks quick.
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
    'logger.kafka.name=kafka',
    'logger.kafka.level=INFO',
    'logger.state.name=state.change.logger',
    'logger.state.level=WARN',
    '',
  ].join('\n');

function javaArgs(mainClass, args) {
  return [
    `-Dlog4j2.configurationFile=${join(dataDir, 'log4j2.properties')}`,
    '-cp',
    join(libsDir, '*'),
    mainClass,
    ...args,
  ];
}

/**
 * Sends an ApiVersions request (v0) and resolves true when a well-formed answer comes back: the broker is not
 * just listening but processing requests.
 */
export function brokerAnswers(target = `${host}:${brokerPort}`, timeoutMs = 1000) {
  const [h, p] = target.split(',')[0].split(':');
  return new Promise((done) => {
    const socket = net.connect({ host: h, port: Number(p) });
    const finish = (ok) => {
      socket.destroy();
      done(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    let got = Buffer.alloc(0);
    socket.on('connect', () => {
      const clientId = Buffer.from('eddy-probe');
      const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
      body.writeInt16BE(18, 0); // ApiVersions
      body.writeInt16BE(0, 2);
      body.writeInt32BE(7, 4); // correlation id
      body.writeInt16BE(clientId.length, 8);
      clientId.copy(body, 10);
      const size = Buffer.alloc(4);
      size.writeInt32BE(body.length);
      socket.write(Buffer.concat([size, body]));
    });
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 10) {
        clearTimeout(timer);
        // size(4) correlationId(4) errorCode(2)
        finish(got.readInt32BE(4) === 7 && got.readInt16BE(8) === 0);
      }
    });
    socket.on('error', () => {
      clearTimeout(timer);
      finish(false);
    });
  });
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid() {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
}

/**
 * Starts the broker unless one already answers. Resolves to `{ brokers, started }`; `started` is true only
 * when this call launched the process (so the caller owns stopping it).
 */
export async function startBroker({ timeoutMs = 90_000 } = {}) {
  if (process.env.KAFKA_BROKERS) {
    log(`KAFKA_BROKERS=${process.env.KAFKA_BROKERS}: using that cluster, starting nothing`);
    return { brokers: process.env.KAFKA_BROKERS, started: false };
  }
  if (await brokerAnswers()) {
    log(`a broker already answers on ${host}:${brokerPort}`);
    return { brokers: brokers(), started: false };
  }
  const stale = readPid();
  if (stale) {
    // Our own broker is still starting (or wedged): wait for it rather than start a second one.
    log(`broker process ${stale} exists; waiting for it to answer`);
    await waitUntilAnswers(stale, timeoutMs);
    return { brokers: brokers(), started: false };
  }
  fetchJars();
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'server.properties'), serverProperties());
  writeFileSync(join(dataDir, 'log4j2.properties'), log4jProperties(join(dataDir, 'server.log')));

  if (!existsSync(join(dataDir, 'logs', 'meta.properties'))) {
    // A base64url id may start with '-', which the storage tool's argument parser takes for an option (one start
    // in 64 failed with "argument --cluster-id: expected one argument"); Kafka's own ids avoid that too.
    let clusterId = randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
    const r = spawnSync(
      'java',
      javaArgs('kafka.tools.StorageTool', [
        'format',
        '--cluster-id',
        clusterId,
        '--config',
        join(dataDir, 'server.properties'),
        '--ignore-formatted',
      ]),
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`formatting KRaft storage failed:\n${r.stdout}\n${r.stderr}`);
  }

  const out = openSync(logFile, 'a');
  const heap = process.env.KAFKA_HEAP ?? '1g';
  const child = spawn(
    'java',
    [
      `-Xmx${heap}`,
      `-Xms${heap === '1g' ? '256m' : heap}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      ...javaArgs('kafka.Kafka', [join(dataDir, 'server.properties')]),
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  log(`starting Kafka ${kafkaVersion()} (pid ${child.pid}) on ${host}:${brokerPort}; logs in ${dataDir}`);
  await waitUntilAnswers(child.pid, timeoutMs);
  log('broker answers');
  return { brokers: brokers(), started: true };
}

async function waitUntilAnswers(pid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await brokerAnswers()) return;
    if (!pidAlive(pid)) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '';
      throw new Error(`the Kafka broker exited during start; see ${dataDir}\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `the Kafka broker did not answer on ${host}:${brokerPort} within ${timeoutMs} ms; see ${dataDir}`,
  );
}

/** Stops the broker this script started (SIGTERM, then SIGKILL after the timeout). */
export async function stopBroker({ timeoutMs = 30_000, wipe = false } = {}) {
  const pid = readPid();
  if (pid) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (pidAlive(pid)) {
      log(`broker ${pid} did not stop within ${timeoutMs} ms; killing it`);
      process.kill(pid, 'SIGKILL');
    }
    log(`broker ${pid} stopped`);
  }
  rmSync(pidFile, { force: true });
  if (wipe) rmSync(dataDir, { recursive: true, force: true });
}

async function main() {
  const cmd = process.argv[2];
  switch (cmd) {
    case 'start': {
      const { brokers: b } = await startBroker();
      process.stdout.write(`${b}\n`);
      break;
    }
    case 'stop':
      await stopBroker({ wipe: process.argv.includes('--wipe') });
      break;
    case 'status':
      process.stdout.write((await brokerAnswers(brokers())) ? `up ${brokers()}\n` : 'down\n');
      break;
    case 'fetch':
      fetchJars();
      break;
    default:
      process.stderr.write('usage: broker.mjs start|stop [--wipe]|status|fetch\n');
      process.exit(2);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
