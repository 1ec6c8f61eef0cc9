// The in-memory transactional producer: each commitTransaction is one Kafka transaction of records and consumer
// offsets; connect() takes the transactional id over, fencing the producer that held it before.

import type {
  ConsumerGroupMetadata,
  OutgoingRecord,
  TopicPartitionOffset,
  TransactionalProducerPort,
} from '../port.js';
import type { MemoryKafkaCluster } from './cluster.js';
import { kafkaError, transactionFailure } from './errors.js';
import { ClientLifecycle } from './lifecycle.js';
import { DefaultPartitioner, recordLastOffset } from './partitioner.js';
import type { OpenTransaction } from './transaction-coordinator.js';

export class MemoryTransactionalProducer implements TransactionalProducerPort {
  private readonly lifecycle: ClientLifecycle;
  private readonly partitioner = new DefaultPartitioner();
  private epoch = -1;

  constructor(
    private readonly cluster: MemoryKafkaCluster,
    readonly transactionalId: string,
  ) {
    this.lifecycle = new ClientLifecycle('transactional-producer', transactionalId);
    cluster.register(this.lifecycle);
  }

  /** InitProducerId: bumps the epoch of the transactional id, which fences older producers and aborts their transaction. */
  async connect(): Promise<void> {
    await this.cluster.faults.apply('connect', [this.transactionalId]);
    this.lifecycle.connect();
    this.epoch = this.cluster.transactions.initProducer(this.transactionalId).epoch;
  }

  /**
   * Writes the records and commits `offsets` for the group in one transaction. With the group's metadata
   * (generation and member id, KIP-447) the coordinator refuses the offsets of a member that is no longer in that
   * generation; with only a group id (TxnOffsetCommit v1, as the kafkajs adapter sends) it cannot. On failure the
   * transaction is aborted.
   */
  async commitTransaction(
    records: OutgoingRecord[],
    group: string | ConsumerGroupMetadata,
    offsets: TopicPartitionOffset[],
  ): Promise<Map<string, bigint>> {
    this.lifecycle.assertConnected();
    const last = new Map<string, bigint>();
    if (records.length === 0 && offsets.length === 0) return last;
    const { transactions } = this.cluster;
    const placed = this.partitioner.place(this.cluster, records);
    let txn: OpenTransaction;
    try {
      txn = transactions.begin(this.transactionalId, this.epoch);
    } catch (err) {
      throw transactionFailure(err);
    }
    try {
      for (const p of placed) recordLastOffset(last, p, transactions.append(txn, p.log, p.record));
      this.cluster.notify();
      await this.cluster.faults.apply('transaction', [this.transactionalId]);
      if (offsets.length > 0) this.addOffsets(txn, group, offsets);
      transactions.end(txn, true);
      return last;
    } catch (err) {
      this.abort(txn);
      throw transactionFailure(err);
    }
  }

  private addOffsets(
    txn: OpenTransaction,
    group: string | ConsumerGroupMetadata,
    offsets: TopicPartitionOffset[],
  ): void {
    const groupId = typeof group === 'string' ? group : group.groupId;
    const coordinator = this.cluster.group(groupId);
    if (typeof group !== 'string') {
      const problem = coordinator.checkTransactionalCommit(group.memberId, group.generationId);
      if (problem !== undefined) {
        throw kafkaError(
          problem,
          `transactional offset commit of member ${group.memberId} (generation ${group.generationId}) refused by group ${groupId}`,
        );
      }
    }
    for (const o of offsets) this.cluster.partition(o.topic, o.partition);
    txn.offsets.push({ group: coordinator, offsets: offsets.map((o) => ({ ...o })) });
  }

  /** Aborts the transaction unless a newer producer or a timeout already did. */
  private abort(txn: OpenTransaction): void {
    if (this.cluster.transactions.epochOf(this.transactionalId) !== txn.epoch) return;
    if (!this.cluster.transactions.hasOpenTransaction(this.transactionalId)) return;
    this.cluster.transactions.end(txn, false);
  }

  async close(): Promise<void> {
    if (this.lifecycle.close()) this.cluster.touch();
  }
}
