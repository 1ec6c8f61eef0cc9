// The packed packages work outside the workspace: npm installs their tarballs into a temporary project (no
// kafkajs from npm: @eddy/streams carries the patched copy), and the word-count example's build runs there with
// plain node against the broker, counting in a LevelDB store, producing each count and serving its HTTP port; the
// installed eddy-schema-gate runs a dry run against the registry, and exits 3 when there is none.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../../packages/avro/test/support.js';
import { registryUrl } from '../avro/support.js';
import { freePort, get, sample } from '../support/http.js';
import { brokerList, createTopics, testKafka, uniqueName, waitFor } from '../support/kafka.js';
import { appProcesses, repoRoot, startNode } from '../support/processes.js';
import { readAll } from '../support/read.js';
import { installedProject } from './installed-project.js';

const apps = appProcesses();
const run = promisify(execFile);
const vendorScript = join(repoRoot, 'scripts', 'vendor-kafkajs.mjs');
let project = '';

/** Paths (relative to `dir`) of the files named `name` below `dir`. */
const filesNamed = (dir: string, name: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => p.split('/').at(-1) === name);

describe('packed packages installed into a project outside the workspace', () => {
  beforeAll(async () => {
    project = await installedProject();
  }, 300_000);
  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('installs without kafkajs from the registry: the patched copy and its licence come with @eddy/streams', async () => {
    const modules = join(project, 'node_modules');
    expect(readdirSync(join(modules, '@eddy')).sort()).toEqual(['assignor', 'avro', 'state', 'streams']);
    expect(existsSync(join(modules, 'kafkajs'))).toBe(false);
    expect(existsSync(join(modules, '@eddy', 'streams', 'node_modules', 'kafkajs'))).toBe(false);
    const vendored = join(modules, '@eddy', 'streams', 'dist', 'vendor', 'kafkajs');
    expect(existsSync(join(vendored, 'LICENSE'))).toBe(true);
    expect(existsSync(join(vendored, 'types', 'index.d.ts'))).toBe(true);
    const check = (dir: string) => run(process.execPath, [vendorScript, '--check', dir]);
    await expect(check(vendored)).resolves.toMatchObject({ stdout: expect.stringContaining('carries') });

    // The same check refuses a copy that lost one line of the patch.
    const altered = join(project, 'altered-kafkajs');
    cpSync(vendored, altered, { recursive: true });
    const broker = join(altered, 'src', 'broker', 'index.js');
    writeFileSync(
      broker,
      readFileSync(broker, 'utf8').replaceAll('groupInstanceId = null,', 'groupInstanceId,'),
    );
    await expect(check(altered)).rejects.toThrow('src/broker/index.js lacks the patch');
  });

  it('runs word-count with plain node: exactly-once counts from a LevelDB store, one output per input, metrics', async () => {
    const input = uniqueName('installed-in');
    const output = uniqueName('installed-out');
    await createTopics([
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
    ]);
    const words = ['kafka', 'node', 'kafka', 'eddy', 'kafka', 'node'];
    const producer = testKafka().producer();
    await producer.connect();
    try {
      await producer.send({ topic: input, messages: words.map((w) => ({ key: w, value: w })) });
    } finally {
      await producer.disconnect();
    }

    const stateDir = apps.stateDir();
    const port = await freePort();
    // Only what the service reads: no NODE_OPTIONS, no loader, no export condition of the workspace.
    const env = {
      KAFKA_BROKERS: brokerList().join(','),
      APPLICATION_ID: uniqueName('installed-count'),
      STATE_DIR: stateDir,
      PROCESSING_GUARANTEE: 'exactly-once',
      COMMIT_INTERVAL_MS: '100',
      HTTP_PORT: String(port),
      HTTP_HOST: '127.0.0.1',
    };
    const app = startNode(['word-count/app.js', input, output], { cwd: project, env });
    try {
      const records = await readAll(output, words.length, {
        readCommitted: true,
        settleMs: 500,
        timeoutMs: 60_000,
      });
      expect(records.map((r) => `${r.key}=${r.value}`)).toEqual([
        'kafka=1',
        'node=1',
        'kafka=2',
        'eddy=1',
        'kafka=3',
        'node=2',
      ]);
      // A LevelDB database (its CURRENT file) for the store `counts` in the state directory.
      expect(filesNamed(stateDir, 'CURRENT').filter((p) => p.includes('counts'))).toHaveLength(1);
      // The operations server (prom-client metrics, store queries) works from the installed packages too.
      await waitFor(
        async () =>
          sample((await get(port, '/metrics')).text, 'eddy_records_processed_total') === words.length,
        { what: `${words.length} records processed in the metrics` },
      );
      expect((await get(port, '/stores/counts/keys/kafka')).text).toContain('"value":3');
    } finally {
      app.child.kill('SIGTERM');
    }
    expect(await app.exited, app.output()).toBe(0);
    const states = app
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { event: string; state?: string })
      .filter((e) => e.event === 'state')
      .map((e) => e.state);
    expect(states.at(-1)).toBe('NOT_RUNNING');
    expect(states).toContain('RUNNING');
  });

  it('runs word-count with plain node on two stream threads (worker threads from the built package): exact counts', async () => {
    const input = uniqueName('installed-threads-in');
    const output = uniqueName('installed-threads-out');
    await createTopics([
      { topic: input, numPartitions: 4 },
      { topic: output, numPartitions: 4 },
    ]);
    const stateDir = apps.stateDir();
    const env = {
      KAFKA_BROKERS: brokerList().join(','),
      APPLICATION_ID: uniqueName('installed-threads'),
      STATE_DIR: stateDir,
      COMMIT_INTERVAL_MS: '200',
      NUM_STREAM_THREADS: '2',
    };
    const app = startNode(['word-count/app.js', input, output], { cwd: project, env });
    try {
      // Once both threads have their tasks (the instance's assignment covers all four), the input comes.
      await waitFor(() => app.output().includes('"state":"RUNNING"'), { what: 'the threaded app to run' });
      const expected = new Map<string, number>();
      const producer = testKafka().producer();
      await producer.connect();
      try {
        const messages = Array.from({ length: 400 }, (_, i) => {
          const key = `w${i % 40}`;
          expected.set(key, (expected.get(key) ?? 0) + 1);
          return { key, value: key };
        });
        await producer.send({ topic: input, messages });
      } finally {
        await producer.disconnect();
      }
      const latest = new Map<string, number>();
      for (const r of await readAll(output, 400, { timeoutMs: 60_000 })) latest.set(r.key!, Number(r.value));
      expect(latest).toEqual(expected);
      // The four tasks' stores, whichever thread ran them, are in the one state directory.
      expect(filesNamed(stateDir, 'CURRENT').filter((p) => p.includes('counts'))).toHaveLength(4);
    } finally {
      app.child.kill('SIGTERM');
    }
    expect(await app.exited, app.output()).toBe(0);
    const assigned = app
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{"event":"assigned"'))
      .map((line) => JSON.parse(line) as { tasks: string[] });
    expect(assigned.at(-1)?.tasks).toEqual(['0_0', '0_1', '0_2', '0_3']);
  });

  it('runs eddy-schema-gate from the installed @eddy/avro with plain node: a decision, or exit 3 without a registry', async () => {
    // A service's topology module: an Avro output, its serde's registry from the environment.
    writeFileSync(
      join(project, 'gate-topology.mjs'),
      `import { AvroSerdes, RegistryClient } from '@eddy/avro';
import { Serdes, StreamsBuilder } from '@eddy/streams';
export function topology() {
  const registry = new RegistryClient({ url: process.env.SCHEMA_REGISTRY_URL, timeoutMs: 2000 });
  const schema = { type: 'record', name: 'Word', fields: [{ name: 'word', type: 'string' }] };
  const b = new StreamsBuilder();
  b.stream(process.env.INPUT, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .mapValues((word) => ({ word }))
    .to(process.env.OUTPUT, { keySerde: Serdes.string(), valueSerde: AvroSerdes.specific({ registry, schema }) });
  return b.build();
}
`,
    );
    const output = uniqueName('installed-words');
    const gate = async (url: string) => {
      const env = {
        SCHEMA_REGISTRY_URL: url,
        INPUT: uniqueName('installed-in'),
        OUTPUT: output,
        PATH: process.env.PATH,
      };
      const p = startNode(
        [
          join('node_modules', '@eddy', 'avro', 'bin', 'schema-gate.mjs'),
          'gate-topology.mjs',
          uniqueName('gate'),
        ],
        { cwd: project, env },
      );
      return { code: await p.exited, output: p.output() };
    };
    expect(existsSync(join(project, 'node_modules', '.bin', 'eddy-schema-gate'))).toBe(true);
    const ok = await gate(registryUrl());
    expect(ok.output).toMatch(
      new RegExp(`^register +output +${output} value +${output}-value: would register`, 'm'),
    );
    expect(ok.code, ok.output).toBe(0);
    const down = await gate(`http://127.0.0.1:${await closedPort()}/apis/ccompat/v7`);
    expect(down.code, down.output).toBe(3);
    expect(down.output).toMatch(/^eddy-schema-gate: the schema registry is unavailable/);
  });
});
