// The example services' configuration from the environment. Environment: KAFKA_BROKERS, APPLICATION_ID, STATE_DIR,
// COMMIT_INTERVAL_MS, SESSION_TIMEOUT_MS, PROCESSING_GUARANTEE ('at-least-once' or 'exactly-once'), POD_NAME
// (a stable identity: the instance joins as a static member), NUM_STANDBY_REPLICAS, ACCEPTABLE_RECOVERY_LAG,
// PROBING_REBALANCE_INTERVAL_MS, NUM_STREAM_THREADS (above 1: a threaded app, see run-service.ts), APPLICATION_SERVER
// (host:port for query routing), KAFKA_LOG_LEVEL, and HTTP_PORT (serves /metrics, /healthz, /readyz and /stores/...
// on that port; HTTP_HOST, READY_MAX_LAG).
import type { StreamsConfig } from '@eddy/streams';

/** The app's configuration read from `env`; `applicationId` is used when APPLICATION_ID is not set. */
export function streamsConfigFromEnv(env: NodeJS.ProcessEnv, applicationId: string): StreamsConfig {
  return {
    applicationId: env.APPLICATION_ID ?? applicationId,
    brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(','),
    ...(env.KAFKA_LOG_LEVEL ? { clientLogLevel: env.KAFKA_LOG_LEVEL as 'info' } : {}),
    ...(env.COMMIT_INTERVAL_MS ? { commitIntervalMs: Number(env.COMMIT_INTERVAL_MS) } : {}),
    ...(env.PROCESSING_GUARANTEE === 'exactly-once' ? { processingGuarantee: 'exactly-once' as const } : {}),
    ...(env.STATE_DIR ? { stateDir: env.STATE_DIR } : {}),
    ...(env.NUM_STANDBY_REPLICAS ? { numStandbyReplicas: Number(env.NUM_STANDBY_REPLICAS) } : {}),
    ...(env.NUM_STREAM_THREADS ? { numStreamThreads: Number(env.NUM_STREAM_THREADS) } : {}),
    ...(env.ACCEPTABLE_RECOVERY_LAG ? { acceptableRecoveryLag: Number(env.ACCEPTABLE_RECOVERY_LAG) } : {}),
    ...(env.PROBING_REBALANCE_INTERVAL_MS
      ? { probingRebalanceIntervalMs: Number(env.PROBING_REBALANCE_INTERVAL_MS) }
      : {}),
    ...(env.APPLICATION_SERVER ? { applicationServer: env.APPLICATION_SERVER } : {}),
    ...(env.HTTP_PORT
      ? {
          http: {
            port: Number(env.HTTP_PORT),
            ...(env.HTTP_HOST ? { host: env.HTTP_HOST } : {}),
            ...(env.READY_MAX_LAG ? { readyMaxLag: Number(env.READY_MAX_LAG) } : {}),
          },
        }
      : {}),
    ...(env.SESSION_TIMEOUT_MS
      ? { sessionTimeoutMs: Number(env.SESSION_TIMEOUT_MS), heartbeatIntervalMs: 500 }
      : {}),
  };
}
