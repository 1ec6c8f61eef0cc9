// Runs a topology as a service: configuration from the environment (env.ts), graceful shutdown on SIGTERM/SIGINT,
// and JSON-line events on stdout (state changes, assignments, restore progress). LEAVE_GROUP_ON_SHUTDOWN=true makes
// the instance leave the group when it stops, as a pod that goes away for good (a scale-down) should. With
// NUM_STREAM_THREADS above 1 the service runs a threaded app from its definition module instead.
import {
  StreamsApp,
  type StreamsAppOptions,
  type StreamsConfig,
  ThreadedStreamsApp,
  type Topology,
} from '@eddy/streams';
import { streamsConfigFromEnv } from './env.js';

const print = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

/** The service's configuration: the environment's, with restore progress printed as events. */
export function serviceConfig(name: string, env: NodeJS.ProcessEnv): StreamsConfig {
  return {
    ...streamsConfigFromEnv(env, name),
    restoreListener: {
      onRestoreStart: (p, start, end) =>
        print({
          event: 'restore-start',
          store: p.store,
          partition: p.partition,
          start: String(start),
          end: String(end),
        }),
      onRestoreEnd: (p, total) =>
        print({ event: 'restore-end', store: p.store, partition: p.partition, restored: total }),
    },
  };
}

/** Starts `topology` as the service `name` (also its application id unless APPLICATION_ID is set). */
export async function runService(
  name: string,
  topology: Topology,
  env: NodeJS.ProcessEnv,
  options: StreamsAppOptions = {},
): Promise<StreamsApp> {
  const app = new StreamsApp(topology, serviceConfig(name, env), options);
  await runApp(name, app, env);
  return app;
}

/**
 * Starts the threaded app `definition` (a module made with defineStreamsApp, called with `args`) as the service
 * `name`: the same events, one `assigned` per generation for all its threads together.
 */
export async function runThreadedService(
  name: string,
  definition: URL,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<ThreadedStreamsApp> {
  const app = await ThreadedStreamsApp.load(definition, { args });
  await runApp(name, app, env);
  return app;
}

async function runApp(
  name: string,
  app: StreamsApp | ThreadedStreamsApp,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  app.onAssignment((a) =>
    print({
      event: 'assigned',
      tasks: a.active,
      standby: a.standby,
      warmup: a.warmup,
      generation: a.generationId,
    }),
  );
  app.closeOnSignals(env.LEAVE_GROUP_ON_SHUTDOWN === 'true' ? { leaveGroup: true } : {});
  app.onError((err) => process.stderr.write(`${name} stopped: ${err.code}: ${err.message}\n`));
  app.onStateChange((next) => {
    print({ event: 'state', state: next });
    if (next === 'ERROR') process.exitCode = 1;
  });
  await app.start();
}
