// Runs a topology as a StreamsApp configured from the environment, as the crash tests start their app processes.
// Environment: KAFKA_BROKERS, APPLICATION_ID, STATE_DIR, PROCESSING_GUARANTEE, COMMIT_INTERVAL_MS,
// SESSION_TIMEOUT_MS, REPARTITION_PURGE_INTERVAL_MS, RETRY_BACKOFF=0 (`retryBackoff: false`; 1 or unset: the
// default), and CRASH_PHASE / CRASH_AT_COMMIT (SIGKILL itself at that phase of its n-th state-writing at-least-once
// commit). Prints {"event":"assigned"|"crash",...} and `state <state>` lines.
import { type CommitPhase, StreamsApp, type Topology } from '@eddy/streams';

export async function runFromEnv(topology: Topology, name: string): Promise<void> {
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
    topology,
    {
      applicationId: env.APPLICATION_ID ?? name,
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(','),
      processingGuarantee: env.PROCESSING_GUARANTEE === 'exactly-once' ? 'exactly-once' : 'at-least-once',
      ...(env.STATE_DIR ? { stateDir: env.STATE_DIR } : {}),
      ...(env.COMMIT_INTERVAL_MS ? { commitIntervalMs: Number(env.COMMIT_INTERVAL_MS) } : {}),
      ...(env.SESSION_TIMEOUT_MS
        ? { sessionTimeoutMs: Number(env.SESSION_TIMEOUT_MS), heartbeatIntervalMs: 500 }
        : {}),
      ...(env.RETRY_BACKOFF === '0' ? { retryBackoff: false } : {}),
      ...(env.REPARTITION_PURGE_INTERVAL_MS
        ? { repartitionPurgeIntervalMs: Number(env.REPARTITION_PURGE_INTERVAL_MS) }
        : {}),
    },
    { onCommitPhase },
  );
  app.closeOnSignals();
  app.onError((err) => process.stderr.write(`${name} stopped: ${err.code}: ${err.message}\n`));
  app.onAssignment((a) =>
    process.stdout.write(`${JSON.stringify({ event: 'assigned', tasks: a.active })}\n`),
  );
  app.onStateChange((next) => {
    process.stdout.write(`state ${next}\n`);
    if (next === 'ERROR') process.exitCode = 1;
  });
  await app.start();
}
