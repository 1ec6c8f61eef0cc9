// The in-memory Kafka behind the client port, for broker-free tests of the runtime.
export { MemoryAdmin } from './admin.js';
export { MemoryChangelogReader } from './changelog-reader.js';
export { ManualClock } from './clock.js';
export { type MemoryClusterOptions, MemoryKafkaCluster } from './cluster.js';
export { MemoryConsumer } from './consumer.js';
export { type KafkaErrorType, kafkaError, MemoryKafkaError, REBALANCE_ERROR_TYPES } from './errors.js';
export { MemoryClientFactory, memoryClientFactory } from './factory.js';
export { FaultInjector, type FaultOperation, type FaultOptions } from './faults.js';
export type { GroupDescription, GroupState } from './group-coordinator.js';
export type { Isolation } from './partition-log.js';
export { MemoryProducer } from './producer.js';
export { MemoryTransactionalProducer } from './transactional-producer.js';
