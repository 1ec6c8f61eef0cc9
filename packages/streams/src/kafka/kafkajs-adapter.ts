// The kafkajs adapter of the Kafka client port. This is the only module that imports kafkajs.

import { type DecodedAssignment, decodeOwnAssignment, eddyPartitionAssigner } from '@eddy/assignor';
import {
  type Admin,
  AssignerProtocol,
  type Consumer,
  type IHeaders,
  Kafka,
  type KafkaConfig,
  type KafkaMessage,
  logLevel,
  type Message,
  type PartitionAssigner,
  type Producer,
  type RecordMetadata,
} from 'kafkajs';
import { StreamsError } from '../errors.js';
import type {
  AdminPort,
  BatchHandler,
  ChangelogRange,
  ChangelogReaderPort,
  ClientOptions,
  ConsumedRecord,
  ConsumerGroupMetadata,
  ConsumerOptions,
  ConsumerPort,
  KafkaClientFactory,
  OutgoingRecord,
  PartitionOffsets,
  ProducerPort,
  RecordHeaders,
  TopicPartitionOffset,
  TopicSpec,
  TransactionalProducerPort,
} from './port.js';

/** kafkajs error types of an offset commit that a rebalance refused. */
const REBALANCE_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'FENCED_INSTANCE_ID',
]);

/** The Kafka protocol error type of a kafkajs error, looking through the errors that wrap it. */
function protocolErrorType(err: unknown): string | undefined {
  let e = err as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.type === 'string') return e.type;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return undefined;
}

const LOG_LEVELS = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
};
export type ClientLogLevel = keyof typeof LOG_LEVELS;

/** Retry settings that make connecting give up after roughly `budgetMs`. */
function retryFor(budgetMs: number): NonNullable<KafkaConfig['retry']> {
  const maxRetryTime = Math.min(2_000, Math.max(250, Math.floor(budgetMs / 4)));
  return {
    initialRetryTime: 200,
    maxRetryTime,
    retries: Math.max(1, Math.ceil(budgetMs / maxRetryTime)),
  };
}

function toHeaders(headers: IHeaders | undefined): RecordHeaders {
  const out: RecordHeaders = {};
  if (!headers) return out;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    // kafkajs decodes a header that repeats as an array; the runtime keeps the last one.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = Buffer.isBuffer(last) ? last : Buffer.from(last);
  }
  return out;
}

function toConsumed(m: KafkaMessage): ConsumedRecord {
  return {
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    timestamp: Number(m.timestamp),
    headers: toHeaders(m.headers),
  };
}

function toMessage(r: OutgoingRecord): Message {
  const m: Message = { key: r.key, value: r.value };
  if (r.partition !== undefined) m.partition = r.partition;
  if (r.timestamp !== undefined) m.timestamp = String(r.timestamp);
  if (r.headers) m.headers = r.headers;
  return m;
}

/** How long the admin waits for the partitions of a newly created topic to have leaders. */
const LEADER_WAIT_MS = 10_000;

function isLeadershipError(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return (
    type === 'NOT_LEADER_FOR_PARTITION' ||
    type === 'LEADER_NOT_AVAILABLE' ||
    type === 'UNKNOWN_TOPIC_OR_PARTITION'
  );
}

class KafkajsAdmin implements AdminPort {
  private closed = false;
  constructor(private readonly admin: Admin) {}

  connect(): Promise<void> {
    return this.admin.connect();
  }

  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      try {
        const offsets = await this.admin.fetchTopicOffsets(topic);
        return offsets
          .map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }))
          .sort((a, b) => a.partition - b.partition);
      } catch (err) {
        // A topic another instance has just created: its leaders are elected, but this client's metadata still
        // has none (NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE). Refresh it and ask again, for a bounded time.
        if (!isLeadershipError(err) || Date.now() >= deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
        await this.admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      }
    }
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const existing = new Set(await this.admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const counts = new Map<string, number>();
    if (present.length === 0) return counts;
    const { topics: meta } = await this.admin.fetchTopicMetadata({ topics: present });
    for (const t of meta) counts.set(t.name, t.partitions.length);
    return counts;
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    // Resolves false, without waiting for leaders, when another instance created a topic first.
    const created = await this.admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor ?? -1,
        configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
    if (!created) await this.waitForLeaders(topics.map((t) => t.topic));
  }

  async committedOffsets(groupId: string, topics: string[]): Promise<Map<string, bigint>> {
    const committed = new Map<string, bigint>();
    for (const { topic, partitions } of await this.admin.fetchOffsets({ groupId, topics })) {
      for (const { partition, offset } of partitions) {
        if (BigInt(offset) >= 0n) committed.set(`${topic}:${partition}`, BigInt(offset));
      }
    }
    return committed;
  }

  private async waitForLeaders(topics: string[]): Promise<void> {
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      const meta = await this.admin.fetchTopicMetadata({ topics }).catch(() => undefined);
      const led = meta?.topics.every(
        (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
      );
      if (led || Date.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.admin.disconnect();
  }
}

/** Groups records by topic for `sendBatch`, counting those sent to an explicit partition. */
function toTopicMessages(records: OutgoingRecord[]): {
  topicMessages: { topic: string; messages: Message[] }[];
  counted: Map<string, number>;
} {
  const byTopic = new Map<string, Message[]>();
  const counted = new Map<string, number>();
  for (const r of records) {
    const list = byTopic.get(r.topic);
    if (list) list.push(toMessage(r));
    else byTopic.set(r.topic, [toMessage(r)]);
    if (r.partition !== undefined) {
      const key = `${r.topic}:${r.partition}`;
      counted.set(key, (counted.get(key) ?? 0) + 1);
    }
  }
  return { topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), counted };
}

/** The offset of the last record per counted partition: one request per partition, so base offset + count - 1. */
function lastOffsets(metadata: RecordMetadata[], counted: Map<string, number>): Map<string, bigint> {
  const last = new Map<string, bigint>();
  for (const m of metadata) {
    const key = `${m.topicName}:${m.partition}`;
    const n = counted.get(key);
    if (n !== undefined && m.baseOffset !== undefined) last.set(key, BigInt(m.baseOffset) + BigInt(n - 1));
  }
  return last;
}

class KafkajsProducer implements ProducerPort {
  private closed = false;
  constructor(private readonly producer: Producer) {}

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(records: OutgoingRecord[]): Promise<Map<string, bigint>> {
    if (records.length === 0) return new Map();
    const batch = toTopicMessages(records);
    return lastOffsets(
      await this.producer.sendBatch({ acks: -1, topicMessages: batch.topicMessages }),
      batch.counted,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.disconnect();
  }
}

/** A transactional producer: each call is one transaction of records and consumer offsets. */
class KafkajsTransactionalProducer implements TransactionalProducerPort {
  private closed = false;
  constructor(private readonly producer: Producer) {}

  /** Connecting registers the transactional id, which fences older producers of it and aborts their transaction. */
  connect(): Promise<void> {
    return this.producer.connect();
  }

  async commitTransaction(
    records: OutgoingRecord[],
    group: ConsumerGroupMetadata,
    offsets: TopicPartitionOffset[],
  ): Promise<Map<string, bigint>> {
    if (records.length === 0 && offsets.length === 0) return new Map();
    const txn = await this.producer.transaction();
    try {
      let last = new Map<string, bigint>();
      if (records.length > 0) {
        const batch = toTopicMessages(records);
        last = lastOffsets(
          await txn.sendBatch({ acks: -1, topicMessages: batch.topicMessages }),
          batch.counted,
        );
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
      const type = protocolErrorType(err);
      if (type !== undefined && REBALANCE_ERRORS.has(type)) {
        throw new StreamsError(
          'TASK_MIGRATED',
          `the group coordinator refused the transaction's offsets of generation ${group.generationId} (${type}); the transaction was aborted`,
          { cause: err },
        );
      }
      // Another producer initialised this task's transactional id: the task has a new owner.
      if (type === 'INVALID_PRODUCER_EPOCH') {
        throw new StreamsError('TASK_MIGRATED', `the task's producer was fenced (${type})`, { cause: err });
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.disconnect();
  }
}

class KafkajsConsumer implements ConsumerPort {
  private closed = false;
  private subscribed: string[] = [];
  private group: ConsumerGroupMetadata;

  constructor(
    private readonly consumer: Consumer,
    private readonly options: ConsumerOptions,
  ) {
    const { groupId, groupInstanceId } = options;
    this.group = { groupId, generationId: -1, memberId: '', ...(groupInstanceId ? { groupInstanceId } : {}) };
    const { GROUP_JOIN, CRASH, COORDINATOR_WAIT } = consumer.events;
    consumer.on(COORDINATOR_WAIT, ({ payload }) =>
      options.onCoordinatorWait?.({
        reason: payload.error,
        attempt: payload.retryCount + 1,
        retryInMs: payload.retryTime,
      }),
    );
    consumer.on(GROUP_JOIN, (event) => {
      const { generationId, memberId } = event.payload;
      this.group = { ...this.group, generationId, memberId };
      const assigned: { topic: string; partition: number }[] = [];
      for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
        for (const partition of partitions) assigned.push({ topic, partition });
      }
      options.onGroupJoin?.({
        assigned,
        generationId: event.payload.generationId,
        assignment:
          options.subscription === undefined
            ? undefined
            : decodeOrNone(event.payload.memberAssignmentUserData),
      });
    });
    consumer.on(CRASH, (event) => {
      if (!event.payload.restart) options.onCrash?.(event.payload.error);
    });
  }

  connect(): Promise<void> {
    return this.consumer.connect();
  }

  async subscribe(topics: string[]): Promise<void> {
    this.subscribed = topics;
    await this.consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning });
  }

  run(handler: BatchHandler): Promise<void> {
    if (this.subscribed.length === 0) throw new Error('subscribe before run');
    return this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        const records = batch.messages.map(toConsumed);
        await handler(
          { topic: batch.topic, partition: batch.partition, records },
          { heartbeat, markConsumed: resolveOffset, isActive: () => isRunning() && !isStale() },
        );
      },
    });
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    try {
      await this.consumer.commitOffsets(offsets.map((o) => ({ ...o })));
    } catch (err) {
      const type = protocolErrorType(err);
      if (type !== undefined && REBALANCE_ERRORS.has(type)) {
        throw new StreamsError('TASK_MIGRATED', `the group rebalanced during an offset commit (${type})`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  stop(options: { leaveGroup?: boolean } = {}): Promise<void> {
    return this.consumer.stop(options);
  }

  requestRejoin(): void {
    this.consumer.requestRejoin();
  }

  groupMetadata(): ConsumerGroupMetadata {
    return this.group;
  }

  async close(options: { leaveGroup?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.consumer.disconnect(options);
  }
}

/** The Eddy assignment in a member's userData, or undefined when the group's leader did not write one. */
function decodeOrNone(userData: Buffer | null): DecodedAssignment | undefined {
  try {
    return decodeOwnAssignment(userData);
  } catch {
    return undefined;
  }
}

/** An assigner for a private group of one member: it gets exactly the partitions the reader asked for. */
function exactAssigner(wanted: ChangelogRange[]): PartitionAssigner {
  const assignment: Record<string, number[]> = {};
  for (const r of wanted) assignment[r.topic] = [...(assignment[r.topic] ?? []), r.partition];
  return () => ({
    name: 'eddy-changelog-reader',
    version: 1,
    protocol: ({ topics }) => ({
      name: 'eddy-changelog-reader',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
    }),
    assign: async ({ members }) =>
      members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: i === 0 ? assignment : {},
          userData: Buffer.alloc(0),
        }),
      })),
  });
}

/**
 * Reads changelog partitions with a consumer of a private group whose assigner hands it exactly those
 * partitions (kafkajs has no manual `assign()`), then seeks each to its start offset.
 */
class KafkajsChangelogReader implements ChangelogReaderPort {
  private consumer: Consumer | undefined;
  private closed = false;
  /** Reads run one at a time, each in a group of its own, so that they never rebalance each other. */
  private queue: Promise<void> = Promise.resolve();
  private reads = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly retry: NonNullable<KafkaConfig['retry']>,
  ) {}

  read(
    ranges: ChangelogRange[],
    onBatch: (range: ChangelogRange, records: ConsumedRecord[]) => Promise<void>,
  ): Promise<void> {
    const run = this.queue.then(() => this.readNow(ranges, onBatch));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readNow(
    ranges: ChangelogRange[],
    onBatch: (range: ChangelogRange, records: ConsumedRecord[]) => Promise<void>,
  ): Promise<void> {
    const pending = ranges.filter((r) => r.startOffset < r.endOffset);
    if (pending.length === 0) return;
    if (this.closed) throw new Error('the changelog reader is closed');
    const byKey = new Map(pending.map((r) => [`${r.topic}:${r.partition}`, r]));
    const remaining = new Set(byKey.keys());
    const consumer = this.kafka.consumer({
      groupId: `${this.groupId}.${this.reads++}`,
      partitionAssigners: [exactAssigner(pending)],
      allowAutoTopicCreation: false,
      maxBytes: 64 * 1024 * 1024,
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxWaitTimeInMs: 100,
      retry: { ...this.retry, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    let finish: () => void = () => undefined;
    let fail: (err: unknown) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    let failed = false;
    consumer.on(consumer.events.CRASH, (e) => fail(e.payload.error));
    // Emitted after each batch, also for batches kafkajs does not hand over because they hold only control
    // records (transaction markers) or aborted records; its lastOffset counts those too.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const key = `${e.payload.topic}:${e.payload.partition}`;
      const range = byKey.get(key);
      if (failed || range === undefined || !remaining.has(key)) return;
      if (BigInt(e.payload.lastOffset) >= range.endOffset - 1n) {
        remaining.delete(key);
        if (remaining.size === 0) finish();
      }
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...new Set(pending.map((r) => r.topic))], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          const key = `${batch.topic}:${batch.partition}`;
          const range = byKey.get(key);
          if (failed || range === undefined || !remaining.has(key)) return;
          const records: ConsumedRecord[] = [];
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            if (offset < range.startOffset) continue; // fetched before the seek took effect
            if (offset >= range.endOffset) break;
            records.push(toConsumed(m));
          }
          try {
            if (records.length > 0) await onBatch(range, records);
          } catch (err) {
            failed = true;
            fail(err);
            return;
          }
          const lastMessage = batch.messages[batch.messages.length - 1];
          if (lastMessage) resolveOffset(lastMessage.offset);
          await heartbeat();
        },
      });
      for (const r of pending)
        consumer.seek({ topic: r.topic, partition: r.partition, offset: r.startOffset.toString() });
      await done;
    } finally {
      this.consumer = undefined;
      await consumer.disconnect().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.consumer?.disconnect().catch(() => undefined);
  }
}

/** Builds the port's clients on one kafkajs `Kafka` instance. */
export function kafkajsClientFactory(
  options: ClientOptions,
  level: ClientLogLevel = 'error',
): KafkaClientFactory {
  const retry = retryFor(options.retryBudgetMs);
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    retry,
    logLevel: LOG_LEVELS[level],
  });
  return {
    admin: () => new KafkajsAdmin(kafka.admin({ retry })),
    producer: () =>
      new KafkajsProducer(
        kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry }),
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
          ...(o.groupInstanceId === undefined ? {} : { groupInstanceId: o.groupInstanceId }),
          ...(o.subscription === undefined
            ? {}
            : {
                partitionAssigners: [
                  eddyPartitionAssigner({
                    assignerProtocol: AssignerProtocol,
                    subscriptionInfo: o.subscription,
                    ...(o.assignmentOptions === undefined ? {} : { assignmentOptions: o.assignmentOptions }),
                    ...(o.statefulTasks === undefined ? {} : { statefulTasks: o.statefulTasks }),
                  }),
                ],
              }),
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
        }),
      ),
    changelogReader: (groupId) => new KafkajsChangelogReader(kafka, groupId, retry),
  };
}
