// The schema gate at start, on the real broker and registry: an app registers its schemas on first start; an
// incompatible store schema, an unregistered schema under autoRegister: false, or a registry that does not answer
// stop the start with a typed error before the app creates its internal topics or joins its group; the dry run
// prints the same decisions without registering anything.
import { AvroError, formatGateDecisions, RegistryClient, schemaGateDryRun } from '@eddy/avro';
import { changelogTopic } from '@eddy/state';
import { StreamsApp, type StreamsError } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { closedPort } from '../../packages/avro/test/support.js';
import { avroCountTopology, countSchema, type Version } from '../support/avro-count.js';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { repoRoot, startNode } from '../support/processes.js';
import { produce, registryClient, registryUrl } from './support.js';

const apps = inProcessApps();

async function setUp() {
  const input = uniqueName('words');
  const output = uniqueName('counts');
  await createTopics([
    { topic: input, numPartitions: 2 },
    { topic: output, numPartitions: 2 },
  ]);
  return { input, output, applicationId: uniqueName('gate') };
}

function app(
  s: { input: string; output: string; applicationId: string },
  version: Version,
  registry: RegistryClient,
  autoRegister?: boolean,
) {
  return apps.track(
    new StreamsApp(
      avroCountTopology({
        version,
        input: s.input,
        output: s.output,
        registry,
        ...(autoRegister === undefined ? {} : { autoRegister }),
      }),
      {
        applicationId: s.applicationId,
        brokers: brokerList(),
        stateDir: apps.stateDir(),
        commitIntervalMs: 200,
        // A start refused by the gate or by a registry that does not answer is what these tests look at.
        retryBackoff: false,
      },
    ),
  );
}

async function startError(a: StreamsApp): Promise<StreamsError> {
  const err = (await a.start().then(
    () => undefined,
    (e: unknown) => e,
  )) as StreamsError;
  expect(err?.code).toBe('SERDE_PREPARE_FAILED');
  expect(a.state).toBe('ERROR');
  return err;
}

const groupMembers = async (groupId: string) =>
  (await withAdmin((a) => a.describeGroups([groupId]))).groups[0]?.members.length ?? 0;

describe('the schema gate', () => {
  it('registers on first start, lets a compatible v2 start, and refuses an incompatible store schema before joining', async () => {
    const s = await setUp();
    const registry = registryClient();
    const v1 = app(s, 1, registry);
    await v1.start();
    const store = `${changelogTopic(s.applicationId, 'counts')}-value`;
    const repartition = `${s.applicationId}-events-repartition-value`;
    expect(await registry.versions(store)).toEqual([1]);
    expect(await registry.compatibility(store)).toBe('FULL');
    expect(await registry.compatibility(repartition)).toBe('FULL');
    expect(await registry.compatibility(`${s.output}-value`)).toBe('BACKWARD');
    await produce(s.input, [{ key: 'a', value: 'x' }]);
    await waitFor(async () => (await withAdmin((a) => a.fetchTopicOffsets(s.output)))[0] !== undefined);
    await v1.close();

    const v2 = app(s, 2, registry);
    await v2.start();
    expect(await registry.versions(store)).toEqual([1, 2]);
    await v2.close();

    // The dry run of v3 says what a start would decide, and registers nothing.
    const dry = await schemaGateDryRun(
      avroCountTopology({ version: 3, input: s.input, output: s.output, registry }),
      s.applicationId,
    );
    expect(dry.ok).toBe(false);
    const text = formatGateDecisions(dry.decisions);
    expect(text).toMatch(/^refuse +store +store counts value +.*Count\.count/m);
    expect(text).toMatch(/^registered +repartition/m);
    expect(await registry.versions(store)).toEqual([1, 2]);

    const v3 = app(s, 3, registry);
    const err = await startError(v3);
    const cause = err.cause as AvroError;
    expect(cause).toBeInstanceOf(AvroError);
    expect(cause.code).toBe('SCHEMA_INCOMPATIBLE');
    expect(cause.refusal).toEqual({
      subject: store,
      level: 'FULL',
      versions: [2],
      fields: [
        "eddy.test.Count.total: not in the writer's schema and no default (new readers of version 2)",
        "eddy.test.Count.count: not in the writer's schema and no default (version 2 readers of new data)",
      ],
    });
    expect(err.message).toContain(store);
    expect(await registry.versions(store)).toEqual([1, 2]);
    expect(await groupMembers(s.applicationId)).toBe(0);
    registry.close();
  });

  it('with autoRegister off, refuses a schema that is not registered, naming the subject', async () => {
    const s = await setUp();
    const registry = registryClient();
    const err = await startError(app(s, 1, registry, false));
    expect(err.cause).toMatchObject({ code: 'SCHEMA_NOT_REGISTERED' });
    expect(err.message).toContain(`${s.applicationId}-events-repartition-value`);
    // Nothing was created: the internal topics come after the gate.
    const topics = await withAdmin((a) => a.listTopics());
    expect(topics.filter((t) => t.startsWith(s.applicationId))).toEqual([]);
    registry.close();
  });

  it('fails the start with REGISTRY_UNAVAILABLE when the registry does not answer', async () => {
    const s = await setUp();
    const registry = new RegistryClient({ url: `http://127.0.0.1:${await closedPort()}/apis/ccompat/v7` });
    const err = await startError(app(s, 1, registry));
    expect(err.cause).toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect(await groupMembers(s.applicationId)).toBe(0);
    registry.close();
  });
});

describe('eddy-schema-gate', () => {
  const gateCommand = async (url: string, applicationId: string, version: Version) => {
    const run = startNode(
      [
        '--import',
        'tsx',
        '--conditions=eddy-source',
        'packages/avro/bin/schema-gate.mjs',
        'test/support/apps/avro-gate-topology.ts',
        applicationId,
      ],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          SCHEMA_REGISTRY_URL: url,
          AVRO_VERSION: String(version),
          INPUT_TOPIC: uniqueName('words'),
          OUTPUT_TOPIC: uniqueName('counts'),
        },
      },
    );
    return { code: await run.exited, output: run.output() };
  };

  it('exits 0 when the start would go ahead, 1 when it would be refused, registering nothing', async () => {
    const applicationId = uniqueName('gate-cli');
    const start = await gateCommand(registryUrl(), applicationId, 1);
    expect(start.output).toMatch(/^register +store +store counts value/m);
    expect(start.output).toContain('the schema gate would let this start');
    expect(start.code).toBe(0);
    const store = `${changelogTopic(applicationId, 'counts')}-value`;
    const registry = registryClient();
    expect(await registry.versions(store)).toEqual([]);
    await registry.register(store, JSON.stringify(countSchema(1)), 'FULL');
    const refuse = await gateCommand(registryUrl(), applicationId, 3);
    expect(refuse.output).toMatch(/^refuse +store +store counts value/m);
    expect(refuse.output).toContain('the schema gate would refuse this start');
    expect(refuse.code).toBe(1);
    registry.close();
  });

  it('exits 3 with one line, no stack trace, when the registry does not answer', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/apis/ccompat/v7`;
    const { code, output } = await gateCommand(url, uniqueName('gate-cli'), 1);
    expect(code).toBe(3);
    expect(output.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^eddy-schema-gate: the schema registry is unavailable, nothing was decided: .*did not answer/,
      ),
    ]);
  });
});
