// The in-memory Kafka behind the client port, for broker-free tests of the runtime.
//
//   const cluster = new MemoryKafkaCluster();            // time stands still until cluster.advance(ms)
//   cluster.createTopic({ topic: 'in', partitions: 2 });
//   const app = new StreamsApp(topology, config, { clientFactory: memoryClientFactory(cluster) });
//   await cluster.settle();                               // the clients have nothing left to do
//   cluster.records('out', 0, 'read_committed');          // what a reader sees
//   cluster.faults.failNext('commit', 'REBALANCE_IN_PROGRESS'); cluster.faults.delayNext('transaction', promise);
//   cluster.rebalance(groupId); cluster.stallMember(groupId, memberId); cluster.advance(sessionTimeoutMs + 1);
//   cluster.describeGroup(groupId); cluster.committedOffsets(groupId); cluster.openClients();
export { MemoryAdmin } from './admin.js';
export { MemoryChangelogReader } from './changelog-reader.js';
export { ManualClock } from './clock.js';
export { type MemoryClusterOptions, MemoryKafkaCluster } from './cluster.js';
export { MemoryConsumer } from './consumer.js';
export { type KafkaErrorType, kafkaError, MemoryKafkaError, REBALANCE_ERROR_TYPES } from './errors.js';
export { MemoryClientFactory, memoryClientFactory } from './factory.js';
export { FaultInjector, type FaultOperation, type FaultOptions } from './faults.js';
export type { GroupDescription, GroupState } from './group-coordinator.js';
export { MemoryPartitionFollower } from './partition-follower.js';
export type { Isolation } from './partition-log.js';
export { MemoryProducer } from './producer.js';
export { MemoryTransactionalProducer } from './transactional-producer.js';
