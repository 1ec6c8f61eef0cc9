// The port's transactional producer over kafkajs: each call is one transaction of records and consumer offsets.

import type { Producer } from '#kafkajs';
import type {
  ConsumerGroupMetadata,
  OutgoingRecord,
  TopicPartitionOffset,
  TransactionalProducerPort,
} from '../port.js';
import { chunkBySize, lastOffsets, toTopicMessages } from './conversions.js';
import { transactionError } from './errors.js';

export class KafkajsTransactionalProducer implements TransactionalProducerPort {
  private closed = false;
  constructor(private readonly producer: Producer) {}

  /**
   * Connecting registers the transactional id, which fences older producers of it and aborts their open transaction.
   * kafkajs's connect() asks for a producer id without the transactional id and registers it only at the first
   * transaction, so an empty transaction is begun here (and ended locally: nothing was added to it).
   */
  async connect(): Promise<void> {
    await this.producer.connect();
    try {
      await (await this.producer.transaction()).abort();
    } catch (err) {
      throw transactionError(err);
    }
  }

  async commitTransaction(
    records: OutgoingRecord[],
    group: ConsumerGroupMetadata,
    offsets: TopicPartitionOffset[],
  ): Promise<Map<string, bigint>> {
    if (records.length === 0 && offsets.length === 0) return new Map();
    const txn = await this.producer.transaction();
    try {
      const last = new Map<string, bigint>();
      for (const chunk of chunkBySize(records)) {
        const batch = toTopicMessages(chunk);
        const metadata = await txn.sendBatch({ acks: -1, topicMessages: batch.topicMessages });
        for (const [key, offset] of lastOffsets(metadata, batch.counted)) last.set(key, offset);
      }
      if (offsets.length > 0) {
        const byTopic = new Map<string, { partition: number; offset: string }[]>();
        for (const o of offsets)
          byTopic.set(o.topic, [
            ...(byTopic.get(o.topic) ?? []),
            { partition: o.partition, offset: o.offset },
          ]);
        // TxnOffsetCommit v3 (KIP-447) carries the generation: a zombie's offsets are refused, and so its output.
        await txn.sendOffsets({
          consumerGroupId: group.groupId,
          consumerGroupMetadata: {
            generationId: group.generationId,
            memberId: group.memberId,
            groupInstanceId: group.groupInstanceId ?? null,
          },
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        });
      }
      await txn.commit();
      return last;
    } catch (err) {
      await txn.abort().catch(() => undefined);
      throw transactionError(err, group.generationId);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.disconnect();
  }
}
