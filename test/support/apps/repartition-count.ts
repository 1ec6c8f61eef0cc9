// A Processor-API app that rekeys orders by customer, sends them through a repartition topic and counts them per
// customer in a LevelDB store: `repartition-count.ts <input> <output>`. Environment: KAFKA_BROKERS, APPLICATION_ID,
// STATE_DIR, PROCESSING_GUARANTEE, COMMIT_INTERVAL_MS, SESSION_TIMEOUT_MS, REPARTITION_PURGE_INTERVAL_MS, and
// CRASH_PHASE / CRASH_AT_COMMIT (SIGKILL itself at that phase of its n-th state-writing at-least-once commit).
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import {
  type CommitPhase,
  type Processor,
  type ProcessorContext,
  Serdes,
  StreamsApp,
  Topology,
} from '@eddy/streams';

/** Partitions of the repartition topic: deliberately not the input's count. */
export const REPARTITION_PARTITIONS = 4;

export function repartitionCountTopology(input: string, output: string): Topology {
  return new Topology()
    .addSource('orders', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'by-customer',
      (): Processor<string, string, string, string> => {
        let ctx: ProcessorContext<string, string>;
        return {
          init: (c) => {
            ctx = c;
          },
          // The value is the customer: it becomes the key.
          process: (r) => ctx.forward({ ...r, key: r.value, value: r.key }),
        };
      },
      'orders',
    )
    .addRepartitionTopic('customers', { partitions: REPARTITION_PARTITIONS })
    .addSink(
      'to-customers',
      { repartitionTopic: 'customers', keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'by-customer',
    )
    .addSource('customers-in', {
      repartitionTopic: 'customers',
      keySerde: Serdes.string(),
      valueSerde: Serdes.string(),
    })
    .addProcessor(
      'count',
      (): Processor<string, string, string, string> => {
        let ctx: ProcessorContext<string, string>;
        let store: KeyValueStore<string, number>;
        return {
          init: (c) => {
            ctx = c;
            store = c.getStateStore('customer-counts');
          },
          process: (r) => {
            const n = (store.get(r.key) ?? 0) + 1;
            store.put(r.key, n);
            ctx.forward({ ...r, value: String(n) });
          },
        };
      },
      'customers-in',
    )
    .addStateStore(
      keyValueStore({ name: 'customer-counts', keySerde: Serdes.string(), valueSerde: Serdes.float64() }),
      'count',
    )
    .addSink('out', { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'count');
}

if (process.argv[1]?.endsWith('repartition-count.ts')) {
  const [input = 'orders', output = 'customer-counts'] = process.argv.slice(2);
  const env = process.env;
  const crashPhase = env.CRASH_PHASE as CommitPhase | undefined;
  const crashAt = Number(env.CRASH_AT_COMMIT ?? 1);
  let phases = 0;
  const onCommitPhase = (phase: CommitPhase) => {
    if (phase !== crashPhase || ++phases < crashAt) return;
    process.stdout.write(`${JSON.stringify({ event: 'crash', phase })}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
  const app = new StreamsApp(
    repartitionCountTopology(input, output),
    {
      applicationId: env.APPLICATION_ID ?? 'repartition-count',
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(','),
      processingGuarantee: env.PROCESSING_GUARANTEE === 'exactly-once' ? 'exactly-once' : 'at-least-once',
      ...(env.STATE_DIR ? { stateDir: env.STATE_DIR } : {}),
      ...(env.COMMIT_INTERVAL_MS ? { commitIntervalMs: Number(env.COMMIT_INTERVAL_MS) } : {}),
      ...(env.SESSION_TIMEOUT_MS
        ? { sessionTimeoutMs: Number(env.SESSION_TIMEOUT_MS), heartbeatIntervalMs: 500 }
        : {}),
      ...(env.REPARTITION_PURGE_INTERVAL_MS
        ? { repartitionPurgeIntervalMs: Number(env.REPARTITION_PURGE_INTERVAL_MS) }
        : {}),
    },
    { onCommitPhase },
  );
  app.closeOnSignals();
  app.onError((err) => process.stderr.write(`repartition-count stopped: ${err.code}: ${err.message}\n`));
  app.onAssignment((a) =>
    process.stdout.write(`${JSON.stringify({ event: 'assigned', tasks: a.active })}\n`),
  );
  app.onStateChange((next) => {
    process.stdout.write(`state ${next}\n`);
    if (next === 'ERROR') process.exitCode = 1;
  });
  await app.start();
}
