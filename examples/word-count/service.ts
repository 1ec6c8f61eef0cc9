// The word-count service: configuration from the environment, graceful shutdown on signals, and JSON-line events
// (state changes, restore progress) on stdout. Environment: KAFKA_BROKERS, APPLICATION_ID, STATE_DIR,
// COMMIT_INTERVAL_MS, SESSION_TIMEOUT_MS, PROCESSING_GUARANTEE ('at-least-once' or 'exactly-once'), POD_NAME
// (a stable identity: the instance joins as a static member), LEAVE_GROUP_ON_SHUTDOWN, NUM_STANDBY_REPLICAS,
// ACCEPTABLE_RECOVERY_LAG, PROBING_REBALANCE_INTERVAL_MS, APPLICATION_SERVER (host:port for query routing).
import { StreamsApp, type StreamsAppOptions } from '@eddy/streams';
import { wordCountTopology } from './topology.js';

const print = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

export async function runWordCountService(
  input: string,
  output: string,
  env: NodeJS.ProcessEnv,
  options: StreamsAppOptions = {},
): Promise<StreamsApp> {
  const app = new StreamsApp(
    wordCountTopology(input, output),
    {
      applicationId: env.APPLICATION_ID ?? 'word-count',
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(','),
      ...(env.KAFKA_LOG_LEVEL ? { clientLogLevel: env.KAFKA_LOG_LEVEL as 'info' } : {}),
      ...(env.COMMIT_INTERVAL_MS ? { commitIntervalMs: Number(env.COMMIT_INTERVAL_MS) } : {}),
      ...(env.PROCESSING_GUARANTEE === 'exactly-once'
        ? { processingGuarantee: 'exactly-once' as const }
        : {}),
      ...(env.STATE_DIR ? { stateDir: env.STATE_DIR } : {}),
      ...(env.NUM_STANDBY_REPLICAS ? { numStandbyReplicas: Number(env.NUM_STANDBY_REPLICAS) } : {}),
      ...(env.ACCEPTABLE_RECOVERY_LAG ? { acceptableRecoveryLag: Number(env.ACCEPTABLE_RECOVERY_LAG) } : {}),
      ...(env.PROBING_REBALANCE_INTERVAL_MS
        ? { probingRebalanceIntervalMs: Number(env.PROBING_REBALANCE_INTERVAL_MS) }
        : {}),
      ...(env.APPLICATION_SERVER ? { applicationServer: env.APPLICATION_SERVER } : {}),
      ...(env.SESSION_TIMEOUT_MS
        ? { sessionTimeoutMs: Number(env.SESSION_TIMEOUT_MS), heartbeatIntervalMs: 500 }
        : {}),
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
    },
    options,
  );
  app.onAssignment((a) =>
    print({
      event: 'assigned',
      tasks: a.active,
      standby: a.standby,
      warmup: a.warmup,
      generation: a.generationId,
    }),
  );
  // A pod that goes away for good (a scale-down) should leave the group at once rather than after its session.
  app.closeOnSignals(env.LEAVE_GROUP_ON_SHUTDOWN === 'true' ? { leaveGroup: true } : {});
  app.onError((err) => process.stderr.write(`word-count stopped: ${err.code}: ${err.message}\n`));
  app.onStateChange((next) => {
    print({ event: 'state', state: next });
    if (next === 'ERROR') process.exitCode = 1;
  });
  await app.start();
  return app;
}
