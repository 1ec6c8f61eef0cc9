// Builds the port's clients on one kafkajs `Kafka` instance.

import { Kafka } from '#kafkajs';
import type { ClientOptions, KafkaClientFactory } from '../port.js';
import { KafkajsAdmin } from './admin.js';
import { KafkajsChangelogReader } from './changelog-reader.js';
import { kafkaConfigOf, tlsOf } from './client-config.js';
import { KafkajsConsumer } from './consumer.js';
import { securityFailure } from './errors.js';
import { groupProtocolAssigner } from './group-assigner.js';
import { KafkajsPartitionFollower } from './partition-follower.js';
import { eddyPartitioner } from './partitioner.js';
import { KafkajsProducer } from './producer.js';
import { checkTlsHandshake } from './tls-probe.js';
import { KafkajsTransactionalProducer } from './transactional-producer.js';

export function kafkajsClientFactory(options: ClientOptions): KafkaClientFactory {
  const config = kafkaConfigOf(options);
  const { retry } = config;
  const kafka = new Kafka(config);
  // Only the group consumer acts on new metadata (it rejoins when a subscribed topic's partitions change).
  const metadata = options.metadataMaxAgeMs === undefined ? {} : { metadataMaxAge: options.metadataMaxAgeMs };
  const tls = options.ssl === undefined ? false : tlsOf(options.ssl);
  const beforeConnect =
    tls === false
      ? undefined
      : () =>
          checkTlsHandshake(
            options.brokers,
            tls === true ? {} : tls,
            options.clientId,
            options.connectionTimeoutMs,
          );
  return {
    admin: () =>
      new KafkajsAdmin(kafka.admin({ retry }), {
        ...(beforeConnect === undefined ? {} : { beforeConnect }),
        singleTry: () => kafka.admin({ retry: { retries: 0 } }),
      }),
    // Every producer is idempotent (kafkajs gets a producer id with InitProducerId and numbers each partition's
    // batches, so a retried send is not written twice) and sends with acks=-1 (all in-sync replicas; kafkajs refuses
    // other acks when idempotent, and both producers pass -1 explicitly): an acknowledged write survives the loss of
    // its leader while `min.insync.replicas` hold it. One request in flight keeps retries in order.
    producer: () =>
      new KafkajsProducer(
        kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          retry,
          createPartitioner: eddyPartitioner,
        }),
      ),
    consumer: (o) =>
      new KafkajsConsumer(
        kafka.consumer({
          groupId: o.groupId,
          sessionTimeout: o.sessionTimeoutMs,
          heartbeatInterval: o.heartbeatIntervalMs,
          readUncommitted: !o.readCommitted,
          allowAutoTopicCreation: false,
          maxWaitTimeInMs: 250,
          ...(o.fetchMaxBytes === undefined ? {} : { maxBytes: o.fetchMaxBytes }),
          ...(o.fetchMaxBytesPerPartition === undefined
            ? {}
            : { maxBytesPerPartition: o.fetchMaxBytesPerPartition }),
          ...metadata,
          ...(o.groupInstanceId === undefined ? {} : { groupInstanceId: o.groupInstanceId }),
          ...(o.protocol === undefined ? {} : { partitionAssigners: [groupProtocolAssigner(o.protocol)] }),
          // The runtime decides what a failure means (back off or stop); kafkajs must not restart on its own.
          retry: { ...retry, restartOnFailure: async () => false },
        }),
        o,
      ),
    transactionalProducer: (transactionalId) =>
      new KafkajsTransactionalProducer(
        kafka.producer({
          transactionalId,
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          transactionTimeout: 60_000,
          retry,
          createPartitioner: eddyPartitioner,
        }),
      ),
    changelogReader: (groupId) => new KafkajsChangelogReader(kafka, groupId, retry),
    partitionFollower: (groupId) => new KafkajsPartitionFollower(kafka, groupId, retry),
    securityFailure,
  };
}
