// A task with two stores, as a process to crash: `counts` counts every record of a key, `bees` the records whose
// value is "b" (logged, or with B_STORE=memory an unlogged in-memory store). Each record outputs
// `<count>@<offset>`: the count `counts` held after that input record. CRASH_PHASE=<phase> and
// CRASH_AT_COMMIT=<n> SIGKILL the process at that phase of its n-th state-writing commit (with CRASH_FILE, only
// of those commits made while that file exists). NUM_STANDBY_REPLICAS as the option. Prints
// {"event":"state"|"assigned",...} lines; SIGTERM closes it.
import { existsSync } from 'node:fs';
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import { type CommitPhase, type ProcessorContext, Serdes, StreamsApp, Topology } from '@eddy/streams';

const [input = 'in', output = 'out'] = process.argv.slice(2);
const env = process.env;
const phase = env.CRASH_PHASE as CommitPhase | undefined;
const at = Number(env.CRASH_AT_COMMIT ?? 1);
const print = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
const str = { keySerde: Serdes.string(), valueSerde: Serdes.string() };
const counter = (name: string, memory = false) =>
  keyValueStore<string, number>({
    name,
    keySerde: Serdes.string(),
    valueSerde: Serdes.float64(),
    ...(memory ? { persistent: false, logging: false } : {}),
  });

const topology = new Topology()
  .addSource('source', { topics: [input], ...str })
  .addProcessor<string, string, string, string>(
    'count',
    () => {
      let ctx: ProcessorContext<string, string>;
      let counts: KeyValueStore<string, number>;
      let bees: KeyValueStore<string, number>;
      return {
        init(c) {
          ctx = c;
          counts = c.getStateStore('counts');
          bees = c.getStateStore('bees');
        },
        process(record) {
          const n = (counts.get(record.key) ?? 0) + 1;
          counts.put(record.key, n);
          if (record.value === 'b') bees.put(record.key, (bees.get(record.key) ?? 0) + 1);
          ctx.forward({ ...record, value: `${n}@${ctx.offset}` });
        },
      };
    },
    'source',
  )
  .addStateStore(counter('counts'), 'count')
  .addStateStore(counter('bees', env.B_STORE === 'memory'), 'count')
  .addSink('sink', { topic: output, ...str }, 'count');

let seen = 0;
const app = new StreamsApp(
  topology,
  {
    applicationId: env.APPLICATION_ID ?? 'two-store-count',
    brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(','),
    stateDir: env.STATE_DIR!,
    commitIntervalMs: Number(env.COMMIT_INTERVAL_MS ?? 150),
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    numStandbyReplicas: Number(env.NUM_STANDBY_REPLICAS ?? 0),
    replicaPollIntervalMs: 200,
  },
  {
    onCommitPhase: (p) => {
      if (p !== phase || (env.CRASH_FILE && !existsSync(env.CRASH_FILE)) || ++seen < at) return;
      print({ event: 'crash', phase: p });
      process.kill(process.pid, 'SIGKILL');
    },
  },
);
app.closeOnSignals();
app.onStateChange((next) => print({ event: 'state', state: next }));
app.onAssignment((a) => print({ event: 'assigned', tasks: a.active, standby: a.standby }));
app.onError((err) => process.stderr.write(`stopped: ${err.code}: ${err.message}\n`));
await app.start();
