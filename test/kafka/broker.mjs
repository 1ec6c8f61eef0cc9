#!/usr/bin/env node
// Starts and stops the local single-node Apache Kafka broker (KRaft) used by tests, CI, the demo and benchmarks.
//
//   node test/kafka/broker.mjs start [--secure]|stop [--wipe]|status|fetch
//
// `start --cluster <n>` (or KAFKA_CLUSTER=<n>) starts a cluster of n nodes instead, for the fault tests
// (test/kafka/cluster.mjs); `stop --cluster` and `status --cluster` act on it.
//
// `start --secure` (or KAFKA_SECURITY=1) starts a broker for security tests instead: certificates generated at start
// (test/kafka/certs.mjs), listeners PLAINTEXT (the harness's, a super user), SSL with required client certificates
// (mTLS), SASL_SSL with SCRAM and PLAIN users and unsecured OAUTHBEARER tokens, and the standard authorizer, which
// denies what no ACL allows. What a client needs to connect is written to .data/kafka-<port>/secure.json; `start`
// prints its path.
// The jars come from Maven Central through test/kafka/pom.xml (pinned version) into test/kafka/dist/libs.
// Data and logs live in .data/kafka-<port>/ at the repository root. `start` is idempotent: a broker that
// already answers on the port is reused. When KAFKA_BROKERS is set, nothing is started and that cluster is used.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  readPid as readPidOf,
  startOnFixedPorts,
  stopDaemon,
  waitUntilAnswers as waitForDaemon,
} from '../support/daemon.mjs';
import { brokerStores, generateCertificates, STORE_PASSWORD } from './certs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const libsDir = join(here, 'dist', 'libs');

/** Port of the broker's client listener; the controller listens on the next port. */
export const brokerPort = Number(process.env.KAFKA_PORT ?? 39092);
const host = '127.0.0.1';
const dataDir = join(repoRoot, '.data', `kafka-${brokerPort}`);
const pidFile = join(dataDir, 'broker.pid');
const logFile = join(dataDir, 'broker.out');
const serverLogFile = join(dataDir, 'server.log');
const secureFile = join(dataDir, 'secure.json');

/**
 * The SASL user of the secure broker and its password: for both SCRAM mechanisms (created at format time) and for
 * PLAIN (in the listener's JAAS configuration).
 */
export const scramUser = { username: 'eddy-app', password: 'eddy-app-secret' };
/** The client certificates' common name: the principal `User:eddy-app` over mTLS, as over SASL with `scramUser`. */
const clientPrincipal = 'eddy-app';

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

/** Listeners of the secure broker: PLAINTEXT on the port, CONTROLLER on the next, then SSL and SASL_SSL. */
export function secureListeners(port = brokerPort) {
  return { plaintext: `${host}:${port}`, ssl: `${host}:${port + 2}`, saslSsl: `${host}:${port + 3}` };
}

function securityProperties(stores) {
  const ssl = secureListeners();
  const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  const oauth = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;';
  const plain = `org.apache.kafka.common.security.plain.PlainLoginModule required user_${scramUser.username}="${scramUser.password}";`;
  return [
    `listeners=PLAINTEXT://${host}:${brokerPort},CONTROLLER://${host}:${brokerPort + 1},SSL://${ssl.ssl},SASL_SSL://${ssl.saslSsl}`,
    `advertised.listeners=PLAINTEXT://${host}:${brokerPort},SSL://${ssl.ssl},SASL_SSL://${ssl.saslSsl}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL',
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${stores.keystore}`,
    `ssl.keystore.password=${STORE_PASSWORD}`,
    `ssl.key.password=${STORE_PASSWORD}`,
    'ssl.truststore.type=PKCS12',
    `ssl.truststore.location=${stores.truststore}`,
    `ssl.truststore.password=${STORE_PASSWORD}`,
    'listener.name.ssl.ssl.client.auth=required',
    'listener.name.sasl_ssl.ssl.client.auth=none',
    // A client certificate's principal is its common name, as a SCRAM user's is its name.
    'ssl.principal.mapping.rules=RULE:^CN=([^,]+)$/$1/,DEFAULT',
    'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER,PLAIN',
    `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scram}`,
    `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scram}`,
    // OAUTHBEARER with Kafka's unsecured validator: tokens are unsigned JWTs whose `sub` claim is the principal.
    `listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=${oauth}`,
    `listener.name.sasl_ssl.plain.sasl.jaas.config=${plain}`,
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    // The controller and the harness connect over PLAINTEXT, whose principal is ANONYMOUS.
    'super.users=User:ANONYMOUS',
    'allow.everyone.if.no.acl.found=false',
  ];
}

/**
 * Listeners of the plain broker. KAFKA_ADVERTISED_PORT: clients reach the broker through another port (a proxy a test
 * can cut or degrade). KAFKA_DIRECT_PORT: a second listener, advertised as itself, for clients that must bypass it.
 */
function plainListeners(controllerPort) {
  const direct = process.env.KAFKA_DIRECT_PORT;
  const advertised = `PLAINTEXT://${host}:${process.env.KAFKA_ADVERTISED_PORT ?? brokerPort}`;
  return [
    `listeners=PLAINTEXT://${host}:${brokerPort},CONTROLLER://${host}:${controllerPort}${direct ? `,DIRECT://${host}:${direct}` : ''}`,
    `advertised.listeners=${advertised}${direct ? `,DIRECT://${host}:${direct}` : ''}`,
    `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${direct ? ',DIRECT:PLAINTEXT' : ''}`,
  ];
}

function serverProperties(stores) {
  const controllerPort = brokerPort + 1;
  const listeners = stores ? securityProperties(stores) : plainListeners(controllerPort);
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${controllerPort}`,
    ...listeners,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
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
    // Tests write records with event times years back; under the default 7 days their segments are deleted at the
    // next retention check, which moved a log start past a consumer mid-test. Topics that set retention.ms keep it.
    'log.retention.ms=-1',
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

const readPid = () => readPidOf(pidFile);

/**
 * Starts the broker unless one already answers. Resolves to `{ brokers, started }`; `started` is true only
 * when this call launched the process (so the caller owns stopping it).
 */
export async function startBroker({
  timeoutMs = Number(process.env.KAFKA_START_TIMEOUT_MS ?? 90_000),
  secure = process.env.KAFKA_SECURITY === '1',
} = {}) {
  if (secure) return startSecure(timeoutMs);
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
  configure();
  await format();
  const direct = process.env.KAFKA_DIRECT_PORT ? [Number(process.env.KAFKA_DIRECT_PORT)] : [];
  await spawnWhenPortsFree([brokerPort, brokerPort + 1, ...direct], timeoutMs);
  log('broker answers');
  return { brokers: brokers(), started: true };
}

/**
 * Starts the secure broker on a fresh data folder, or reuses the one of this port that answers, and resolves to
 * `{ brokers, started, security }` where `security` is what `secure.json` holds.
 */
async function startSecure(timeoutMs) {
  if ((await brokerAnswers()) || readPid()) {
    if (!existsSync(secureFile)) throw new Error(`a broker without security runs on ${host}:${brokerPort}`);
    const pid = readPid();
    if (pid) await waitUntilAnswers(pid, timeoutMs);
    return { brokers: brokers(), started: false, security: JSON.parse(readFileSync(secureFile, 'utf8')) };
  }
  fetchJars();
  rmSync(dataDir, { recursive: true, force: true });
  const pkiDir = join(dataDir, 'pki');
  configure(brokerStores(pkiDir));
  const scram = ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
    '--add-scram',
    `${m}=[name=${scramUser.username},password=${scramUser.password}]`,
  ]);
  // The storage tool does not open the keystores: it formats while they are made.
  const [pki] = await Promise.all([
    generateCertificates(pkiDir, { host, clientCn: clientPrincipal }),
    format(scram),
  ]);
  const security = {
    listeners: secureListeners(),
    ca: pki.ca,
    untrustedCa: pki.untrustedCa,
    client: pki.client,
    untrustedClient: pki.untrustedClient,
    scram: scramUser,
    principal: `User:${clientPrincipal}`,
  };
  writeFileSync(secureFile, JSON.stringify(security, null, 2));
  await spawnWhenPortsFree([brokerPort, brokerPort + 1, brokerPort + 2, brokerPort + 3], timeoutMs);
  log(`secure broker answers; SSL on ${security.listeners.ssl}, SASL_SSL on ${security.listeners.saslSsl}`);
  return { brokers: brokers(), started: true, security };
}

/** Writes the broker's configuration; `stores` are the keystore and truststore of the secure broker. */
function configure(stores) {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'server.properties'), serverProperties(stores));
  writeFileSync(join(dataDir, 'log4j2.properties'), log4jProperties(serverLogFile));
}

/** Formats the KRaft storage unless it already is, passing `formatArgs` (e.g. SCRAM users) to the storage tool. */
function format(formatArgs = []) {
  if (existsSync(join(dataDir, 'logs', 'meta.properties'))) return Promise.resolve();
  // A base64url id may start with '-', which the storage tool's argument parser takes for an option (one start
  // in 64 failed with "argument --cluster-id: expected one argument"); Kafka's own ids avoid that too.
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  const args = ['format', '--cluster-id', clusterId, '--config', join(dataDir, 'server.properties')];
  const child = spawn(
    'java',
    javaArgs('kafka.tools.StorageTool', [...args, '--ignore-formatted', ...formatArgs]),
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`formatting KRaft storage failed:\n${output}`)),
    );
  });
}

/** Spawns the broker once its `ports` are free and waits until it answers (`startOnFixedPorts`). */
function spawnWhenPortsFree(ports, timeoutMs) {
  return startOnFixedPorts({
    host,
    ports,
    logFiles: [logFile, serverLogFile],
    spawnServer: spawnBroker,
    waitReady: waitUntilAnswers,
    timeoutMs,
    what: 'Kafka broker',
    log,
  });
}

/** Spawns the broker process in the background, records its pid and returns it. */
function spawnBroker() {
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
  return child.pid;
}

function waitUntilAnswers(pid, timeoutMs) {
  return waitForDaemon({
    pid,
    answers: () => brokerAnswers(),
    timeoutMs,
    logFile,
    serverLog: serverLogFile,
    what: 'Kafka broker',
    where: `${host}:${brokerPort}, ${dataDir}`,
  });
}

/** Stops the broker this script started (SIGTERM, then SIGKILL after the timeout). */
export async function stopBroker({ timeoutMs = 30_000, wipe = false } = {}) {
  await stopDaemon({ pidFile, timeoutMs, log, what: 'broker' });
  if (wipe) rmSync(dataDir, { recursive: true, force: true });
}

/** `--cluster <n>` or KAFKA_CLUSTER: the cluster's size, else undefined (the single broker). */
function clusterArg() {
  const at = process.argv.indexOf('--cluster');
  if (at >= 0) return Number(process.argv[at + 1]) || 3;
  return process.env.KAFKA_CLUSTER ? Number(process.env.KAFKA_CLUSTER) || 3 : undefined;
}

async function clusterMain(cmd, size) {
  const cluster = await import('./cluster.mjs');
  switch (cmd) {
    case 'start':
      process.stdout.write(`${(await cluster.startCluster({ size })).brokers}\n`);
      return true;
    case 'stop':
      await cluster.stopCluster({ wipe: process.argv.includes('--wipe') });
      return true;
    case 'status': {
      const up = cluster.runningNodes();
      process.stdout.write(up.length ? `up nodes ${up.join(',')} ${cluster.clusterBrokers()}\n` : 'down\n');
      return true;
    }
    default:
      return false;
  }
}

async function main() {
  const cmd = process.argv[2];
  const size = clusterArg();
  if (size !== undefined && (await clusterMain(cmd, size))) return;
  switch (cmd) {
    case 'start': {
      const secure = process.argv.includes('--secure') || undefined;
      const { brokers: b, security } = await startBroker(secure ? { secure } : {});
      process.stdout.write(security ? `${secureFile}\n` : `${b}\n`);
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
      process.stderr.write(
        'usage: broker.mjs start [--secure|--cluster <n>]|stop [--cluster] [--wipe]|status|fetch\n',
      );
      process.exit(2);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
