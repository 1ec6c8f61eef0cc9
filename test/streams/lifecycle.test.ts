// The app's lifecycle against the broker: close during start, a start that times out, a join the coordinator holds,
// failed starts told to onError, close options, and a rebalance that arrives during the shutdown commit.
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import {
  type Processor,
  type ProcessorContext,
  Serdes,
  StreamsApp,
  type StreamsError,
  Topology,
} from '@eddy/streams';
import { type ConsumerPort, type KafkaClientFactory, kafkajsClientFactory } from '@eddy/streams/internals';
import { describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testProducer, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const apps = inProcessApps();

/** Copies every record of `input` to `output`; with `withStore`, also counts records per key in a store. */
function copyTopology(input: string, output: string, withStore = false): Topology {
  const t = new Topology()
    .addSource('in', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'copy',
      (): Processor<string, string> => {
        let ctx: ProcessorContext<string, string>;
        return {
          init(c) {
            ctx = c;
          },
          process(r) {
            if (withStore) {
              const store = ctx.getStateStore<KeyValueStore<string, number>>('seen');
              store.put(r.key, (store.get(r.key) ?? 0) + 1);
            }
            ctx.forward(r);
          },
        };
      },
      'in',
    )
    .addSink('out', { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'copy');
  if (withStore) {
    t.addStateStore(
      keyValueStore({ name: 'seen', keySerde: Serdes.string(), valueSerde: Serdes.float64() }),
      'copy',
    );
  }
  return t;
}

function factoryFor(clientId: string): KafkaClientFactory {
  return kafkajsClientFactory({
    clientId,
    brokers: brokerList(),
    connectionTimeoutMs: 3_000,
    requestTimeoutMs: 30_000,
    retryBudgetMs: 10_000,
  });
}

/** A consumer that delegates to `consumer`, with some methods replaced. */
function wrapConsumer(consumer: ConsumerPort, overrides: Partial<ConsumerPort>): ConsumerPort {
  return {
    connect: () => consumer.connect(),
    subscribe: (t) => consumer.subscribe(t),
    run: (h) => consumer.run(h),
    commit: (o) => consumer.commit(o),
    stop: (o) => consumer.stop(o),
    close: (o) => consumer.close(o),
    requestRejoin: () => consumer.requestRejoin(),
    pause: (p) => consumer.pause(p),
    resume: (p) => consumer.resume(p),
    groupMetadata: () => consumer.groupMetadata(),
    ...overrides,
  };
}

/** Members the broker lists for a group (none once every member left). */
async function members(groupId: string): Promise<number> {
  const { groups } = await withAdmin((a) => a.describeGroups([groupId]));
  return groups[0]?.members.length ?? 0;
}

async function topicsPair(): Promise<[string, string]> {
  const input = uniqueName('in');
  const output = uniqueName('out');
  await createTopics([
    { topic: input, numPartitions: 2 },
    { topic: output, numPartitions: 2 },
  ]);
  return [input, output];
}

describe('app lifecycle against the broker', () => {
  it('close() during start: start rejects with CLOSED_DURING_START, no member is left, a new app starts', async () => {
    const [input, output] = await topicsPair();
    const applicationId = uniqueName('app');
    let app: StreamsApp | undefined;
    const base = factoryFor(applicationId);
    // Close the app at the moment its consumer connects: mid-start, deterministically.
    const factory: KafkaClientFactory = {
      ...base,
      consumer: (options) => {
        const consumer = base.consumer(options);
        return wrapConsumer(consumer, {
          connect: async () => {
            void app!.close();
            await consumer.connect();
          },
        });
      },
    };
    const errors: StreamsError[] = [];
    app = new StreamsApp(
      copyTopology(input, output),
      { applicationId, brokers: brokerList(), instanceId: 'pod-0', stateDir: apps.stateDir() },
      { clientFactory: factory },
    );
    app.onError((e) => errors.push(e));
    apps.track(app);
    await expect(app.start()).rejects.toMatchObject({ code: 'CLOSED_DURING_START' });
    await app.close();
    expect(app.state).toBe('NOT_RUNNING');
    expect(errors).toEqual([]);
    expect(await members(applicationId)).toBe(0);

    // A new app of the same application in the same process starts and works.
    const again = new StreamsApp(copyTopology(input, output), {
      applicationId,
      brokers: brokerList(),
      stateDir: apps.stateDir(),
    });
    apps.track(again);
    await again.start();
    const producer = testProducer();
    await producer.connect();
    await producer.send({ topic: input, messages: [{ key: 'k', value: 'v' }] });
    await producer.disconnect();
    expect(await readAll(output, 1)).toHaveLength(1);
  });

  it('close() right after start() in the same tick: start rejects with CLOSED_DURING_START, close resolves', async () => {
    const [input, output] = await topicsPair();
    const applicationId = uniqueName('app');
    const app = new StreamsApp(copyTopology(input, output), {
      applicationId,
      brokers: brokerList(),
      stateDir: apps.stateDir(),
    });
    apps.track(app);
    const starting = app.start();
    const closing = app.close();
    await expect(starting).rejects.toMatchObject({ code: 'CLOSED_DURING_START' });
    await closing;
    expect(app.state).toBe('NOT_RUNNING');
    expect(await members(applicationId)).toBe(0);
  });

  it('a start that times out joins nothing and holds nothing, and onError is told once', async () => {
    const [input, output] = await topicsPair();
    const applicationId = uniqueName('app');
    const base = factoryFor(applicationId);
    // The consumer joins, but run() never returns: start times out while a member is in the group.
    const factory: KafkaClientFactory = {
      ...base,
      consumer: (options) => {
        const consumer = base.consumer(options);
        return wrapConsumer(consumer, {
          run: async (h) => {
            await consumer.run(h);
            await new Promise(() => undefined);
          },
        });
      },
    };
    const errors: StreamsError[] = [];
    const app = new StreamsApp(
      copyTopology(input, output),
      {
        applicationId,
        brokers: brokerList(),
        startTimeoutMs: 3_000,
        retryBackoff: false,
        closeTimeoutMs: 2_000,
        stateDir: apps.stateDir(),
      },
      { clientFactory: factory },
    );
    apps.track(app);
    app.onError((e) => errors.push(e));
    const started = Date.now();
    await expect(app.start()).rejects.toMatchObject({
      code: 'BROKER_UNREACHABLE',
      message: expect.stringContaining('did not finish within 3000 ms'),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    // The rebalance timeout (60 s) the guard adds while the coordinator holds a join ends once the join is answered.
    expect(Date.now() - started).toBeLessThan(3_000 + 5_000 + 30_000);
    expect(app.state).toBe('ERROR');
    expect(errors.map((e) => e.code)).toEqual(['BROKER_UNREACHABLE']);
    await waitFor(async () => (await members(applicationId)) === 0, {
      timeoutMs: 10_000,
      what: 'the timed-out member to be gone from the group',
    });
    // Still gone a heartbeat interval later: nothing rejoins in the background.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(await members(applicationId)).toBe(0);
  });

  it('a join the coordinator holds past startTimeoutMs (a member that is gone must time out first) is waited for', async () => {
    const [input, output] = await topicsPair();
    const applicationId = uniqueName('app');
    const config = { applicationId, brokers: brokerList(), stateDir: apps.stateDir() };
    // A member that goes without leaving: the coordinator holds the next join until its session expires.
    const gone = apps.track(
      new StreamsApp(copyTopology(input, output), { ...config, sessionTimeoutMs: 15_000 }),
    );
    await gone.start();
    await gone.close({ leaveGroup: false });
    expect(await members(applicationId)).toBe(1);
    const startTimeoutMs = 2_000;
    const next = apps.track(
      new StreamsApp(copyTopology(input, output), {
        ...config,
        stateDir: apps.stateDir(),
        startTimeoutMs,
        retryBackoff: false,
      }),
    );
    const started = Date.now();
    await next.start();
    // Longer than an attempt without a held join may take (startTimeoutMs + 5 s): the join was held, and waited for.
    expect(Date.now() - started).toBeGreaterThan(startTimeoutMs + 5_000);
    expect(next.state).toBe('RUNNING');
    expect(await members(applicationId)).toBe(1);
  });

  it('onError hears every failed start: a missing topic and an unreachable broker', async () => {
    const [input] = await topicsPair();
    const logged: { message: string; fields?: Record<string, unknown> }[] = [];
    const missing = new StreamsApp(copyTopology(input, uniqueName('nope')), {
      applicationId: uniqueName('app'),
      brokers: brokerList(),
      stateDir: apps.stateDir(),
      logger: {
        debug: () => {},
        info: () => {},
        warn: () => {},
        error: (message, fields) => logged.push({ message, fields }),
      },
    });
    apps.track(missing);
    const heard: string[] = [];
    missing.onError((e) => heard.push(e.code));
    await expect(missing.start()).rejects.toMatchObject({ code: 'TOPIC_MISSING' });
    expect(heard).toEqual(['TOPIC_MISSING']);
    // With retryBackoff (the default) the log says why start stops instead of trying again.
    expect(logged).toEqual([
      {
        message: 'a failure that trying again cannot fix: stopping',
        fields: expect.objectContaining({ code: 'TOPIC_MISSING' }),
      },
    ]);

    const unreachable = new StreamsApp(copyTopology(input, 'out'), {
      applicationId: uniqueName('app'),
      brokers: ['127.0.0.1:1'],
      startTimeoutMs: 1_000,
      retryBackoff: false,
      connectionTimeoutMs: 200,
      stateDir: apps.stateDir(),
    });
    apps.track(unreachable);
    const told: string[] = [];
    unreachable.onError((e) => told.push(e.code));
    await expect(unreachable.start()).rejects.toMatchObject({ code: 'BROKER_UNREACHABLE' });
    expect(told).toEqual(['BROKER_UNREACHABLE']);
  });

  it('the first close() call decides the options: a later close({}) does not undo leaveGroup', async () => {
    const [input, output] = await topicsPair();
    const applicationId = uniqueName('app');
    // A static member stays in the group on a plain close(); leaveGroup: true makes it leave.
    const app = new StreamsApp(copyTopology(input, output), {
      applicationId,
      brokers: brokerList(),
      instanceId: 'pod-0',
      sessionTimeoutMs: 60_000,
      stateDir: apps.stateDir(),
    });
    apps.track(app);
    await app.start();
    expect(await members(applicationId)).toBe(1);
    const first = app.close({ leaveGroup: true });
    const second = app.close({});
    await Promise.all([first, second]);
    expect(await members(applicationId)).toBe(0);
  });

  it('a rebalance during the shutdown commit waits for it: close ends NOT_RUNNING with the state committed', async () => {
    const [input, output] = await topicsPair();
    const applicationId = uniqueName('app');
    const base = factoryFor(applicationId);
    let hold: Promise<void> | undefined;
    let holding = false;
    let release: () => void = () => undefined;
    // The changelog records of the shutdown commit (in a task's transaction, or a plain send) wait until the test
    // releases them.
    const holdChangelog = async (records: { topic: string }[]) => {
      if (hold && records.some((r) => r.topic.endsWith('-changelog'))) {
        holding = true;
        await hold;
      }
    };
    const factory: KafkaClientFactory = {
      ...base,
      producer: () => {
        const producer = base.producer();
        return {
          connect: () => producer.connect(),
          close: () => producer.close(),
          send: async (records) => {
            await holdChangelog(records);
            return producer.send(records);
          },
        };
      },
      transactionalProducer: (id) => {
        const producer = base.transactionalProducer(id);
        return {
          connect: () => producer.connect(),
          close: () => producer.close(),
          commitTransaction: async (records, group, offsets) => {
            await holdChangelog(records);
            return producer.commitTransaction(records, group, offsets);
          },
        };
      },
    };
    const stateDir = apps.stateDir();
    const app = new StreamsApp(
      copyTopology(input, output, true),
      { applicationId, brokers: brokerList(), stateDir, commitIntervalMs: 60_000 },
      { clientFactory: factory },
    );
    apps.track(app);
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    const assignments: number[] = [];
    app.onAssignment((a) => assignments.push(a.generationId));
    await app.start();
    const producer = testProducer();
    await producer.connect();
    await producer.send({
      topic: input,
      messages: Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 8}`, value: 'v' })),
    });
    await producer.disconnect();
    await readAll(output, 40);
    hold = new Promise((r) => {
      release = r;
    });
    const closing = app.close();
    await waitFor(() => holding, { what: 'the shutdown commit to send its changelog records' });
    // A second member joins: the group rebalances while the first one's shutdown commit is in flight.
    const other = new StreamsApp(copyTopology(input, output, true), {
      applicationId,
      brokers: brokerList(),
      stateDir: apps.stateDir(),
    });
    apps.track(other);
    const otherStarted = other.start();
    await waitFor(() => assignments.length >= 2, {
      timeoutMs: 30_000,
      what: 'the closing member to receive the new assignment',
    });
    release();
    await closing;
    expect(errors).toEqual([]);
    expect(app.state).toBe('NOT_RUNNING');
    await otherStarted;
  });
});
