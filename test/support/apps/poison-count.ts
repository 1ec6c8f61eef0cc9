// A counting app whose processor kills the process (exit 137, as an out-of-memory kill looks) at a record with the
// value "poison", with crash-loop protection on. Each other record outputs `<count>` for its key. Environment:
// KAFKA_BROKERS, APPLICATION_ID, STATE_DIR, CRASH_LOOP_ACTION ('dead-letter' | 'fail'), MAX_CRASHES,
// DEAD_LETTER_TOPIC, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, INSTANCE_ID (default poison-0), SESSION_TIMEOUT_MS.
// Prints {"event":...,"at":<ms>} lines; SIGTERM closes it.
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import { type ProcessorContext, Serdes, StreamsApp, Topology } from '@eddy/streams';

const [input = 'in', output = 'out'] = process.argv.slice(2);
const env = process.env;
const print = (event: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ ...event, at: Date.now() })}\n`);
const str = { keySerde: Serdes.string(), valueSerde: Serdes.string() };

const topology = new Topology()
  .addSource('source', { topics: [input], ...str })
  .addProcessor<string, string, string, string>(
    'count',
    () => {
      let ctx: ProcessorContext<string, string>;
      let counts: KeyValueStore<string, number>;
      return {
        init(c) {
          ctx = c;
          counts = c.getStateStore('counts');
        },
        process(record) {
          if (record.value === 'poison') {
            print({ event: 'poison-exit', offset: ctx.offset });
            process.exit(137);
          }
          const n = (counts.get(record.key) ?? 0) + 1;
          counts.put(record.key, n);
          ctx.forward({ ...record, value: String(n) });
        },
      };
    },
    'source',
  )
  .addStateStore(
    keyValueStore<string, number>({
      name: 'counts',
      keySerde: Serdes.string(),
      valueSerde: Serdes.float64(),
    }),
    'count',
  )
  .addSink('sink', { topic: output, ...str }, 'count');

const app = new StreamsApp(topology, {
  applicationId: env.APPLICATION_ID ?? 'poison-count',
  brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(','),
  stateDir: env.STATE_DIR!,
  commitIntervalMs: 200,
  // Restarts come back as the same static member, as a StatefulSet pod does.
  instanceId: env.INSTANCE_ID ?? 'poison-0',
  sessionTimeoutMs: Number(env.SESSION_TIMEOUT_MS ?? 10_000),
  heartbeatIntervalMs: 1_000,
  crashLoop: {
    action: env.CRASH_LOOP_ACTION === 'dead-letter' ? 'dead-letter' : 'fail',
    maxCrashes: Number(env.MAX_CRASHES ?? 3),
    ...(env.DEAD_LETTER_TOPIC ? { deadLetterTopic: env.DEAD_LETTER_TOPIC } : {}),
    restartBackoff: {
      initialMs: Number(env.BACKOFF_INITIAL_MS ?? 1_000),
      maxMs: Number(env.BACKOFF_MAX_MS ?? 60_000),
    },
  },
});
app.closeOnSignals();
app.onError((err) => print({ event: 'error', code: err.code, position: err.position }));
app.onAssignment((a) => print({ event: 'assigned', tasks: a.active }));
app.onStateChange((next) => {
  print({ event: 'state', state: next });
  if (next === 'ERROR') process.exitCode = 1;
});
print({ event: 'started' });
await app.start().catch(() => {
  // A failed start released everything; exit now with the code it set (1).
  process.exit();
});
