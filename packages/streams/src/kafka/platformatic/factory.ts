// Builds the port's clients on @platformatic/kafka, which is loaded only when the first of them connects.

import type { ClientOptions, KafkaClientFactory } from '../port.js';
import { PlatformaticAdmin } from './admin.js';
import { PlatformaticChangelogReader } from './changelog-reader.js';
import { baseOptionsOf } from './client-options.js';
import { PlatformaticConsumer } from './consumer.js';
import { securityFailure } from './errors.js';
import { PlatformaticPartitionFollower } from './partition-follower.js';
import { PlatformaticProducer } from './producer.js';
import { PlatformaticTransactionalProducer } from './transactional-producer.js';

export function platformaticClientFactory(options: ClientOptions): KafkaClientFactory {
  const base = baseOptionsOf(options);
  return {
    admin: () => new PlatformaticAdmin(base),
    producer: () => new PlatformaticProducer(base),
    consumer: (o) => new PlatformaticConsumer(base, o, options.retryBudgetMs),
    transactionalProducer: (transactionalId) => new PlatformaticTransactionalProducer(base, transactionalId),
    // Both read without a group, so the private group id goes unused.
    changelogReader: () => new PlatformaticChangelogReader(base),
    partitionFollower: () => new PlatformaticPartitionFollower(base),
    securityFailure,
  };
}
