// The port's transactional producer over a @platformatic/kafka Producer with a transactional id: each call one
// transaction, its offsets sent with the consumer's generation, member id and instance id (KIP-447).

import type {
  ConsumerGroupMetadata,
  OutgoingRecord,
  TopicPartitionOffset,
  TransactionalProducerPort,
} from '../port.js';
import { chunkBySize } from '../send-chunks.js';
import { errorType, NETWORK_CODE, portError, transactionFailure } from './errors.js';
import {
  findCoordinator,
  type Library,
  loadLibrary,
  type Platformatic,
  request,
  useClientApiVersions,
} from './library.js';
import { partitionCounts } from './producer.js';
import { lastOffsets, RecordPlacer } from './records.js';

type Producer = Platformatic.Producer<Buffer | null, Buffer | null, Buffer, Buffer>;
/** The library does not export its Transaction class from the package root. */
type Transaction = Awaited<ReturnType<Producer['beginTransaction']>> & object;

/** Errors of a producer that a newer one with its transactional id fenced. */
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
/** Errors that say a coordinator moved or is loading. */
const COORDINATOR_LOST = new Set([
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
]);
/** How long a transaction may stay open before the coordinator aborts it (the kafkajs adapter's value). */
const TRANSACTION_TIMEOUT_MS = 60_000;

export class PlatformaticTransactionalProducer implements TransactionalProducerPort {
  private lib: Library | undefined;
  private producer: Producer | undefined;
  private readonly placer = new RecordPlacer();
  private closed = false;
  /** The group coordinator of the latest offsets sent (looked up again after a failure). */
  private groupCoordinator: number | undefined;
  /** Set once a newer producer of the transactional id fenced this one: it must not register the id again. */
  private fenced: unknown;

  constructor(
    private readonly options: Platformatic.BaseOptions,
    private readonly transactionalId: string,
  ) {}

  async connect(): Promise<void> {
    await this.client();
  }

  /** Registers the transactional id for `producer`. */
  private async register(producer: Producer): Promise<void> {
    // Beginning a transaction registers the transactional id (InitProducerId), which fences older producers. The
    // library would send producer id 0 and epoch 0, which the coordinator of an id already registered refuses as
    // PRODUCER_FENCED (KIP-360 reads them as this producer's current ones); -1 and -1 ask for the id afresh.
    const txn = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 }).catch((err) => {
      throw portError(err);
    });
    await txn.cancel();
  }

  async commitTransaction(
    records: OutgoingRecord[],
    group: ConsumerGroupMetadata,
    offsets: TopicPartitionOffset[],
  ): Promise<Map<string, bigint>> {
    if (records.length === 0 && offsets.length === 0) return new Map();
    if (this.fenced !== undefined) throw this.fenced;
    const producer = await this.client();
    let txn: Transaction | undefined;
    try {
      txn = await producer.beginTransaction();
      const last = new Map<string, bigint>();
      if (records.length > 0) {
        const counts = await partitionCounts(producer, records);
        const chosen = new Set(
          records.filter((r) => r.partition !== undefined).map((r) => `${r.topic}:${r.partition}`),
        );
        for (const chunk of chunkBySize(records)) {
          const placed = this.placer.place(chunk, (t) => counts.get(t) ?? 0);
          const result = await txn.send({ messages: placed.messages });
          for (const [tp, offset] of lastOffsets(result, placed.counts))
            if (chosen.has(tp)) last.set(tp, offset);
        }
      }
      if (offsets.length > 0) await this.sendOffsets(producer, txn, group, offsets);
      await txn.commit();
      return last;
    } catch (err) {
      await txn?.abort().catch(() => txn?.cancel());
      const failure = transactionFailure(err, group.generationId);
      const type = errorType(err) ?? '';
      if (FENCED.has(type)) this.fenced = failure;
      else if (COORDINATOR_LOST.has(type) || (portError(err) as { code?: unknown }).code === NETWORK_CODE) {
        // The library looks the transaction coordinator up once per producer: the next transaction gets a new
        // producer, which registers the id again (and so aborts whatever this one left open).
        this.groupCoordinator = undefined;
        if (this.producer === producer) this.producer = undefined;
        producer.close().catch(() => undefined);
      }
      throw failure;
    }
  }

  /** AddOffsetsToTxn through the library, then TxnOffsetCommit with the whole group metadata to the group coordinator. */
  private async sendOffsets(
    producer: Producer,
    txn: Transaction,
    group: ConsumerGroupMetadata,
    offsets: TopicPartitionOffset[],
  ): Promise<void> {
    const lib = this.lib as Library;
    // The library's addConsumer reads only the consumer's group id.
    await txn.addConsumer({ groupId: group.groupId } as unknown as Platformatic.Consumer);
    const topics = new Map<
      string,
      { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number }[]
    >();
    for (const o of offsets) {
      const partitions = topics.get(o.topic) ?? [];
      topics.set(o.topic, partitions);
      partitions.push({
        partitionIndex: o.partition,
        committedOffset: BigInt(o.offset),
        committedLeaderEpoch: -1,
      });
    }
    this.groupCoordinator ??= await findCoordinator(lib, producer, 0, group.groupId);
    await request(lib, producer, 'TxnOffsetCommit', this.groupCoordinator, [
      this.transactionalId,
      group.groupId,
      producer.producerId,
      producer.producerEpoch,
      group.generationId,
      group.memberId,
      group.groupInstanceId ?? null,
      [...topics].map(([name, partitions]) => ({ name, partitions })),
    ]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer?.close();
  }

  /** The producer, with the transactional id registered. */
  private async client(): Promise<Producer> {
    if (this.closed) throw new Error('the transactional producer is closed');
    if (this.producer !== undefined) return this.producer;
    this.lib ??= await loadLibrary();
    const producer = new this.lib.Producer<Buffer | null, Buffer | null, Buffer, Buffer>({
      ...this.options,
      transactionalId: this.transactionalId,
      idempotent: true,
      acks: this.lib.ProduceAcks.ALL,
      timeout: Math.max(this.options.timeout ?? 0, TRANSACTION_TIMEOUT_MS),
    });
    useClientApiVersions(this.lib, producer);
    try {
      await this.register(producer);
    } catch (err) {
      await producer.close().catch(() => undefined);
      throw err;
    }
    this.producer = producer;
    return producer;
  }
}
