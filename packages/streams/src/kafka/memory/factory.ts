// The port's client factory over an in-memory cluster: what StreamsApp gets as `clientFactory` in broker-free tests.

import type { ConsumerOptions, KafkaClientFactory } from '../port.js';
import { MemoryAdmin } from './admin.js';
import { MemoryChangelogReader } from './changelog-reader.js';
import type { MemoryKafkaCluster } from './cluster.js';
import { MemoryConsumer } from './consumer.js';
import { MemoryPartitionFollower } from './partition-follower.js';
import { MemoryProducer } from './producer.js';
import { MemoryTransactionalProducer } from './transactional-producer.js';

export class MemoryClientFactory implements KafkaClientFactory {
  constructor(readonly cluster: MemoryKafkaCluster) {}

  admin(): MemoryAdmin {
    return new MemoryAdmin(this.cluster);
  }

  producer(): MemoryProducer {
    return new MemoryProducer(this.cluster);
  }

  consumer(options: ConsumerOptions): MemoryConsumer {
    return new MemoryConsumer(this.cluster, options);
  }

  transactionalProducer(transactionalId: string): MemoryTransactionalProducer {
    return new MemoryTransactionalProducer(this.cluster, transactionalId);
  }

  changelogReader(groupId: string): MemoryChangelogReader {
    return new MemoryChangelogReader(this.cluster, groupId);
  }

  partitionFollower(groupId: string): MemoryPartitionFollower {
    return new MemoryPartitionFollower(this.cluster, groupId);
  }
}

export function memoryClientFactory(cluster: MemoryKafkaCluster): MemoryClientFactory {
  return new MemoryClientFactory(cluster);
}
