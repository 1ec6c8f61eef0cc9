#!/usr/bin/env node
// Builds and describes the Kafka Streams side of the differential suite (test/differential/kstreams), and other
// Java programs on the same Kafka Streams (the peers benchmark's count app, benchmarks/peers/kstreams).
//
//   node test/differential/kstreams.mjs build
//
// The jars come from Maven Central through kstreams/pom.xml (Kafka Streams, the broker's version) into
// kstreams/dist/libs; the sources are compiled with javac into kstreams/dist/classes (another program: into the
// classes directory it names). `build` is idempotent: it fetches only when the jars are missing and compiles only
// when a source or the pom is newer than the classes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), 'kstreams');
const libsDir = join(here, 'dist', 'libs');
const classesDir = join(here, 'dist', 'classes');
const sourcesDir = join(here, 'src', 'main', 'java');

function log(msg) {
  process.stderr.write(`[kstreams] ${msg}\n`);
}

function javaSources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? javaSources(join(dir, e.name)) : e.name.endsWith('.java') ? [join(dir, e.name)] : [],
  );
}

/** Downloads Kafka Streams and its dependencies with Maven unless they are already there. */
export function fetchJars() {
  if (existsSync(libsDir) && readdirSync(libsDir).some((f) => f.startsWith('kafka-streams-'))) return;
  log('fetching Kafka Streams from Maven Central (test/differential/kstreams/pom.xml) ...');
  const r = spawnSync(
    'mvn',
    ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${libsDir}`, '-DincludeScope=runtime'],
    { cwd: here, stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed with exit code ${r.status}`);
}

/**
 * Fetches the jars and compiles the Java sources under `sources` into `classes` (default: the differential
 * suite's) when anything changed since the last build.
 */
export function build({ sources = sourcesDir, classes = classesDir } = {}) {
  fetchJars();
  const files = javaSources(sources);
  // Written after a successful compile; its time is the classes' time.
  const stamp = join(classes, '.built');
  const newest = Math.max(...[...files, join(here, 'pom.xml')].map((f) => statSync(f).mtimeMs));
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= newest) return;
  log(`compiling ${files.length} sources into ${classes} ...`);
  rmSync(classes, { recursive: true, force: true });
  mkdirSync(classes, { recursive: true });
  const r = spawnSync(
    'javac',
    ['--release', '17', '-encoding', 'UTF-8', '-d', classes, '-cp', join(libsDir, '*'), ...files],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error(`javac failed with exit code ${r.status}`);
  writeFileSync(stamp, '');
}

/** The command line that runs `mainClass` from `classes` with the Kafka Streams jars, JVM options first. */
export function javaCommand({ classes = classesDir, mainClass, jvmOptions = [], args = [] }) {
  return {
    command: 'java',
    args: [
      ...jvmOptions,
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      [classes, join(libsDir, '*')].join(':'),
      mainClass,
      ...args,
    ],
  };
}

/** The command line that runs the given scenario specs (see Main.java) against `bootstrap`. */
export function command(bootstrap, stateDir, specs) {
  return javaCommand({
    mainClass: 'dev.eddy.differential.Main',
    jvmOptions: ['-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'],
    args: [bootstrap, stateDir, ...specs],
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv[2] !== 'build') {
    process.stderr.write('usage: kstreams.mjs build\n');
    process.exit(2);
  }
  try {
    build();
  } catch (err) {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  }
}
