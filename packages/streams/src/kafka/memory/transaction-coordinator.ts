// The transaction coordinator of the in-memory Kafka: producer epochs per transactional id (a new producer fences
// the old one and aborts its transaction), and commits that make records and offsets visible at once.

import type { TopicPartitionOffset } from '../port.js';
import type { MemoryKafkaCluster } from './cluster.js';
import { kafkaError } from './errors.js';
import type { GroupCoordinator } from './group-coordinator.js';
import type { AppendedRecord, PartitionLog, TransactionMark } from './partition-log.js';

/** A transaction in progress: the partitions it wrote to and the offsets it commits with it. */
export interface OpenTransaction {
  readonly transactionalId: string;
  readonly epoch: number;
  readonly mark: TransactionMark;
  readonly startedAt: number;
  readonly partitions: Set<PartitionLog>;
  readonly offsets: { group: GroupCoordinator; offsets: TopicPartitionOffset[] }[];
}

interface ProducerState {
  producerId: number;
  epoch: number;
  open: OpenTransaction | undefined;
}

export class TransactionCoordinator {
  private readonly producers = new Map<string, ProducerState>();
  private nextProducerId = 1000;

  constructor(
    private readonly cluster: MemoryKafkaCluster,
    private readonly timeoutMs: number,
  ) {}

  /** InitProducerId: a new epoch for the transactional id; the older producer is fenced, its transaction aborted. */
  initProducer(transactionalId: string): { producerId: number; epoch: number } {
    let state = this.producers.get(transactionalId);
    if (state === undefined) {
      state = { producerId: this.nextProducerId++, epoch: -1, open: undefined };
      this.producers.set(transactionalId, state);
    }
    if (state.open !== undefined) this.finish(state.open, false);
    state.epoch++;
    this.cluster.touch();
    return { producerId: state.producerId, epoch: state.epoch };
  }

  /** The current epoch of a transactional id (-1 if no producer registered it). */
  epochOf(transactionalId: string): number {
    return this.producers.get(transactionalId)?.epoch ?? -1;
  }

  /** Whether the transactional id has a transaction open (its records hold back the last stable offset). */
  hasOpenTransaction(transactionalId: string): boolean {
    return this.producers.get(transactionalId)?.open !== undefined;
  }

  /** Fails with PRODUCER_FENCED unless `epoch` is the transactional id's current one. */
  assertCurrent(transactionalId: string, epoch: number): void {
    const current = this.epochOf(transactionalId);
    if (current !== epoch) {
      throw kafkaError(
        'PRODUCER_FENCED',
        `producer ${transactionalId} with epoch ${epoch} was fenced by a newer one (epoch ${current})`,
      );
    }
  }

  begin(transactionalId: string, epoch: number): OpenTransaction {
    this.assertCurrent(transactionalId, epoch);
    const state = this.producers.get(transactionalId)!;
    if (state.open !== undefined) {
      throw kafkaError('INVALID_TXN_STATE', `producer ${transactionalId} already has a transaction open`);
    }
    state.open = {
      transactionalId,
      epoch,
      mark: { state: 'open' },
      startedAt: this.cluster.now(),
      partitions: new Set(),
      offsets: [],
    };
    return state.open;
  }

  /** Writes a record in the transaction; returns its offset. */
  append(txn: OpenTransaction, log: PartitionLog, record: AppendedRecord): bigint {
    this.assertCurrent(txn.transactionalId, txn.epoch);
    txn.partitions.add(log);
    return log.append(record, txn.mark);
  }

  /** EndTxn: commit (records and offsets become visible together) or abort (both are discarded). */
  end(txn: OpenTransaction, commit: boolean): void {
    this.assertCurrent(txn.transactionalId, txn.epoch);
    const state = this.producers.get(txn.transactionalId)!;
    if (state.open !== txn)
      throw kafkaError('INVALID_TXN_STATE', `transaction of ${txn.transactionalId} is over`);
    this.finish(txn, commit);
  }

  /** Transactions open longer than the timeout are aborted, and their producers fenced (as Kafka does). */
  tick(now: number): void {
    for (const state of this.producers.values()) {
      if (state.open !== undefined && now - state.open.startedAt > this.timeoutMs) {
        this.finish(state.open, false);
        state.epoch++;
      }
    }
  }

  private finish(txn: OpenTransaction, commit: boolean): void {
    txn.mark.state = commit ? 'committed' : 'aborted';
    const now = this.cluster.now();
    for (const log of txn.partitions) log.endTransaction(txn.mark, now);
    if (commit) for (const { group, offsets } of txn.offsets) group.storeOffsets(offsets);
    const state = this.producers.get(txn.transactionalId);
    if (state?.open === txn) state.open = undefined;
    this.cluster.notify();
  }
}
