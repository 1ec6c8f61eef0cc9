// Setup file of the fault tests: the shared test helpers (test/support/kafka.ts) talk to the cluster, and every test
// starts with all of its nodes running (a failed test may have left one down).
import { beforeEach } from 'vitest';
import { clusterNodes, restartNode, runningNodes } from '../../kafka/cluster.mjs';

const brokers = process.env.KAFKA_CLUSTER_BROKERS;
if (!brokers)
  throw new Error('KAFKA_CLUSTER_BROKERS is not set: the fault tests need test/faults/cluster-setup.ts');
process.env.KAFKA_BROKERS = brokers;

beforeEach(async () => {
  for (const { id } of clusterNodes()) if (!runningNodes().includes(id)) await restartNode(id);
});
