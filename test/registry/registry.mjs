#!/usr/bin/env node
// Starts and stops the local schema registry used by tests, CI and benchmarks: Apicurio Registry with in-memory
// storage, whose Confluent-compatible API (/apis/ccompat/v7) the Avro serdes talk to.
//
//   node test/registry/registry.mjs start|stop|status|fetch
//
// The distribution comes from Maven Central (io.apicurio:apicurio-registry-app, tar.gz, classifier `all`) into
// test/registry/dist. Version 3.x needs Java 21 or later: the script looks for one (EDDY_REGISTRY_JAVA_HOME,
// JAVA_HOME, `java` on the PATH, /usr/lib/jvm/*) and falls back to 2.6.x on an older Java. Data and logs live in
// .data/registry-<port>/. `start` is idempotent: a registry that already answers on the port is reused. When
// SCHEMA_REGISTRY_URL is set, nothing is started and that registry is used.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPid as readPidOf, startOnFixedPorts, stopDaemon, waitUntilAnswers } from '../support/daemon.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

/** Versions by the Java they need: the newest that the Java found can run is used. */
const VERSIONS = [
  { version: '3.3.3', java: 21, ccompat: '/apis/ccompat/v7' },
  { version: '2.6.13.Final', java: 17, ccompat: '/apis/ccompat/v7' },
];

/** HTTP port of the registry; its management (health) interface listens on the next port. */
export const registryPort = Number(process.env.REGISTRY_PORT ?? 38081);
const host = '127.0.0.1';
const dataDir = join(repoRoot, '.data', `registry-${registryPort}`);
const pidFile = join(dataDir, 'registry.pid');
const logFile = join(dataDir, 'registry.out');

function log(msg) {
  process.stderr.write(`[registry] ${msg}\n`);
}

/** The Confluent-compatible base URL to use: SCHEMA_REGISTRY_URL when set, else the local registry's. */
export function registryUrl() {
  return process.env.SCHEMA_REGISTRY_URL ?? `http://${host}:${registryPort}${VERSIONS[0].ccompat}`;
}

/** The major version of the Java at `javaBin`, or 0 when it does not run. */
function javaMajor(javaBin) {
  const r = spawnSync(javaBin, ['-version'], { encoding: 'utf8' });
  if (r.status !== 0) return 0;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr}${r.stdout}`);
  if (!m) return 0;
  return m[1] === '1' ? Number(m[2]) : Number(m[1]);
}

/** The newest Java among the candidates: `{ bin, major }`. EDDY_REGISTRY_JAVA_HOME, when set, is the only one. */
export function findJava() {
  const homes = process.env.EDDY_REGISTRY_JAVA_HOME
    ? [process.env.EDDY_REGISTRY_JAVA_HOME]
    : [
        process.env.JAVA_HOME,
        ...(existsSync('/usr/lib/jvm')
          ? readdirSync('/usr/lib/jvm').map((d) => join('/usr/lib/jvm', d))
          : []),
      ].filter((h) => h !== undefined && h !== '');
  const bins = homes.map((h) => join(h, 'bin', 'java'));
  if (!process.env.EDDY_REGISTRY_JAVA_HOME) bins.push('java');
  let best = { bin: undefined, major: 0 };
  for (const bin of bins) {
    if (bin !== 'java' && !existsSync(bin)) continue;
    const major = javaMajor(bin);
    if (major > best.major) best = { bin, major };
  }
  if (best.bin === undefined) {
    throw new Error(
      process.env.EDDY_REGISTRY_JAVA_HOME
        ? `EDDY_REGISTRY_JAVA_HOME=${process.env.EDDY_REGISTRY_JAVA_HOME} holds no working bin/java`
        : 'no Java found for the schema registry (set EDDY_REGISTRY_JAVA_HOME)',
    );
  }
  return best;
}

function pick(major) {
  const v = VERSIONS.find((c) => major >= c.java);
  if (!v) throw new Error(`the schema registry needs Java 17 or later, found Java ${major}`);
  return v;
}

const distDir = (version) => join(here, 'dist', `apicurio-registry-${version}`);

/** The jar to run: `quarkus-run.jar` in 3.x, `apicurio-registry-app-<version>-runner.jar` in 2.x. */
function runnerJar(dir) {
  if (!existsSync(dir)) return undefined;
  const jar = readdirSync(dir).find((f) => f === 'quarkus-run.jar' || f.endsWith('-runner.jar'));
  return jar === undefined ? undefined : join(dir, jar);
}

/** Downloads and unpacks the registry for the Java found (or the given version) unless it is already there. */
export function fetchRegistry(version = pick(findJava().major).version) {
  const dir = distDir(version);
  if (runnerJar(dir) !== undefined) return dir;
  log(`fetching Apicurio Registry ${version} from Maven Central ...`);
  const download = join(here, 'dist', 'download');
  mkdirSync(download, { recursive: true });
  const artifact = `io.apicurio:apicurio-registry-app:${version}:tar.gz:all`;
  const r = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy',
      `-Dartifact=${artifact}`,
      `-DoutputDirectory=${download}`,
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error(`mvn dependency:copy of ${artifact} failed with exit code ${r.status}`);
  const archive = join(download, `apicurio-registry-app-${version}-all.tar.gz`);
  mkdirSync(dir, { recursive: true });
  const x = spawnSync('tar', ['xzf', archive, '-C', dir], { stdio: 'inherit' });
  if (x.status !== 0) throw new Error(`unpacking ${archive} failed with exit code ${x.status}`);
  rmSync(download, { recursive: true, force: true });
  return dir;
}

/** Resolves true when the registry's Confluent-compatible API answers a request. */
export async function registryAnswers(url = registryUrl(), timeoutMs = 1000) {
  try {
    const res = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok;
  } catch {
    return false;
  }
}

const readPid = () => readPidOf(pidFile);

/**
 * Starts the registry unless one already answers. Resolves to `{ url, started }`; `started` is true only when this
 * call launched the process (so the caller owns stopping it).
 */
export async function startRegistry({
  timeoutMs = Number(process.env.REGISTRY_START_TIMEOUT_MS ?? 120_000),
} = {}) {
  if (process.env.SCHEMA_REGISTRY_URL) {
    log(`SCHEMA_REGISTRY_URL=${process.env.SCHEMA_REGISTRY_URL}: using that registry, starting nothing`);
    return { url: process.env.SCHEMA_REGISTRY_URL, started: false };
  }
  const url = registryUrl();
  const wait = (pid, ms = timeoutMs) =>
    waitUntilAnswers({
      pid,
      answers: () => registryAnswers(url),
      timeoutMs: ms,
      logFile,
      what: 'schema registry',
      where: `${url}, ${dataDir}`,
    });
  if (await registryAnswers(url)) {
    log(`a registry already answers at ${url}`);
    return { url, started: false };
  }
  const stale = readPid();
  if (stale) {
    log(`registry process ${stale} exists; waiting for it to answer`);
    await wait(stale);
    return { url, started: false };
  }
  const java = findJava();
  const { version } = pick(java.major);
  const dir = fetchRegistry(version);
  mkdirSync(dataDir, { recursive: true });
  const spawnRegistry = () => {
    const out = openSync(logFile, 'a');
    const heap = process.env.REGISTRY_HEAP ?? '512m';
    const child = spawn(
      java.bin,
      [
        `-Xmx${heap}`,
        '-XX:+UseSerialGC',
        `-Dquarkus.http.port=${registryPort}`,
        `-Dquarkus.http.host=${host}`,
        `-Dquarkus.management.port=${registryPort + 1}`,
        `-Dquarkus.management.host=${host}`,
        '-Dapicurio.storage.kind=sql',
        '-Dapicurio.storage.sql.kind=h2',
        '-Dapicurio.datasource.url=jdbc:h2:mem:registry',
        '-jar',
        runnerJar(dir),
      ],
      { detached: true, stdio: ['ignore', out, out], cwd: dataDir },
    );
    child.unref();
    writeFileSync(pidFile, String(child.pid));
    log(
      `starting Apicurio Registry ${version} on Java ${java.major} (pid ${child.pid}) at ${url}; logs in ${dataDir}`,
    );
    return child.pid;
  };
  await startOnFixedPorts({
    host,
    ports: [registryPort, registryPort + 1],
    logFiles: [logFile],
    spawnServer: spawnRegistry,
    waitReady: wait,
    timeoutMs,
    what: 'schema registry',
    log,
  });
  log('registry answers');
  return { url, started: true };
}

/** Stops the registry this script started (SIGTERM, then SIGKILL after the timeout). */
export async function stopRegistry({ timeoutMs = 30_000 } = {}) {
  await stopDaemon({ pidFile, timeoutMs, log, what: 'registry' });
}

async function main() {
  const cmd = process.argv[2];
  switch (cmd) {
    case 'start': {
      const { url } = await startRegistry();
      process.stdout.write(`${url}\n`);
      break;
    }
    case 'stop':
      await stopRegistry();
      break;
    case 'status':
      process.stdout.write((await registryAnswers()) ? `up ${registryUrl()}\n` : 'down\n');
      break;
    case 'fetch':
      fetchRegistry();
      break;
    default:
      process.stderr.write('usage: registry.mjs start|stop|status|fetch\n');
      process.exit(2);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
