// The kafkajs adapter of the Kafka client port. This is the only module that imports kafkajs.
import {
  type Admin,
  type Consumer,
  type IHeaders,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Message,
  type Producer,
} from 'kafkajs';
import type {
  AdminPort,
  BatchHandler,
  ClientOptions,
  ConsumerOptions,
  ConsumerPort,
  KafkaClientFactory,
  OutgoingRecord,
  ProducerPort,
  RecordHeaders,
  TopicPartitionOffset,
  TopicSpec,
} from './port.js';

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
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    // kafkajs decodes a header that repeats as an array; the runtime keeps the last one.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = Buffer.isBuffer(last) ? last : Buffer.from(last);
  }
  return out;
}

function toMessage(r: OutgoingRecord): Message {
  const m: Message = { key: r.key, value: r.value };
  if (r.partition !== undefined) m.partition = r.partition;
  if (r.timestamp !== undefined) m.timestamp = String(r.timestamp);
  if (r.headers) m.headers = r.headers;
  return m;
}

class KafkajsAdmin implements AdminPort {
  private closed = false;
  constructor(private readonly admin: Admin) {}

  connect(): Promise<void> {
    return this.admin.connect();
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
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor ?? -1,
        configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.admin.disconnect();
  }
}

class KafkajsProducer implements ProducerPort {
  private closed = false;
  constructor(private readonly producer: Producer) {}

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(records: OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    for (const r of records) {
      const list = byTopic.get(r.topic);
      if (list) list.push(toMessage(r));
      else byTopic.set(r.topic, [toMessage(r)]);
    }
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
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

  constructor(
    private readonly consumer: Consumer,
    private readonly options: ConsumerOptions,
  ) {
    const { GROUP_JOIN, CRASH } = consumer.events;
    consumer.on(GROUP_JOIN, (event) => {
      const assigned: { topic: string; partition: number }[] = [];
      for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
        for (const partition of partitions) assigned.push({ topic, partition });
      }
      options.onGroupJoin?.(assigned);
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
        const records = batch.messages.map((m) => ({
          offset: m.offset,
          key: m.key ?? null,
          value: m.value ?? null,
          timestamp: Number(m.timestamp),
          headers: toHeaders(m.headers),
        }));
        await handler(
          { topic: batch.topic, partition: batch.partition, records },
          { heartbeat, markConsumed: resolveOffset, isActive: () => isRunning() && !isStale() },
        );
      },
    });
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.consumer.commitOffsets(offsets.map((o) => ({ ...o })));
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.consumer.disconnect();
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
          // The runtime decides what a failure means (back off or stop); kafkajs must not restart on its own.
          retry: { ...retry, restartOnFailure: async () => false },
        }),
        o,
      ),
  };
}
