// Vitest global setup for the fault tests: starts the three-node cluster (unless it runs) and stops it afterwards if
// this run started it. Its bootstrap servers go to the test files as KAFKA_CLUSTER_BROKERS.
import { startCluster, stopCluster } from '../../kafka/cluster.mjs';

export default async function setup(): Promise<() => Promise<void>> {
  const { brokers, started } = await startCluster({ size: 3 });
  process.env.KAFKA_CLUSTER_BROKERS = brokers;
  return async () => {
    if (started && !process.env.EDDY_KEEP_BROKER) await stopCluster();
  };
}
